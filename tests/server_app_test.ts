/**
 * The server app through `app.request` (no socket), on the real ChatML test model with
 * one thread: endpoint shapes, validation errors, middleware.
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { ServerState } from "../lib/server/api/server_state.ts";
import { CHAT_HTML } from "../lib/server/ui/chat_html.ts";
import { helpText } from "../lib/cli/options.ts";
import { DEFAULTS, parseSse, post, testEngine } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const CHAT = {
  model: "LLaMA_CPP",
  messages: [{ role: "user", content: "Tell me a story." }],
  temperature: 0,
  max_tokens: 12,
};

async function json(response: Response): Promise<Json> {
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  return await response.json();
}

async function expectError(
  response: Response,
  status: number,
  type: string,
  message: RegExp,
  param?: string,
) {
  assert.equal(response.status, status);
  const body = await json(response);
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.type, type);
  assert.equal(body.error.code, status);
  assert.match(body.error.message, message);
  if (param !== undefined) assert.equal(body.error.param, param);
  return body;
}

Deno.test("GET /health answers 503 while the model loads, then ok", async () => {
  const state = new ServerState({ modelName: "m", defaults: DEFAULTS, startedAt: 1 });
  const app = createApp({ state });
  const loading = await app.request("/health");
  assert.equal(loading.status, 503);
  assert.deepEqual(await loading.json(), { status: "loading model" });
  await expectError(await app.request("/v1/models"), 503, "unavailable_error", /Loading model/);
  await using t = await testEngine();
  state.ready(t.engine);
  const ready = await app.request("/health");
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).status, "ok");
});

Deno.test("GET / serves the chat page with a strict CSP", async () => {
  const app = createApp({
    state: new ServerState({ modelName: "m", defaults: DEFAULTS, startedAt: 1 }),
  });
  const response = await app.request("/");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /text\/html/);
  assert.match(
    response.headers.get("content-security-policy")!,
    /default-src 'none'.*connect-src 'self'/,
  );
  assert.equal(await response.text(), CHAT_HTML);
});

Deno.test("POST /v1/chat/completions answers a chat.completion with usage and timings", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await json(await app.request("/v1/chat/completions", post(CHAT)));
  assert.match(body.id, /^chatcmpl-[A-Za-z0-9]{32}$/);
  assert.equal(body.object, "chat.completion");
  assert.equal(body.model, "LLaMA_CPP");
  assert.ok(Number.isInteger(body.created) && body.created > 1_600_000_000);
  assert.equal(body.choices.length, 1);
  const choice = body.choices[0];
  assert.equal(choice.index, 0);
  assert.equal(choice.message.role, "assistant");
  assert.equal(typeof choice.message.content, "string");
  assert.ok(choice.message.content.length > 0);
  assert.equal(choice.finish_reason, "length");
  assert.equal(body.usage.completion_tokens, 12);
  assert.ok(body.usage.prompt_tokens > 5);
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 12);
  assert.equal(body.timings.predicted_n, 12);
  assert.ok(body.timings.predicted_per_second > 0);
});

Deno.test("POST /v1/chat/completions is deterministic at temperature 0 and reuses the cached prefix", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const a = await json(await app.request("/v1/chat/completions", post(CHAT)));
  const b = await json(await app.request("/v1/chat/completions", post(CHAT)));
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(b.usage.prompt_tokens_details.cached_tokens, b.usage.prompt_tokens - 1);
});

Deno.test("POST /v1/chat/completions streams chunks, a finish chunk, usage and [DONE]", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const whole = await json(await app.request("/v1/chat/completions", post(CHAT)));
  const response = await app.request(
    "/v1/chat/completions",
    post({ ...CHAT, stream: true, stream_options: { include_usage: true } }),
  );
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /text\/event-stream/);
  const events = parseSse(await response.text());
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1) as Json[];
  assert.deepEqual(chunks[0]!.choices[0].delta, { role: "assistant", content: null });
  for (const chunk of chunks) {
    assert.equal(chunk.object, "chat.completion.chunk");
    assert.equal(chunk.id, chunks[0]!.id);
  }
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(text, whole.choices[0].message.content);
  const finish = chunks.at(-2)!;
  assert.equal(finish.choices[0].finish_reason, "length");
  assert.equal(finish.timings.predicted_n, 12);
  const usage = chunks.at(-1)!;
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 12);
});

Deno.test("POST /v1/chat/completions returns logprobs with top_logprobs", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await json(
    await app.request(
      "/v1/chat/completions",
      post({ ...CHAT, max_tokens: 4, logprobs: true, top_logprobs: 3 }),
    ),
  );
  const content = body.choices[0].logprobs.content as Json[];
  assert.equal(content.length, 4);
  for (const entry of content) {
    assert.ok(entry.logprob <= 0);
    assert.equal(entry.top_logprobs.length, 3);
    // greedy: the chosen token is the most likely one
    assert.equal(entry.token, entry.top_logprobs[0].token);
    assert.ok(Math.abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-6);
  }
  assert.equal(content.map((e) => e.token).join(""), body.choices[0].message.content);
});

Deno.test("POST /v1/chat/completions constrains output with response_format json_schema", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const schema = {
    type: "object",
    properties: { mood: { enum: ["happy", "sad"] } },
    required: ["mood"],
    additionalProperties: false,
  };
  const body = await json(
    await app.request(
      "/v1/chat/completions",
      post({
        ...CHAT,
        max_tokens: 40,
        response_format: { type: "json_schema", json_schema: { name: "m", schema } },
      }),
    ),
  );
  assert.equal(body.choices[0].finish_reason, "stop");
  const parsed = JSON.parse(body.choices[0].message.content);
  assert.ok(["happy", "sad"].includes(parsed.mood), body.choices[0].message.content);
});

Deno.test("POST /v1/chat/completions applies logit_bias by token id", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const first = await json(
    await app.request(
      "/completion",
      post({ prompt: "Once upon a time", n_predict: 1, temperature: 0, return_tokens: true }),
    ),
  );
  const banned = first.tokens[0] as number;
  const biased = await json(
    await app.request(
      "/completion",
      post({
        prompt: "Once upon a time",
        n_predict: 1,
        temperature: 0,
        return_tokens: true,
        logit_bias: { [banned]: -100 },
      }),
    ),
  );
  assert.notEqual(biased.tokens[0], banned);
  const chat = await json(
    await app.request("/v1/chat/completions", post({ ...CHAT, max_tokens: 1, logprobs: true })),
  );
  const chatFirst = chat.choices[0].logprobs.content[0].token as string;
  // every token with that piece (a byte token and a normal one may share it)
  const ids: number[] = [];
  for (let token = 0; token < t.model.vocabSize; token++) {
    if (new TextDecoder().decode(t.model.tokenBytes(token)) === chatFirst) ids.push(token);
  }
  assert.ok(ids.length > 0);
  const bias = Object.fromEntries(ids.map((id) => [id, -100]));
  const chat2 = await json(
    await app.request(
      "/v1/chat/completions",
      post({ ...CHAT, max_tokens: 1, logprobs: true, logit_bias: bias }),
    ),
  );
  assert.notEqual(chat2.choices[0].logprobs.content[0].token, chatFirst);
});

Deno.test("POST /v1/chat/completions with a seed repeats at temperature 1", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const request = { ...CHAT, temperature: 1, seed: 42, max_tokens: 16 };
  const a = await json(await app.request("/v1/chat/completions", post(request)));
  const b = await json(await app.request("/v1/chat/completions", post(request)));
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

Deno.test("POST /v1/completions answers a text_completion, streamed or not, with legacy logprobs", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const request = { model: "x", prompt: "Once upon a time", max_tokens: 8, temperature: 0 };
  const body = await json(await app.request("/v1/completions", post({ ...request, logprobs: 2 })));
  assert.equal(body.object, "text_completion");
  assert.match(body.id, /^cmpl-/);
  assert.equal(body.choices[0].text, ", there was a little girl");
  assert.equal(body.choices[0].logprobs.tokens.join(""), body.choices[0].text);
  assert.equal(
    body.choices[0].logprobs.top_logprobs[0] &&
      Object.keys(body.choices[0].logprobs.top_logprobs[0]).length,
    2,
  );
  assert.equal(body.usage.completion_tokens, 8);
  const events = parseSse(
    await (await app.request("/v1/completions", post({ ...request, stream: true }))).text(),
  );
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1) as Json[];
  assert.equal(chunks.map((c) => c.choices[0].text).join(""), body.choices[0].text);
  assert.equal(chunks.at(-1)!.choices[0].finish_reason, "length");
  assert.equal(chunks.at(-1)!.usage.completion_tokens, 8);
});

Deno.test("POST /completion answers llama.cpp's shape, with n_probs, stop words and grammar", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await json(
    await app.request(
      "/completion",
      post({ prompt: "Once upon a time", n_predict: 8, temperature: 0, n_probs: 2 }),
    ),
  );
  assert.equal(body.content, ", there was a little girl");
  assert.equal(body.stop, true);
  assert.equal(body.stop_type, "limit");
  assert.equal(body.tokens_predicted, 8);
  assert.equal(body.timings.predicted_n, 8);
  assert.equal(body.completion_probabilities.length, 8);
  assert.equal(body.completion_probabilities[0].top_logprobs.length, 2);
  assert.equal(body.usage.completion_tokens, 8);

  const stopped = await json(
    await app.request(
      "/completion",
      post({ prompt: "Once upon a time", n_predict: 20, temperature: 0, stop: ["girl"] }),
    ),
  );
  assert.equal(stopped.content, ", there was a little ");
  assert.equal(stopped.stop_type, "word");
  assert.equal(stopped.stopping_word, "girl");

  const grammar = await json(
    await app.request(
      "/completion",
      post({
        prompt: "Is the sky blue? Answer:",
        n_predict: 10,
        temperature: 0,
        grammar: 'root ::= " yes" | " no"',
      }),
    ),
  );
  assert.match(grammar.content, /^ (yes|no)$/);
  assert.equal(grammar.stop_type, "eos");
});

Deno.test("POST /completion streams one token per event and ends with stop: true, no [DONE]", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const events = parseSse(
    await (await app.request(
      "/completion",
      post({ prompt: "Once upon a time", n_predict: 6, temperature: 0, stream: true }),
    ))
      .text(),
  ) as Json[];
  assert.ok(!events.includes("[DONE]" as unknown as Json));
  const last = events.at(-1)!;
  assert.equal(last.stop, true);
  assert.equal(last.tokens_predicted, 6);
  assert.ok(last.timings.predicted_per_second > 0);
  assert.equal(events.slice(0, -1).map((e) => e.content).join(""), ", there was a little g");
  for (const e of events.slice(0, -1)) assert.equal(e.stop, false);
});

Deno.test("POST /tokenize and /detokenize round-trip, with pieces", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const plain = await json(await app.request("/tokenize", post({ content: "Once upon a time" })));
  assert.ok(plain.tokens.every((id: unknown) => typeof id === "number"));
  const withBos = await json(
    await app.request("/tokenize", post({ content: "Once upon a time", add_special: true })),
  );
  assert.deepEqual(withBos.tokens, [t.model.bos, ...plain.tokens]);
  const pieces = await json(
    await app.request("/tokenize", post({ content: "Once upon a time", with_pieces: true })),
  );
  assert.deepEqual(pieces.tokens.map((p: Json) => p.id), plain.tokens);
  assert.equal(pieces.tokens.map((p: Json) => p.piece).join(""), " Once upon a time");
  const back = await json(await app.request("/detokenize", post({ tokens: plain.tokens })));
  assert.equal(back.content.trim(), "Once upon a time");
});

Deno.test("GET /v1/models, /props, /slots and /metrics describe the server", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { endpoints: { metrics: true } } });
  const list = await json(await app.request("/v1/models"));
  assert.equal(list.object, "list");
  assert.equal(list.data[0].id, "stories260K-chatml-test.gguf");
  assert.equal(list.data[0].object, "model");
  assert.equal(list.data[0].meta.n_vocab, 512);
  const props = await json(await app.request("/props"));
  assert.equal(props.total_slots, 2);
  assert.match(props.chat_template, /im_start/);
  assert.equal(props.chat_template_origin, "model");
  const slots = await json(await app.request("/slots")) as unknown as Json[];
  assert.equal(slots.length, 2);
  assert.equal(slots[0]!.is_processing, false);
  await app.request("/completion", post({ prompt: "Once", n_predict: 3 }));
  const metrics = await app.request("/metrics");
  assert.match(metrics.headers.get("content-type")!, /^text\/plain/);
  const text = await metrics.text();
  assert.match(text, /^# HELP llamacpp:prompt_tokens_total /m);
  assert.match(text, /^llamacpp:tokens_predicted_total 3$/m);
  assert.match(text, /^llamacpp:requests_processing 0$/m);
  assert.match(text, /^llamacpp:requests_deferred 0$/m);
  assert.match(text, /^# TYPE llamacpp:requests_processing gauge$/m);
});

Deno.test("POST /v1/embeddings returns a normalized vector per input, as floats or base64", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await json(
    await app.request("/v1/embeddings", post({ model: "x", input: ["hello world", "a cat"] })),
  );
  assert.equal(body.object, "list");
  assert.equal(body.data.length, 2);
  const [a, b] = body.data.map((d: Json) => d.embedding as number[]);
  assert.equal(a.length, 64);
  assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-4);
  assert.notDeepEqual(a, b);
  assert.ok(body.usage.prompt_tokens > 2);
  const b64 = await json(
    await app.request("/v1/embeddings", post({ input: "hello world", encoding_format: "base64" })),
  );
  const bytes = Uint8Array.from(atob(b64.data[0].embedding), (ch) => ch.charCodeAt(0));
  const floats = Array.from(new Float32Array(bytes.buffer));
  assert.deepEqual(floats.map((x) => x.toFixed(5)), a.map((x: number) => x.toFixed(5)));
});

Deno.test("bad requests answer 400 with an OpenAI error naming the field", async () => {
  await using t = await testEngine({ contextSize: 256, parallel: 1 });
  const app = createApp({ state: t.state });
  const chat = (body: unknown) => app.request("/v1/chat/completions", post(body));
  await expectError(
    await chat("{not json"),
    400,
    "invalid_request_error",
    /Cannot parse the request body as JSON/,
  );
  await expectError(
    await chat({ model: "x" }),
    400,
    "invalid_request_error",
    /^messages is required$/,
    "messages",
  );
  await expectError(
    await chat({ messages: "hi" }),
    400,
    "invalid_request_error",
    /messages must be an array/,
    "messages",
  );
  await expectError(
    await chat({ messages: [{ role: "wizard", content: "x" }] }),
    400,
    "invalid_request_error",
    /role must be one of/,
  );
  await expectError(
    await chat({ messages: [{ role: "user" }] }),
    400,
    "invalid_request_error",
    /content is required/,
  );
  await expectError(
    await chat({ ...CHAT, temperature: 3 }),
    400,
    "invalid_request_error",
    /^temperature must be between 0 and 2, got 3$/,
    "temperature",
  );
  await expectError(
    await chat({ ...CHAT, n: 17 }),
    400,
    "invalid_request_error",
    /^n must be an integer from 1 to 16/,
    "n",
  );
  await expectError(
    await chat({ ...CHAT, max_tokens: -5 }),
    400,
    "invalid_request_error",
    /^max_tokens must be -1/,
    "max_tokens",
  );
  await expectError(
    await chat({ ...CHAT, top_logprobs: 2 }),
    400,
    "invalid_request_error",
    /requires logprobs/,
  );
  await expectError(
    await chat({ ...CHAT, logit_bias: { "99999": 1 } }),
    400,
    "invalid_request_error",
    /outside the vocabulary/,
    "logit_bias",
  );
  await expectError(
    await chat({ ...CHAT, stream: true, grammar: "root ::= nope" }),
    400,
    "invalid_request_error",
    /grammar/i,
    "grammar",
  );
  await expectError(
    await app.request("/completion", post({ prompt: [1, 99999], n_predict: 1 })),
    400,
    "invalid_request_error",
    /prompt\[1\] is token 99999, outside the vocabulary \(0\.\.511\)/,
    "prompt",
  );
  await expectError(
    await app.request("/detokenize", post({ tokens: [-1] })),
    400,
    "invalid_request_error",
    /outside the vocabulary/,
  );
  const long = "Once upon a time there was a cat. ".repeat(40);
  const tooLong = await expectError(
    await chat({ messages: [{ role: "user", content: long }] }),
    400,
    "exceed_context_size_error",
    /slot's context holds 256/,
  );
  assert.ok(tooLong.error.n_prompt_tokens > 256);
  await expectError(await app.request("/v2/nothing"), 404, "not_found_error", /GET \/v2\/nothing/);
});

Deno.test("a 500 names the request id and hides the cause", async () => {
  const state = new class extends ServerState {
    override engine(): never {
      throw new Error("secret detail at /home/user/model.gguf");
    }
  }({ modelName: "m", defaults: DEFAULTS, startedAt: 1 });
  const app = createApp({ state });
  const logged: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    const response = await app.request("/v1/chat/completions", post(CHAT));
    const id = response.headers.get("x-request-id")!;
    const body = await expectError(response, 500, "server_error", new RegExp(`request id ${id}`));
    assert.doesNotMatch(JSON.stringify(body), /secret|\/home|at /);
    assert.match(String(logged[0]), new RegExp(`${id}.*secret detail`));
  } finally {
    console.error = original;
  }
});

Deno.test("apiKeyAuth() wants Bearer or X-Api-Key, leaves /health and / open", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { apiKey: "sk-1" } });
  await expectError(
    await app.request("/v1/models"),
    401,
    "authentication_error",
    /Invalid API Key/,
  );
  await expectError(
    await app.request("/v1/models", { headers: { Authorization: "Bearer sk-2" } }),
    401,
    "authentication_error",
    /Invalid API Key/,
  );
  assert.equal(
    (await app.request("/v1/models", { headers: { Authorization: "Bearer sk-1" } })).status,
    200,
  );
  assert.equal((await app.request("/v1/models", { headers: { "X-Api-Key": "sk-1" } })).status, 200);
  assert.equal((await app.request("/health")).status, 200);
  assert.equal((await app.request("/")).status, 200);
});

Deno.test("hostCheck() refuses a foreign Host header (DNS rebinding)", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { allowedHosts: ["myhost.lan"] } });
  const get = (host: string) => app.request("http://x/health", { headers: { Host: host } });
  await expectError(
    await get("evil.example:8080"),
    403,
    "permission_error",
    /Host "evil.example:8080" is not allowed/,
  );
  for (const host of ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "myhost.lan:8080"]) {
    assert.equal((await get(host)).status, 200, host);
  }
  const open = createApp({ state: t.state, options: { allowedHosts: ["0.0.0.0"] } });
  assert.equal(
    (await open.request("http://x/health", { headers: { Host: "evil.example" } })).status,
    200,
  );
});

Deno.test("corsPolicy() allows loopback and listed origins only", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { corsOrigins: ["https://app.example"] } });
  const get = (origin: string) =>
    app.request("http://localhost:8080/health", { headers: { Origin: origin } });
  await expectError(
    await get("https://evil.example"),
    403,
    "permission_error",
    /Origin "https:\/\/evil.example" is not allowed/,
  );
  for (const origin of ["http://localhost:3000", "http://127.0.0.1:8080", "https://app.example"]) {
    const response = await get(origin);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), origin);
  }
  const preflight = await app.request("http://localhost:8080/v1/chat/completions", {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
  });
  // A preflight answers 200, as llama.cpp's; one from a foreign origin allows no origin.
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
  const evil = await app.request("http://localhost:8080/v1/chat/completions", {
    method: "OPTIONS",
    headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
  });
  assert.equal(evil.status, 200);
  assert.equal(evil.headers.get("access-control-allow-origin"), null);
});

Deno.test("bodyLimit() refuses a body larger than a lying Content-Length", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { bodyLimit: 1000 } });
  const big = JSON.stringify({ content: "x".repeat(5000) });
  const lying = new Request("http://localhost/tokenize", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Content-Length": "10" },
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    }),
  });
  await expectError(
    await app.request(lying),
    413,
    "payload_too_large_error",
    /larger than the limit of 1000 bytes/,
  );
  await expectError(
    await app.request("/tokenize", post(big, { "Content-Length": String(big.length) })),
    413,
    "payload_too_large_error",
    /limit/,
  );
  assert.equal((await app.request("/tokenize", post({ content: "small" }))).status, 200);
});

Deno.test("deadline() answers 408 when generation outlives --timeout", async () => {
  await using t = await testEngine({ contextSize: 4096, parallel: 1 });
  const app = createApp({ state: t.state, options: { timeoutMs: 30 } });
  await expectError(
    await app.request("/completion", post({ prompt: "Once", n_predict: 4000, ignore_eos: true })),
    408,
    "timeout_error",
    /--timeout/,
  );
  assert.equal(t.engine.scheduler.stats().busy, 0);
});

Deno.test("a full queue answers 503 with Retry-After", async () => {
  await using t = await testEngine({ parallel: 1, queueLimit: 0 });
  const app = createApp({ state: t.state });
  const first = await app.request(
    "/completion",
    post({ prompt: "Once", n_predict: 900, ignore_eos: true, stream: true }),
  );
  const reader = first.body!.getReader();
  await reader.read();
  const second = await app.request("/completion", post({ prompt: "Once", n_predict: 2 }));
  await expectError(second, 503, "unavailable_error", /queue is full/);
  assert.equal(second.headers.get("retry-after"), "1");
  await reader.cancel();
  while (t.engine.scheduler.stats().busy > 0) await new Promise((r) => setTimeout(r, 5));
});

Deno.test("POST /v1/chat/completions passes tools to templates that read them, refuses them otherwise", async () => {
  const tools = [{
    type: "function",
    function: { name: "get_weather", parameters: { type: "object" } },
  }];
  {
    await using t = await testEngine();
    const app = createApp({ state: t.state });
    await expectError(
      await app.request("/v1/chat/completions", post({ ...CHAT, tools })),
      400,
      "invalid_request_error",
      /tools are not supported: the chat template \(model\) does not use them/,
      "tools",
    );
  }
  await using t = await testEngine({
    chatTemplate:
      "{% if tools %}Tools:{% for tool in tools %} {{ tool.function.name }}{% endfor %}\n{% endif %}" +
      "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:",
  });
  const app = createApp({ state: t.state });
  const plain = await json(
    await app.request("/v1/chat/completions", post({ ...CHAT, max_tokens: 1 })),
  );
  const withTools = await json(
    await app.request("/v1/chat/completions", post({ ...CHAT, max_tokens: 1, tools })),
  );
  const extra = t.model.tokenize("Tools: get_weather\n", { addSpecial: false }).length;
  assert.ok(Math.abs(withTools.usage.prompt_tokens - plain.usage.prompt_tokens - extra) <= 1);
  await expectError(
    await app.request("/v1/chat/completions", post({ ...CHAT, tools, grammar: 'root ::= "x"' })),
    400,
    "invalid_request_error",
    /cannot be combined with tools/,
  );
});

Deno.test("POST /v1/chat/completions answers 400 when the template raises an exception", async () => {
  await using t = await testEngine({
    chatTemplate: "{{ raise_exception('Conversation roles must alternate') }}",
  });
  const app = createApp({ state: t.state });
  await expectError(
    await app.request("/v1/chat/completions", post(CHAT)),
    400,
    "invalid_request_error",
    /Conversation roles must alternate/,
    "messages",
  );
});

Deno.test("max_tokens 0 evaluates nothing and answers an empty completion", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await json(
    await app.request("/v1/chat/completions", post({ ...CHAT, max_tokens: 0 })),
  );
  assert.equal(body.choices[0].message.content, "");
  assert.equal(body.usage.completion_tokens, 0);
  assert.ok(body.usage.prompt_tokens > 0);
});

Deno.test("--help's SERVER ENDPOINTS name routes the app serves", async () => {
  const app = createApp({
    state: new ServerState({ modelName: "m", defaults: DEFAULTS, startedAt: 1 }),
  });
  const text = helpText("test");
  const section = text.slice(text.indexOf("SERVER ENDPOINTS"), text.indexOf("EXIT STATUS"))
    .replace(/,\n\s+/g, ", ");
  const named = [...section.matchAll(/((?:GET|POST|DELETE)(?:, (?:GET|POST|DELETE))*) ([^;\n]+)/g)];
  let checked = 0;
  for (const [, methods, paths] of named) {
    for (const path of paths!.split(/,\s*/).map((p) => p.trim()).filter((p) => p.startsWith("/"))) {
      for (const method of methods!.split(", ")) {
        const url = path.replace("/ID", "/resp_x");
        const response = await app.request(url, { method, body: method === "POST" ? "{}" : null });
        const body = await response.text();
        assert.doesNotMatch(body, /no such endpoint/, `${method} ${url}`);
        assert.notEqual(response.status, 405, `${method} ${url}`);
        checked++;
      }
    }
  }
  assert.equal(checked, 28);
});
