/**
 * The chat page the server serves at `/`: one self-contained HTML document with inline CSS
 * and JS. It loads nothing from the network except the same-origin API (`./v1/models`,
 * `./v1/chat/completions`), so the server and the bundled single-file app can serve it
 * without reading files.
 *
 * Stable element ids (tests rely on them): `#input`, `#send`, `#stop`, `#clear`,
 * `#temperature` (range 0–2) with `#temperature-value` (number), `#system`, `#max-tokens`,
 * `#api-key`, `#model`, `#settings`, `#endpoints` (the API routes, for clients), `#status`,
 * `#messages`. Every turn in `#messages` is a
 * `.turn` holding one `.msg user`, `.msg assistant` or `.msg error` element whose text is
 * exactly the message; an assistant turn also has a `.meta` line (tokens, tok/s, stopped).
 * `.msg.assistant` carries `data-state`: `streaming`, then `done`, `stopped` or `error`.
 *
 * Model output is only ever inserted as text nodes, never parsed as HTML.
 *
 * The script is written in plain ES2020 with no backticks and no `${`, so this module can hold
 * it in a `String.raw` template unchanged.
 *
 * @module
 */

const STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --surface: #ffffff; --text: #1b1c1f; --muted: #5d6068; --border: #d5d7dc;
  --accent: #2456c9; --accent-text: #ffffff; --user-bg: #dde7fb; --error-bg: #fde8e8;
  --error-text: #8a1c1c; --focus: #2f6bff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif,
    "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  font-size: 16px; line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16171a; --surface: #212328; --text: #e7e8ea; --muted: #a3a7b0; --border: #3a3d44;
    --accent: #6d9bff; --accent-text: #0d1320; --user-bg: #27345a; --error-bg: #4a1f22;
    --error-text: #ffc9c9; --focus: #8fb3ff;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  background: var(--bg); color: var(--text); display: flex; flex-direction: column;
  height: 100vh; height: 100dvh;
}
.wrap { width: 100%; max-width: 52rem; margin: 0 auto; padding: 0 0.75rem; }
header { border-bottom: 1px solid var(--border); background: var(--surface); }
header .wrap { display: flex; align-items: baseline; gap: 0.75rem; padding-top: 0.5rem; padding-bottom: 0.5rem; }
h1 { font-size: 1.1rem; margin: 0; white-space: nowrap; }
#model { color: var(--muted); font-size: 0.85rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
#settings { border-bottom: 1px solid var(--border); background: var(--surface); }
#settings summary { cursor: pointer; padding: 0.4rem 0.75rem; color: var(--muted); font-size: 0.9rem; list-style: none; }
#settings summary::-webkit-details-marker { display: none; }
#settings summary::before { content: "\25B8"; display: inline-block; width: 1em; }
#settings[open] summary::before { content: "\25BE"; }
.grid { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.5rem 0.75rem; align-items: center; padding-bottom: 0.75rem; }
.grid label { font-size: 0.9rem; }
.row { display: flex; gap: 0.5rem; align-items: center; min-width: 0; }
#temperature { flex: 1; min-width: 0; accent-color: var(--accent); }
#temperature-value { width: 5rem; }
input, textarea, button { font: inherit; color: inherit; }
input[type=number], input[type=password], textarea {
  background: var(--bg); border: 1px solid var(--border); border-radius: 0.4rem; padding: 0.35rem 0.5rem; min-width: 0;
}
#system { width: 100%; resize: vertical; }
#max-tokens { width: 8rem; }
#api-key { width: 100%; max-width: 24rem; }
#status { color: var(--muted); font-size: 0.85rem; min-height: 0; }
#endpoints { color: var(--muted); font-size: 0.85rem; margin: 0; padding-bottom: 0.6rem; }
#status:not(:empty) { padding: 0.35rem 0; }
main { flex: 1; overflow-y: auto; min-height: 0; }
#messages { display: flex; flex-direction: column; gap: 0.75rem; padding-top: 1rem; padding-bottom: 1rem; }
#messages:empty::before {
  content: "Type a message below to start. Enter sends it, Shift+Enter adds a new line.";
  color: var(--muted); text-align: center; margin-top: 2rem;
}
.turn { display: flex; flex-direction: column; max-width: 100%; }
.turn.user { align-items: flex-end; }
.turn.assistant, .turn.error { align-items: flex-start; }
.msg {
  white-space: pre-wrap; overflow-wrap: anywhere; padding: 0.5rem 0.75rem; border-radius: 0.75rem;
  max-width: min(100%, 42rem); border: 1px solid var(--border);
}
.msg.user { background: var(--user-bg); border-color: transparent; }
.msg.user.failed { opacity: 0.6; }
.msg.assistant { background: var(--surface); }
.msg.assistant:empty::after { content: "\2026"; color: var(--muted); }
.msg.assistant[data-state=stopped]:empty::after { content: "(stopped before any text)"; }
.msg.error { background: var(--error-bg); color: var(--error-text); border-color: transparent; }
.meta { color: var(--muted); font-size: 0.8rem; margin-top: 0.2rem; padding: 0 0.25rem; }
.meta:empty { display: none; }
.reasoning { color: var(--muted); font-size: 0.9rem; max-width: min(100%, 42rem); margin-bottom: 0.25rem; }
.reasoning div { white-space: pre-wrap; overflow-wrap: anywhere; border-left: 2px solid var(--border); padding-left: 0.5rem; }
footer { border-top: 1px solid var(--border); background: var(--surface); }
#composer { display: flex; gap: 0.5rem; padding-top: 0.6rem; padding-bottom: 0.6rem; align-items: flex-end; }
#input { flex: 1; resize: none; min-height: 2.6rem; max-height: 40vh; }
.buttons { display: flex; gap: 0.4rem; }
button {
  border: 1px solid var(--border); background: var(--bg); border-radius: 0.4rem; padding: 0.45rem 0.8rem; cursor: pointer;
}
button:disabled { opacity: 0.45; cursor: default; }
#send { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
@media (max-width: 36rem) {
  #composer { flex-wrap: wrap; }
  #input { flex-basis: 100%; }
  .buttons { width: 100%; }
  .buttons button { flex: 1; }
  .grid { grid-template-columns: minmax(0, 1fr); gap: 0.25rem; }
  .grid label { margin-top: 0.35rem; }
}
`;

const SCRIPT = String.raw`
"use strict";
(function () {
  var FALLBACK_MODEL = "LLaMA_CPP";
  var KEY_STORAGE = "llamafile.apiKey";
  function $(id) { return document.getElementById(id); }
  var els = {
    messages: $("messages"), scroller: $("scroller"), input: $("input"), send: $("send"),
    stop: $("stop"), clear: $("clear"), temperature: $("temperature"),
    temperatureValue: $("temperature-value"), system: $("system"), maxTokens: $("max-tokens"),
    apiKey: $("api-key"), model: $("model"), settings: $("settings"), status: $("status"),
    form: $("composer")
  };
  var history = [];
  var controller = null;
  var epoch = 0;
  var modelPromise = null;
  var modelKey = null;

  function storageGet(key) {
    try { return localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }
  function storageSet(key, value) {
    try {
      if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
    } catch (e) { /* storage can be disabled; the key then lives only in the field */ }
  }
  function apiKey() { return els.apiKey.value.trim(); }
  function authHeaders(headers) {
    var key = apiKey();
    if (key) headers.Authorization = "Bearer " + key;
    return headers;
  }
  function setStatus(text) { els.status.textContent = text; }

  function needKey() {
    els.settings.open = true;
    setStatus(apiKey()
      ? "The server refused the API key: check it in Settings."
      : "This server needs an API key: enter it in Settings.");
  }

  async function errorMessage(res) {
    var text = "";
    try { text = await res.text(); } catch (e) { /* body unreadable */ }
    try {
      var body = JSON.parse(text);
      var error = body && body.error;
      if (error && typeof error.message === "string" && error.message) return error.message;
      if (typeof error === "string" && error) return error;
    } catch (e) { /* not JSON */ }
    text = text.trim();
    return text ? text.slice(0, 500) : (res.statusText || "request failed");
  }

  function loadModel() {
    var key = apiKey();
    modelKey = key;
    els.model.textContent = "connecting\u2026";
    modelPromise = (async function () {
      try {
        var res = await fetch("./v1/models", { headers: authHeaders({}) });
        if (res.status === 401) {
          needKey();
          els.model.textContent = "";
          return FALLBACK_MODEL;
        }
        if (!res.ok) {
          els.model.textContent = FALLBACK_MODEL;
          return FALLBACK_MODEL;
        }
        var body = await res.json();
        var first = body && Array.isArray(body.data) ? body.data[0] : undefined;
        var id = first && typeof first.id === "string" && first.id ? first.id : FALLBACK_MODEL;
        if (els.status.textContent.indexOf("API key") >= 0) setStatus("");
        els.model.textContent = id;
        els.model.title = id;
        return id;
      } catch (e) {
        els.model.textContent = "server unreachable";
        return FALLBACK_MODEL;
      }
    })();
    return modelPromise;
  }
  function currentModel() {
    return modelPromise && modelKey === apiKey() ? modelPromise : loadModel();
  }

  function readTemperature() {
    var t = Number(els.temperature.value);
    return Number.isFinite(t) ? t : 0.8;
  }
  function showTemperature() {
    els.temperatureValue.value = String(Number(els.temperature.value));
  }
  function readMaxTokens() {
    var raw = els.maxTokens.value.trim();
    if (!raw) return undefined;
    var n = Math.floor(Number(raw));
    return Number.isFinite(n) && n > 0 ? n : undefined;
  }

  function nearBottom() {
    var s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }
  function scrollDown(force) {
    if (force || nearBottom()) els.scroller.scrollTop = els.scroller.scrollHeight;
  }

  function addTurn(kind, label) {
    var turn = document.createElement("div");
    turn.className = "turn " + kind;
    turn.setAttribute("role", "article");
    turn.setAttribute("aria-label", label);
    els.messages.appendChild(turn);
    return turn;
  }
  function addUser(text) {
    var msg = document.createElement("div");
    msg.className = "msg user";
    msg.textContent = text;
    addTurn("user", "You").appendChild(msg);
    scrollDown(true);
    return msg;
  }
  function addError(text) {
    var msg = document.createElement("div");
    msg.className = "msg error";
    msg.setAttribute("role", "alert");
    msg.textContent = text;
    addTurn("error", "Error").appendChild(msg);
    scrollDown(true);
    return msg;
  }
  function addAssistant() {
    var turn = addTurn("assistant", "Assistant");
    var reasoning = null;
    var reasoningText = null;
    var msg = document.createElement("div");
    msg.className = "msg assistant";
    msg.setAttribute("data-state", "streaming");
    var text = document.createTextNode("");
    var meta = document.createElement("div");
    meta.className = "meta";
    turn.appendChild(msg);
    turn.appendChild(meta);
    scrollDown(true);
    return {
      append: function (piece) {
        var pinned = nearBottom();
        if (!text.parentNode) msg.appendChild(text);
        text.appendData(piece);
        if (pinned) scrollDown(true);
      },
      reason: function (piece) {
        if (!reasoning) {
          reasoning = document.createElement("details");
          reasoning.className = "reasoning";
          var summary = document.createElement("summary");
          summary.textContent = "Reasoning";
          reasoningText = document.createElement("div");
          reasoning.appendChild(summary);
          reasoning.appendChild(reasoningText);
          turn.insertBefore(reasoning, msg);
        }
        reasoningText.appendChild(document.createTextNode(piece));
      },
      finish: function (state, line) {
        msg.setAttribute("data-state", state);
        meta.textContent = line;
      },
      remove: function () { turn.remove(); }
    };
  }

  function setStreaming(on) {
    els.send.disabled = on;
    els.stop.disabled = !on;
    els.form.setAttribute("aria-busy", on ? "true" : "false");
  }

  async function* sseData(body) {
    var reader = body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = "";
    var data = [];
    function line(raw) {
      var l = raw.charAt(raw.length - 1) === "\r" ? raw.slice(0, -1) : raw;
      if (l === "") {
        if (!data.length) return null;
        var event = data.join("\n");
        data = [];
        return event;
      }
      if (l.charAt(0) === ":") return null;
      var colon = l.indexOf(":");
      var field = colon < 0 ? l : l.slice(0, colon);
      var value = colon < 0 ? "" : l.slice(colon + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "data") data.push(value);
      return null;
    }
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += chunk.value;
        var nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          var event = line(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
          if (event !== null) yield event;
        }
      }
      if (buffer) line(buffer);
      var last = line("");
      if (last !== null) yield last;
    } finally {
      reader.cancel().catch(function () {});
    }
  }

  function ApiError(message, status) {
    var e = new Error(message);
    e.name = "ApiError";
    e.status = status;
    return e;
  }

  function stats(usage, timings, tFirst, tLast, finish, stopped) {
    var parts = [];
    var n = usage && typeof usage.completion_tokens === "number" ? usage.completion_tokens
      : timings && typeof timings.predicted_n === "number" ? timings.predicted_n : 0;
    if (n > 0) parts.push(n + (n === 1 ? " token" : " tokens"));
    var tps = timings && typeof timings.predicted_per_second === "number"
      ? timings.predicted_per_second : 0;
    if (!(tps > 0) && n > 1 && tFirst && tLast > tFirst) tps = (n - 1) * 1000 / (tLast - tFirst);
    if (tps > 0 && Number.isFinite(tps)) parts.push(tps.toFixed(1) + " tok/s");
    if (finish === "length") parts.push("hit max tokens");
    if (stopped) parts.push("stopped");
    return parts.join(" \u00b7 ");
  }

  async function send() {
    var text = els.input.value;
    if (!text.trim() || controller) return;
    els.input.value = "";
    autoGrow();
    var myEpoch = epoch;
    var userMessage = { role: "user", content: text };
    var userEl = addUser(text);
    var turn = addAssistant();
    var messages = [];
    var system = els.system.value.trim();
    if (system) messages.push({ role: "system", content: system });
    messages = messages.concat(history, [userMessage]);
    var ctl = new AbortController();
    controller = ctl;
    setStreaming(true);
    var content = "";
    var finish = null, usage = null, timings = null, tFirst = 0, stopped = false, failed = false;
    try {
      var model = await currentModel();
      if (ctl.signal.aborted) throw new DOMException("Stopped", "AbortError");
      var request = {
        model: model,
        messages: messages,
        stream: true,
        temperature: readTemperature(),
        stream_options: { include_usage: true }
      };
      var maxTokens = readMaxTokens();
      if (maxTokens !== undefined) request.max_tokens = maxTokens;
      var res = await fetch("./v1/chat/completions", {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify(request),
        signal: ctl.signal
      });
      if (!res.ok) {
        if (res.status === 401) needKey();
        throw ApiError(await errorMessage(res), res.status);
      }
      var type = res.headers.get("content-type") || "";
      if (type.indexOf("text/event-stream") < 0) {
        var whole = await res.json();
        if (whole && whole.error) throw ApiError(whole.error.message || "request failed", res.status);
        var message = whole && whole.choices && whole.choices[0] && whole.choices[0].message;
        if (message && typeof message.content === "string") {
          content = message.content;
          tFirst = performance.now();
          turn.append(content);
        }
        finish = whole && whole.choices && whole.choices[0] ? whole.choices[0].finish_reason : null;
        usage = whole && whole.usage;
        timings = whole && whole.timings;
      } else {
        for await (var data of sseData(res.body)) {
          if (data === "[DONE]") break;
          var event;
          try { event = JSON.parse(data); } catch (e) {
            throw new Error("Cannot read the stream: event " + JSON.stringify(data.slice(0, 80)) + " is not JSON");
          }
          if (event.error) {
            throw ApiError(typeof event.error.message === "string" ? event.error.message
              : JSON.stringify(event.error), event.error.code);
          }
          var choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
          var delta = choice && choice.delta;
          if (delta && typeof delta.reasoning_content === "string" && delta.reasoning_content) {
            turn.reason(delta.reasoning_content);
          }
          if (delta && typeof delta.content === "string" && delta.content) {
            if (!tFirst) tFirst = performance.now();
            content += delta.content;
            turn.append(delta.content);
          }
          if (choice && choice.finish_reason) finish = choice.finish_reason;
          if (event.usage) usage = event.usage;
          if (event.timings) timings = event.timings;
        }
      }
    } catch (e) {
      if (ctl.signal.aborted || (e && e.name === "AbortError")) {
        stopped = true;
      } else {
        failed = true;
        if (!content) turn.remove();
        var prefix = e && e.name === "ApiError" && e.status ? "Error (HTTP " + e.status + "): " : "Error: ";
        addError(prefix + (e && e.message ? e.message : String(e)));
      }
    } finally {
      if (controller === ctl) controller = null;
      setStreaming(!!controller);
    }
    if (myEpoch !== epoch) return;
    turn.finish(stopped ? "stopped" : failed ? "error" : "done",
      stats(usage, timings, tFirst, performance.now(), finish, stopped));
    if (content && !failed) {
      history.push(userMessage, { role: "assistant", content: content });
    } else {
      userEl.classList.add("failed");
      userEl.title = "Not part of the conversation: no answer was received";
      if (!els.input.value) { els.input.value = text; autoGrow(); }
    }
  }

  function stop() {
    if (controller) controller.abort();
  }
  function clear() {
    epoch++;
    stop();
    history = [];
    els.messages.replaceChildren();
    setStatus("");
    els.input.focus();
  }

  function autoGrow() {
    els.input.style.height = "auto";
    els.input.style.height = els.input.scrollHeight + 2 + "px";
  }

  els.form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  els.input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === "Escape" && controller) {
      stop();
    }
  });
  els.input.addEventListener("input", autoGrow);
  els.stop.addEventListener("click", stop);
  els.clear.addEventListener("click", clear);
  els.temperature.addEventListener("input", showTemperature);
  els.temperatureValue.addEventListener("input", function () {
    var t = Number(els.temperatureValue.value);
    if (els.temperatureValue.value !== "" && Number.isFinite(t)) els.temperature.value = String(t);
  });
  els.temperatureValue.addEventListener("change", showTemperature);
  els.apiKey.value = storageGet(KEY_STORAGE);
  els.apiKey.addEventListener("change", function () {
    storageSet(KEY_STORAGE, apiKey());
    loadModel();
  });
  if (window.matchMedia && window.matchMedia("(min-width: 60rem)").matches) els.settings.open = true;
  showTemperature();
  setStreaming(false);
  loadModel();
  els.input.focus();
})();
`;

/** The whole chat page as one self-contained HTML document (inline CSS and JS). */
export const CHAT_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>llamafile</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <div class="wrap">
    <h1>llamafile</h1>
    <span id="model" aria-label="Model"></span>
  </div>
</header>
<details id="settings">
  <summary class="wrap">Settings</summary>
  <div class="wrap grid">
    <label for="system">System prompt</label>
    <textarea id="system" rows="2" placeholder="Optional, e.g. You are a helpful assistant."></textarea>
    <label for="temperature">Temperature</label>
    <div class="row">
      <input type="range" id="temperature" min="0" max="2" step="0.05" value="0.8">
      <input type="number" id="temperature-value" min="0" max="2" step="0.05" value="0.8" aria-label="Temperature value">
    </div>
    <label for="max-tokens">Max tokens</label>
    <div class="row">
      <input type="number" id="max-tokens" min="1" step="1" value="512" placeholder="no limit">
    </div>
    <label for="api-key">API key</label>
    <input type="password" id="api-key" autocomplete="off" spellcheck="false" placeholder="Only if the server was started with one">
  </div>
  <p class="wrap" id="endpoints">This server also answers API clients at this address: OpenAI <code>/v1/chat/completions</code>, <code>/v1/completions</code>, <code>/v1/responses</code> and <code>/v1/embeddings</code>; Anthropic <code>/v1/messages</code>; llama.cpp <code>/completion</code>. With an API key, send <code>Authorization: Bearer KEY</code> or <code>X-Api-Key: KEY</code>.</p>
</details>
<main id="scroller">
  <div class="wrap">
    <div id="status" role="status" aria-live="polite"></div>
    <div id="messages" role="log" aria-live="polite" aria-label="Conversation"></div>
  </div>
</main>
<footer>
  <form id="composer" class="wrap" aria-label="Send a message">
    <label for="input" class="visually-hidden">Message</label>
    <span id="input-hint" class="visually-hidden">Enter sends, Shift+Enter adds a new line, Escape stops the answer.</span>
    <textarea id="input" rows="1" placeholder="Send a message…" aria-describedby="input-hint"></textarea>
    <div class="buttons">
      <button type="submit" id="send">Send</button>
      <button type="button" id="stop" disabled>Stop</button>
      <button type="button" id="clear">Clear</button>
    </div>
  </form>
</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
