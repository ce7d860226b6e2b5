/**
 * Hostile numbers and methods (issue 11, "500s for bad input"): every numeric field of every
 * endpoint has a declared range before it reaches libllama, and a method a route does not take
 * answers 405, never a 500. Each case is named after the attack, on the real ChatML test model.
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { post, testEngine } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const MESSAGES = [{ role: "user", content: "Hi" }];

/** [path, what the attack is, body, the field the 400 must name]. */
const NUMBER_ATTACKS: [string, string, Json, string][] = [
  ["/completion", "top_k 1e12", { prompt: "Once", top_k: 1e12 }, "top_k"],
  ["/completion", "top_k 1e400 (Infinity)", { prompt: "Once", top_k: "1e400" }, "top_k"],
  ["/completion", "n_probs 1e9", { prompt: "Once", n_probs: 1e9 }, "n_probs"],
  ["/completion", "n_predict 1e12", { prompt: "Once", n_predict: 1e12 }, "n_predict"],
  ["/completion", "seed beyond u32 (2^40)", { prompt: "Once", seed: 2 ** 40 }, "seed"],
  ["/completion", "seed -2", { prompt: "Once", seed: -2 }, "seed"],
  ["/completion", "repeat_last_n 1e12", { prompt: "Once", repeat_last_n: 1e12 }, "repeat_last_n"],
  ["/completion", "id_slot 1e12", { prompt: "Once", id_slot: 1e12 }, "id_slot"],
  ["/completion", "mirostat 3", { prompt: "Once", mirostat: 3 }, "mirostat"],
  ["/completion", "mirostat_tau 1e300", { prompt: "Once", mirostat_tau: 1e300 }, "mirostat_tau"],
  ["/completion", "temperature 1e300", { prompt: "Once", temperature: 1e300 }, "temperature"],
  ["/completion", "repeat_penalty -1", { prompt: "Once", repeat_penalty: -1 }, "repeat_penalty"],
  [
    "/completion",
    "presence_penalty 1e300",
    { prompt: "Once", presence_penalty: 1e300 },
    "presence_penalty",
  ],
  [
    "/completion",
    "a logit_bias token id 1e12",
    { prompt: "Once", logit_bias: [[1e12, 1]] },
    "logit_bias",
  ],
  [
    "/completion",
    'a logit_bias key "4294967296"',
    { prompt: "Once", logit_bias: { "4294967296": 1 } },
    "logit_bias",
  ],
  [
    "/completion",
    "a logit_bias of 1e300",
    { prompt: "Once", logit_bias: [[5, 1e300]] },
    "logit_bias",
  ],
  ["/completion", "a prompt token id 1e12", { prompt: [1e12] }, "prompt"],
  ["/completion", "a prompt token id -1", { prompt: ["Once", -1] }, "prompt"],
  ["/v1/completions", "max_tokens 1e12", { prompt: "Once", max_tokens: 1e12 }, "max_tokens"],
  ["/v1/completions", "logprobs 1e9", { prompt: "Once", logprobs: 1e9 }, "logprobs"],
  ["/v1/completions", "best_of 1e9", { prompt: "Once", best_of: 1e9 }, "best_of"],
  ["/v1/chat/completions", "top_k 1e12", { messages: MESSAGES, top_k: 1e12 }, "top_k"],
  [
    "/v1/chat/completions",
    "max_completion_tokens 1e12",
    { messages: MESSAGES, max_completion_tokens: 1e12 },
    "max_completion_tokens",
  ],
  [
    "/v1/chat/completions",
    "top_logprobs 1e9",
    { messages: MESSAGES, logprobs: true, top_logprobs: 1e9 },
    "top_logprobs",
  ],
  ["/v1/chat/completions", "n 1e9", { messages: MESSAGES, n: 1e9 }, "n"],
  ["/v1/chat/completions", "seed 1.5", { messages: MESSAGES, seed: 1.5 }, "seed"],
  ["/tokenize", "a token id 1e12 in content", { content: ["a", 1e12] }, "content"],
  ["/detokenize", "token id 1e12", { tokens: [1e12] }, "tokens"],
  ["/detokenize", "token id 1.5", { tokens: [1.5] }, "tokens"],
  ["/v1/embeddings", "a token id 1e12 in input", { input: [1e12] }, "input"],
  ["/v1/embeddings", "dimensions 1e12", { input: "hi", dimensions: 1e12 }, "dimensions"],
  [
    "/v1/messages",
    "max_tokens 1e12",
    { model: "m", max_tokens: 1e12, messages: MESSAGES },
    "max_tokens",
  ],
  [
    "/v1/messages",
    "top_k 1e12",
    { model: "m", max_tokens: 4, top_k: 1e12, messages: MESSAGES },
    "top_k",
  ],
  ["/v1/responses", "max_output_tokens 1e12", { input: "Hi", max_output_tokens: 1e12 }, ""],
  ["/v1/responses", "top_logprobs 1e9", { input: "Hi", top_logprobs: 1e9 }, ""],
  ["/v1/responses", "seed 2^40", { input: "Hi", seed: 2 ** 40 }, ""],
];

for (const [path, attack, body, field] of NUMBER_ATTACKS) {
  Deno.test(`POST ${path} with ${attack} answers 400, not 500`, async () => {
    await using t = await testEngine({ parallel: 1 });
    const app = createApp({ state: t.state });
    // "1e400" as a JSON number, which JSON.parse reads as Infinity.
    const text = JSON.stringify(body).replace('"1e400"', "1e400");
    const response = await app.request(path, post(text));
    assert.equal(response.status, 400, await response.clone().text());
    const json = await response.json() as Json;
    if (path === "/v1/messages") {
      assert.equal(json.type, "error");
      assert.equal(json.error.type, "invalid_request_error");
      assert.match(json.error.message, new RegExp(`^${field}`));
    } else {
      assert.equal(json.error.type, "invalid_request_error");
      const name = field === "" ? Object.keys(body).at(-1)! : field;
      assert.equal(json.error.param, name, json.error.message);
      assert.match(json.error.message, new RegExp(`^${name}`));
    }
    // The server still serves.
    const ok = await app.request("/completion", post({ prompt: "Once", n_predict: 2 }));
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });
}

/** The routes and the methods each takes. */
const ROUTES: [string, string[]][] = [
  ["/", ["GET"]],
  ["/health", ["GET"]],
  ["/v1/models", ["GET"]],
  ["/v1/chat/completions", ["POST"]],
  ["/v1/completions", ["POST"]],
  ["/completion", ["POST"]],
  ["/v1/messages", ["POST"]],
  ["/v1/messages/count_tokens", ["POST"]],
  ["/v1/responses", ["POST"]],
  ["/v1/responses/input_tokens", ["POST"]],
  ["/v1/responses/resp_x", ["GET", "DELETE"]],
  ["/v1/embeddings", ["POST"]],
  ["/tokenize", ["POST"]],
  ["/detokenize", ["POST"]],
  ["/metrics", ["GET"]],
  ["/slots", ["GET"]],
  ["/props", ["GET", "POST"]],
];

Deno.test("PUT, PATCH, DELETE and OPTIONS on a route that does not take them answer 405 with Allow, not 404 or 500", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  for (const [path, methods] of ROUTES) {
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      if (methods.includes(method)) continue;
      const response = await app.request(path, { method, body: method === "GET" ? null : "{}" });
      assert.equal(response.status, 405, `${method} ${path}`);
      const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
      assert.equal(response.headers.get("allow"), allow, `${method} ${path}`);
      const json = await response.json() as Json;
      const error = json.error;
      assert.equal(error.type, "invalid_request_error", `${method} ${path}`);
      assert.match(error.message, new RegExp(`^Cannot ${method} `));
      if (path.startsWith("/v1/messages")) assert.equal(json.type, "error");
    }
  }
});

/** Sends `request` raw over TCP and returns the status line's code. */
async function rawStatus(port: number, request: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

Deno.test("TRACE and TRACK on any route answer 405 (404 off the routes), with or without a body, not 500", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const port = server.addr.port;
  try {
    for (const method of ["TRACE", "TRACK"]) {
      for (const [path] of ROUTES) {
        const withBody =
          `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
        assert.equal(await rawStatus(port, withBody), 405, `${method} ${path} with a body`);
        const bare = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
        assert.equal(await rawStatus(port, bare), 405, `${method} ${path}`);
      }
      const unknown =
        `${method} /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
      assert.equal(await rawStatus(port, unknown), 404);
    }
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("POST /completion with curl's default form Content-Type is read as JSON", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const response = await app.request("/completion", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: JSON.stringify({ prompt: "Once", n_predict: 2, temperature: 0 }),
  });
  assert.equal(response.status, 200);
  assert.equal((await response.json() as Json).tokens_predicted, 2);
});

Deno.test("POST /v1/messages and /v1/responses with a 2 MB message answer exceed_context_size_error before tokenizing it", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const text = "word ".repeat(400_000);
  const started = performance.now();
  const messages = await app.request(
    "/v1/messages",
    post({ model: "m", max_tokens: 4, messages: [{ role: "user", content: text }] }),
  );
  assert.equal(messages.status, 400);
  const anthropic = await messages.json() as Json;
  assert.equal(anthropic.type, "error");
  assert.match(anthropic.error.message, /the prompt is at least \d+ tokens/);
  const responses = await app.request("/v1/responses", post({ input: text }));
  assert.equal(responses.status, 400);
  const openai = await responses.json() as Json;
  assert.equal(openai.error.type, "exceed_context_size_error");
  assert.equal(openai.error.param, "input");
  const counted = await app.request(
    "/v1/messages/count_tokens",
    post({ model: "m", messages: [{ role: "user", content: text }] }),
  );
  assert.equal(counted.status, 400);
  await counted.body?.cancel();
  console.log(`three 2 MB requests refused in ${(performance.now() - started).toFixed(0)} ms`);
});

Deno.test("a chat template that would fill the heap answers 400 and the server stays up", async () => {
  // range(100000000) used to fill V8's heap: a fatal out-of-memory that ended the server.
  await using t = await testEngine({
    parallel: 1,
    chatTemplate: "{% for i in range(100000000) %}{{ i }}{% endfor %}",
  });
  const app = createApp({ state: t.state });
  const response = await app.request(
    "/v1/chat/completions",
    post({ messages: [{ role: "user", content: "Hi" }], max_tokens: 2 }),
  );
  assert.equal(response.status, 400, await response.clone().text());
  const json = await response.json() as Json;
  assert.equal(json.error.type, "invalid_request_error");
  assert.match(json.error.message, /a list of 100000000 items, more than the 1000000 allowed/);
  const ok = await app.request("/completion", post({ prompt: "Once", n_predict: 2 }));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});
