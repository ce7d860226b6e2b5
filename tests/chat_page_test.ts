/**
 * The chat page in a real Chromium, against a small in-test OpenAI-style server that streams
 * a known answer. The same checks run against the real server in its own suite.
 *
 * Needs `/usr/bin/chromium` (Debian `chromium`). Set `CHAT_PAGE_SHOTS=<dir>` to keep the
 * screenshots.
 */

import assert from "node:assert/strict";
import { CHAT_HTML, CHAT_PAGE_HEADERS } from "../lib/server/ui/chat_html.ts";
import {
  launchChromium,
  MARKDOWN_SAMPLE,
  runChatPageChecks,
  runImageChecks,
} from "./chat_page_checks.ts";
import { testPng } from "../bench/test_images.ts";

const MODEL = "fake-model.gguf";
const API_KEY = "sk-test-123";

/**
 * The fake's answer to a user message: HTML-like text and multi-byte characters on purpose (on
 * one line, so the page's text of it is the answer itself); markdown when asked for it.
 */
function answerTo(text: string): string {
  if (text.includes("markdown")) return MARKDOWN_SAMPLE;
  return `You said "${text.replace(/\s+/g, " ")}". <b>Bye</b> & adiós 🦙`;
}

/** A message's text, and how many images it carries (content parts, as the page sends them). */
function readContent(content: unknown): { text: string; images: number } {
  if (typeof content === "string") return { text: content, images: 0 };
  const parts = Array.isArray(content) ? content as { type: string; text?: string }[] : [];
  return {
    text: parts.filter((p) => p.type === "text").map((p) => p.text ?? "").join("\n"),
    images: parts.filter((p) => p.type === "image_url").length,
  };
}

/** The fake's answer to a message with images. */
function answerToImages(text: string, images: number): string {
  return `I see ${images} image${images === 1 ? "" : "s"}. ${answerTo(text)}`;
}

interface FakeState {
  requests: Record<string, unknown>[];
  /** Streams the client went away from before the end. */
  aborted: number;
}

interface FakeOptions {
  apiKey?: string;
  /** Say in `/props` that the model takes images. */
  vision?: boolean;
  /** Answer `/v1/models` with this status instead of the model list. */
  modelsStatus?: number;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function error(status: number, message: string, type: string): Response {
  return json(status, { error: { code: status, message, type } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A streaming `/v1/chat/completions` like llama.cpp's: one chunk per word, every event split
 * in the middle of its bytes (across UTF-8 sequences too), then a finish chunk, a usage chunk
 * with timings and `[DONE]`. With `max_tokens` of 1000 or more it keeps going slowly, to be stopped.
 */
function stream(body: Record<string, unknown>, state: FakeState): Response {
  const messages = body.messages as Array<{ role: string; content: unknown }>;
  const last = readContent(messages[messages.length - 1]?.content ?? "");
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 512;
  const long = maxTokens >= 1000;
  const answer = last.images > 0 ? answerToImages(last.text, last.images) : answerTo(last.text);
  const words = answer.match(/\s*\S+\s*/g) ?? [];
  const encoder = new TextEncoder();
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    encoder.encode(
      `data: ${
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion.chunk",
          created: 0,
          model: MODEL,
          choices,
          ...extra,
        })
      }\n\n`,
    );
  let cancelled = false;
  async function* events(): AsyncGenerator<Uint8Array> {
    yield chunk([{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }]);
    let n = 0;
    for (; n < Math.min(maxTokens, long ? maxTokens : words.length); n++) {
      const piece = n < words.length ? words[n]! : " more";
      yield chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
      await sleep(long ? 40 : 10);
    }
    const finish = long || n < words.length ? "length" : "stop";
    yield chunk([{ index: 0, delta: {}, finish_reason: finish }]);
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) {
      yield chunk([], {
        usage: { prompt_tokens: 7, completion_tokens: n, total_tokens: 7 + n },
        timings: { prompt_n: 7, predicted_n: n, predicted_ms: n * 10, predicted_per_second: 98.7 },
      });
    }
    yield encoder.encode("data: [DONE]\n\n");
  }
  const it = events();
  let pending: Uint8Array | null = null;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending) {
        controller.enqueue(pending);
        pending = null;
        return;
      }
      const next = await it.next();
      if (cancelled) return;
      if (next.done) {
        controller.close();
        return;
      }
      const half = Math.floor(next.value.length / 2);
      controller.enqueue(next.value.subarray(0, half));
      pending = next.value.subarray(half);
      await sleep(2);
    },
    cancel() {
      cancelled = true;
      state.aborted++;
    },
  });
  return new Response(readable, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

function fakeServer(opts: FakeOptions = {}) {
  const state: FakeState = { requests: [], aborted: 0 };
  const authorized = (req: Request) =>
    opts.apiKey === undefined || req.headers.get("authorization") === `Bearer ${opts.apiKey}`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { pathname } = new URL(req.url);
    if (req.method === "GET" && pathname === "/") {
      return new Response(CHAT_HTML, { headers: { ...CHAT_PAGE_HEADERS } });
    }
    if (req.method === "GET" && pathname === "/props") {
      return json(200, {
        default_generation_settings: { params: { temperature: 0.8, top_k: 40 } },
        ...(opts.vision && { modalities: { vision: true, audio: false } }),
      });
    }
    if (pathname.startsWith("/v1/") && !authorized(req)) {
      return error(401, "Invalid API Key", "authentication_error");
    }
    if (req.method === "GET" && pathname === "/v1/models") {
      if (opts.modelsStatus) return error(opts.modelsStatus, "Not found", "not_found_error");
      return json(200, {
        object: "list",
        data: [{ id: MODEL, object: "model", created: 0, owned_by: "llamafile" }],
      });
    }
    if (req.method === "POST" && pathname === "/v1/chat/completions") {
      const body = await req.json() as Record<string, unknown>;
      state.requests.push(body);
      const t = body.temperature;
      if (t !== undefined && (typeof t !== "number" || t < 0 || t > 2)) {
        return error(400, "temperature must be between 0 and 2", "invalid_request_error");
      }
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        return error(400, "messages must be a non-empty array", "invalid_request_error");
      }
      if (body.stream !== true) return error(400, "only streaming here", "invalid_request_error");
      return stream(body, state);
    }
    return error(404, `File Not Found: "${pathname}"`, "not_found_error");
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  return { server, state, url };
}

Deno.test("chat page renders markdown, keeps conversations and sends its settings (Chromium)", async () => {
  const fake = fakeServer({ apiKey: API_KEY });
  const keep = Deno.env.get("CHAT_PAGE_SHOTS");
  const shots = keep ? `${keep}/fake` : await Deno.makeTempDir({ prefix: "chat_page_shots_" });
  if (keep) await Deno.mkdir(shots, { recursive: true });
  try {
    const result = await runChatPageChecks(fake.url, {
      apiKey: API_KEY,
      expectedAnswer: answerTo,
      stopMaxTokens: 1000,
      screenshotDir: shots,
    });
    assert.equal(result.screenshots.length, 7);
    // The server saw what the page meant to send: not the request without the key (refused),
    // not the refused settings, not the ones mocked in the browser.
    const seen = fake.state.requests.map((r) => (r.messages as { content: string }[]).at(-1));
    assert.deepEqual(seen.map((m) => m?.content), [
      "Hello\nthere",
      "And then?",
      "And then?",
      "Answer in JSON",
      "Show me some markdown",
      "Hello again",
      "Tell me a long story.",
      "A second chat",
      "Hello from a phone",
    ]);
    assert.equal(fake.state.requests[0]?.model, MODEL);
    assert.equal(fake.state.requests[0]?.temperature, 0.3);
    assert.equal(fake.state.requests[0]?.top_k, 5);
    // Stop cut a stream short, and the server saw the client go.
    assert.equal(fake.state.aborted, 1);
  } finally {
    await fake.server.shutdown();
    if (!keep) await Deno.remove(shots, { recursive: true });
  }
});

Deno.test("chat page falls back to model LLaMA_CPP when /v1/models fails (Chromium)", async () => {
  const fake = fakeServer({ modelsStatus: 404 });
  const browser = await launchChromium();
  try {
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(fake.url);
    await page.locator("#model", { hasText: "LLaMA_CPP" }).waitFor();
    assert.equal(await page.locator("#settings").getAttribute("open"), null, "settings open");
    await page.locator("#input").fill("Hi");
    await page.locator("#send").click();
    await page.locator('.msg.assistant[data-state="done"]').waitFor();
    assert.equal(await page.locator(".msg.assistant").textContent(), answerTo("Hi"));
    assert.equal(fake.state.requests.length, 1);
    assert.equal(fake.state.requests[0]?.model, "LLaMA_CPP");
    // Settings left empty leave the server's defaults: no sampler field is sent.
    assert.deepEqual(fake.state.requests[0], {
      model: "LLaMA_CPP",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(await page.locator("#status").textContent(), "");
  } finally {
    await browser.close();
    await fake.server.shutdown();
  }
});

Deno.test("chat page attaches images by button, paste and drop, and sends them as data URIs (Chromium)", async () => {
  const fake = fakeServer({ vision: true });
  try {
    const result = await runImageChecks(fake.url, {
      image: await testPng(),
      mime: "image/png",
      prompt: "What is in the picture?",
      expectedAnswer: answerToImages("What is in the picture?", 1),
    });
    assert.deepEqual(result.answers, [
      answerToImages("What is in the picture?", 1),
      answerToImages("", 1),
    ]);
    // The server saw the two messages, the second with the first in its history.
    assert.equal(fake.state.requests.length, 2);
    const contents = fake.state.requests.map((r) =>
      (r.messages as { content: unknown }[]).map((m) => readContent(m.content))
    );
    assert.deepEqual(contents[1], [
      { text: "What is in the picture?", images: 1 },
      { text: answerToImages("What is in the picture?", 1), images: 0 },
      { text: "", images: 1 },
    ]);
  } finally {
    await fake.server.shutdown();
  }
});
