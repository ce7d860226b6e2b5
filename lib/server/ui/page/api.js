// The server's API as the page uses it: the model (waiting while it loads), the defaults and
// whether it takes images (`/props`), and streamed chat completions (SSE). Same-origin
// requests only.

LF.api = (function () {
  const FALLBACK_MODEL = "LLaMA_CPP";
  let apiKey = "";

  function headers(extra) {
    const out = Object.assign({}, extra);
    if (apiKey) out.Authorization = "Bearer " + apiKey;
    return out;
  }

  function ApiError(message, status) {
    const error = new Error(message);
    error.name = "ApiError";
    error.status = status;
    return error;
  }

  /** The message of an error response (OpenAI's shape, or its text). */
  async function errorMessage(res) {
    let text = "";
    try {
      text = await res.text();
    } catch {
      // unreadable body
    }
    try {
      const body = JSON.parse(text);
      const error = body && body.error;
      if (error && typeof error.message === "string" && error.message) return error.message;
      if (typeof error === "string" && error) return error;
    } catch {
      // not JSON
    }
    text = text.trim();
    return text ? text.slice(0, 500) : res.statusText || "request failed";
  }

  /**
   * Asks for the model once: `{ state: "ready", id, meta }`, `{ state: "loading" }` (503),
   * `{ state: "auth" }` (401), `{ state: "fallback", id }` (another error: llama.cpp's name),
   * or `{ state: "offline" }`.
   */
  async function model() {
    let res;
    try {
      res = await fetch("./v1/models", { headers: headers({}) });
    } catch {
      return { state: "offline" };
    }
    if (res.status === 401) return { state: "auth" };
    if (res.status === 503) return { state: "loading", message: await errorMessage(res) };
    if (!res.ok) return { state: "fallback", id: FALLBACK_MODEL };
    try {
      const body = await res.json();
      const first = body && Array.isArray(body.data) ? body.data[0] : undefined;
      const id = first && typeof first.id === "string" && first.id ? first.id : FALLBACK_MODEL;
      return { state: "ready", id, meta: (first && first.meta) || {} };
    } catch {
      return { state: "fallback", id: FALLBACK_MODEL };
    }
  }

  /** The server's properties (`/props`), or null. */
  async function props() {
    try {
      const res = await fetch("./props", { headers: headers({}) });
      if (!res.ok) return null;
      return await res.json();
    } catch {
      return null;
    }
  }

  /** The server's default generation settings (`/props`), or null. */
  async function defaults() {
    const body = await props();
    const settings = body && body.default_generation_settings;
    return settings && settings.params ? settings.params : null;
  }

  /** True when the server's model takes images (`/props` modalities.vision). */
  function takesImages(body) {
    return !!(body && body.modalities && body.modalities.vision === true);
  }

  /** The `data:` payloads of an SSE body. */
  async function* sseData(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let data = [];
    function line(raw) {
      const l = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (l === "") {
        if (!data.length) return null;
        const event = data.join("\n");
        data = [];
        return event;
      }
      if (l.startsWith(":")) return null;
      const colon = l.indexOf(":");
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? "" : l.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      return null;
    }
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += chunk.value;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const event = line(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
          if (event !== null) yield event;
        }
      }
      if (buffer) line(buffer);
      const last = line("");
      if (last !== null) yield last;
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /**
   * The request's messages: the system prompt, then the conversation's messages; a message
   * with images sends them as `image_url` parts (`data:` URIs) before its text.
   */
  function apiMessages(system, messages) {
    const out = [];
    if (system) out.push({ role: "system", content: system });
    for (const m of messages) {
      if (m.role !== "user" && m.role !== "assistant") continue;
      const images = m.role === "user" && Array.isArray(m.images) ? m.images : [];
      if (images.length > 0) {
        const parts = images.map((url) => ({ type: "image_url", image_url: { url } }));
        if (m.content) parts.push({ type: "text", text: m.content });
        out.push({ role: m.role, content: parts });
      } else if (m.content) {
        out.push({ role: m.role, content: m.content });
      }
    }
    return out;
  }

  /**
   * Streams a chat completion of `body`; `on.content(text)` and `on.reasoning(text)` get the
   * pieces. Resolves to `{ finish, usage, timings, chunks }`; rejects with an ApiError, or an
   * AbortError when `signal` aborts.
   */
  async function streamChat(body, signal, on) {
    const res = await fetch("./v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw ApiError(await errorMessage(res), res.status);
    const out = { finish: null, usage: null, timings: null, chunks: 0 };
    const type = res.headers.get("content-type") || "";
    if (!type.includes("text/event-stream")) {
      const whole = await res.json();
      if (whole && whole.error) throw ApiError(whole.error.message || "request failed", res.status);
      const choice = whole && whole.choices && whole.choices[0];
      if (choice && choice.message && typeof choice.message.content === "string") {
        on.content(choice.message.content);
      }
      out.finish = choice ? choice.finish_reason : null;
      out.usage = whole && whole.usage;
      out.timings = whole && whole.timings;
      return out;
    }
    for await (const data of sseData(res.body)) {
      if (data === "[DONE]") break;
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        throw new Error(
          "Cannot read the stream: event " + JSON.stringify(data.slice(0, 80)) + " is not JSON",
        );
      }
      if (event.error) {
        const message = typeof event.error.message === "string"
          ? event.error.message
          : JSON.stringify(event.error);
        throw ApiError(message, event.error.code);
      }
      const choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
      const delta = choice && choice.delta;
      if (delta && typeof delta.reasoning_content === "string" && delta.reasoning_content) {
        on.reasoning(delta.reasoning_content);
      }
      if (delta && typeof delta.content === "string" && delta.content) {
        out.chunks++;
        on.content(delta.content);
      }
      if (choice && choice.finish_reason) out.finish = choice.finish_reason;
      if (event.usage) out.usage = event.usage;
      if (event.timings) out.timings = event.timings;
    }
    return out;
  }

  return {
    FALLBACK_MODEL,
    setKey(key) {
      apiKey = key;
    },
    model,
    props,
    defaults,
    takesImages,
    apiMessages,
    streamChat,
  };
})();
