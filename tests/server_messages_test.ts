/**
 * The Anthropic Messages API through `app.request` (no socket), on the real ChatML test model
 * with one thread: shapes, the streamed event order, stop sequences, tools, token counts, and
 * Anthropic-shaped errors from the schemas and the middleware alike.
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { post, testEngine, TOOLS_TEMPLATE } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const ASK = {
  model: "claude-test",
  max_tokens: 12,
  temperature: 0,
  messages: [{ role: "user", content: "Tell me a story." }],
};

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
    required: ["city"],
  },
};

/** The `event:` names and data of an SSE body. */
function namedEvents(text: string): { event: string; data: Json }[] {
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
    const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
    return { event, data };
  });
}

async function anthropicError(response: Response, status: number, message: RegExp) {
  assert.equal(response.status, status);
  const body = await response.json() as Json;
  assert.deepEqual(Object.keys(body), ["type", "error"]);
  assert.equal(body.type, "error");
  assert.match(body.error.message, message);
  return body.error as Json;
}

Deno.test("POST /v1/messages answers a message with text content, stop_reason and usage", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const response = await app.request("/v1/messages", post(ASK));
  assert.equal(response.status, 200);
  const body = await response.json() as Json;
  assert.match(body.id, /^msg_[A-Za-z0-9]{24}$/);
  assert.equal(body.type, "message");
  assert.equal(body.role, "assistant");
  assert.equal(body.model, "claude-test");
  assert.equal(body.content.length, 1);
  assert.equal(body.content[0].type, "text");
  assert.ok(body.content[0].text.length > 0);
  assert.equal(body.stop_reason, "max_tokens");
  assert.equal(body.stop_sequence, null);
  assert.equal(body.usage.output_tokens, 12);
  assert.ok(body.usage.input_tokens > 5);
  // The same conversation through chat completions gives the same text and prompt.
  const chat = await (await app.request(
    "/v1/chat/completions",
    post({ messages: ASK.messages, max_tokens: 12, temperature: 0 }),
  )).json() as Json;
  assert.equal(chat.choices[0].message.content, body.content[0].text);
  assert.equal(
    chat.usage.prompt_tokens,
    body.usage.input_tokens + body.usage.cache_read_input_tokens,
  );
});

Deno.test("POST /v1/messages puts system first and renders multi-turn conversations like chat completions", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const turns = [
    { role: "user", content: "Hi" },
    { role: "assistant", content: [{ type: "text", text: "Hello." }] },
    { role: "user", content: [{ type: "text", text: "A story?" }] },
  ];
  const count = await (await app.request(
    "/v1/messages/count_tokens",
    post({ model: "m", system: "You tell stories.", messages: turns }),
  )).json() as Json;
  const chat = await (await app.request(
    "/v1/chat/completions",
    post({
      messages: [
        { role: "system", content: "You tell stories." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "A story?" },
      ],
      max_tokens: 0,
    }),
  )).json() as Json;
  assert.equal(count.input_tokens, chat.usage.prompt_tokens);
  const plain = await (await app.request(
    "/v1/messages/count_tokens",
    post({ model: "m", messages: turns }),
  )).json() as Json;
  assert.ok(plain.input_tokens < count.input_tokens);
});

Deno.test("POST /v1/messages streams message_start, ping, content blocks, message_delta and message_stop in order", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const whole = await (await app.request("/v1/messages", post(ASK))).json() as Json;
  const response = await app.request("/v1/messages", post({ ...ASK, stream: true }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /text\/event-stream/);
  const events = namedEvents(await response.text());
  const names = events.map((e) => e.event);
  assert.deepEqual(names.slice(0, 3), ["message_start", "ping", "content_block_start"]);
  assert.deepEqual(names.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
  assert.ok(names.slice(3, -3).every((n) => n === "content_block_delta"));
  for (const { event, data } of events) assert.equal(data.type, event);
  const start = events[0]!.data.message;
  assert.equal(start.id.startsWith("msg_"), true);
  assert.deepEqual(start.content, []);
  assert.equal(start.stop_reason, null);
  const text = events.filter((e) => e.event === "content_block_delta")
    .map((e) => e.data.delta.text).join("");
  assert.equal(text, whole.content[0].text);
  const delta = events.at(-2)!.data;
  assert.equal(delta.delta.stop_reason, "max_tokens");
  assert.equal(delta.usage.output_tokens, 12);
});

Deno.test("POST /v1/messages stops at a stop sequence with stop_reason stop_sequence", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const free = await (await app.request("/v1/messages", post({ ...ASK, max_tokens: 30 }))).json();
  const text = free.content[0].text as string;
  const stop = text.slice(6, 9);
  const stopped = await (await app.request(
    "/v1/messages",
    post({ ...ASK, max_tokens: 30, stop_sequences: [stop] }),
  )).json() as Json;
  assert.equal(stopped.stop_reason, "stop_sequence");
  assert.equal(stopped.stop_sequence, stop);
  assert.equal(stopped.content[0].text, text.slice(0, text.indexOf(stop)));
});

Deno.test("POST /v1/messages with tool_choice tool answers tool_use, then continues from a tool_result turn", async () => {
  await using t = await testEngine({ chatTemplate: TOOLS_TEMPLATE });
  const app = createApp({ state: t.state });
  const ask = {
    ...ASK,
    max_tokens: 200,
    tools: [WEATHER],
    messages: [{ role: "user", content: "What is the weather in Oslo?" }],
  };
  const call = await (await app.request(
    "/v1/messages",
    post({ ...ask, tool_choice: { type: "tool", name: "get_weather" } }),
  )).json() as Json;
  assert.equal(call.stop_reason, "tool_use");
  const use = call.content.at(-1);
  assert.equal(use.type, "tool_use");
  assert.match(use.id, /^toolu_/);
  assert.equal(use.name, "get_weather");
  assert.ok(["Paris", "Oslo"].includes(use.input.city), JSON.stringify(use.input));
  const answer = await (await app.request(
    "/v1/messages",
    post({
      ...ask,
      max_tokens: 8,
      messages: [
        ...ask.messages,
        { role: "assistant", content: call.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: use.id, content: "-3 C and snow" }],
        },
      ],
    }),
  )).json() as Json;
  assert.equal(answer.type, "message");
  assert.equal(answer.content[0].type, "text");
  assert.ok(answer.usage.cache_read_input_tokens > 0, "the turn before stays in the slot");
  // Streamed, the call arrives as a tool_use block with its input as one input_json_delta.
  // (A named tool is called at once; with "any", as with llama.cpp's "required", text may come
  // first, which this story model writes instead of a call.)
  const streamed = namedEvents(
    await (await app.request(
      "/v1/messages",
      post({ ...ask, stream: true, tool_choice: { type: "tool", name: "get_weather" } }),
    )).text(),
  );
  const block = streamed.find((e) => e.event === "content_block_start")!.data.content_block;
  assert.equal(block.type, "tool_use");
  assert.deepEqual(block.input, {});
  const json = streamed.find((e) => e.data.delta?.type === "input_json_delta")!.data.delta;
  assert.deepEqual(JSON.parse(json.partial_json), use.input);
  assert.equal(streamed.at(-2)!.data.delta.stop_reason, "tool_use");
});

Deno.test("POST /v1/messages/count_tokens counts the prompt /v1/messages evaluates", async () => {
  await using t = await testEngine({ chatTemplate: TOOLS_TEMPLATE, parallel: 1 });
  const app = createApp({ state: t.state });
  const prompt = { system: "Be brief.", messages: ASK.messages, tools: [WEATHER] };
  const counted = await (await app.request(
    "/v1/messages/count_tokens",
    post({ model: "m", ...prompt }),
  )).json() as Json;
  assert.deepEqual(Object.keys(counted), ["input_tokens"]);
  const used = await (await app.request(
    "/v1/messages",
    post({ ...ASK, ...prompt, max_tokens: 1 }),
  )).json() as Json;
  assert.equal(counted.input_tokens, used.usage.input_tokens + used.usage.cache_read_input_tokens);
});

Deno.test("POST /v1/messages answers bad requests with Anthropic-shaped 4xx errors and keeps serving", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const send = (body: unknown) => app.request("/v1/messages", post(body));
  const { max_tokens: _, ...noMax } = ASK;
  const missing = await anthropicError(await send(noMax), 400, /^max_tokens is required$/);
  assert.equal(missing.type, "invalid_request_error");
  await anthropicError(
    await send({ ...ASK, system: { text: "x" } }),
    400,
    /^system must be a string or an array of text blocks, got an object$/,
  );
  await anthropicError(
    await send({ ...ASK, messages: [{ role: "user", content: [{ type: "hologram" }] }] }),
    400,
    /^messages\[0\]\.content\[0\]\.type "hologram" is not a content block type/,
  );
  await anthropicError(
    await send({
      ...ASK,
      messages: [{
        role: "user",
        content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "" } }],
      }],
    }),
    400,
    /image input is not supported by this model/,
  );
  await anthropicError(await send("{not json"), 400, /^Cannot parse the request body as JSON/);
  await anthropicError(
    await app.request("/v1/messages", { method: "GET" }),
    405,
    /^Cannot GET \/v1\/messages: the endpoint takes POST$/,
  );
  const ok = await send(ASK);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json() as Json).type, "message");
});

Deno.test("the API key check and the body limit answer Anthropic-shaped errors on /v1/messages, OpenAI-shaped elsewhere", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state, options: { apiKey: "sk-test", bodyLimit: 2000 } });
  const wrong = await anthropicError(
    await app.request("/v1/messages", post(ASK, { "x-api-key": "nope" })),
    401,
    /Invalid API Key/,
  );
  assert.equal(wrong.type, "authentication_error");
  const big = await anthropicError(
    await app.request(
      "/v1/messages",
      post({ ...ASK, system: "x".repeat(3000) }, { "x-api-key": "sk-test" }),
    ),
    413,
    /larger than the limit/,
  );
  assert.equal(big.type, "request_too_large");
  const openai = await app.request("/v1/chat/completions", post({}, { "x-api-key": "nope" }));
  assert.equal(openai.status, 401);
  assert.equal((await openai.json() as Json).error.type, "authentication_error");
  const right = await app.request("/v1/messages", post(ASK, { "x-api-key": "sk-test" }));
  assert.equal(right.status, 200);
  await right.body?.cancel();
});

Deno.test("a /v1/messages stream that outlives --timeout ends with an Anthropic error event", async () => {
  await using t = await testEngine({ contextSize: 4096, parallel: 1 });
  const app = createApp({ state: t.state, options: { timeoutMs: 50 } });
  const response = await app.request(
    "/v1/messages",
    post({ ...ASK, max_tokens: 3000, ignore_eos: true, stream: true }),
  );
  assert.equal(response.status, 200);
  const events = namedEvents(await response.text());
  const last = events.at(-1)!;
  assert.equal(last.event, "error");
  assert.deepEqual(Object.keys(last.data), ["type", "error"]);
  assert.equal(last.data.error.type, "timeout_error");
  assert.ok(!events.some((e) => e.event === "message_stop"));
  while (t.engine.scheduler.stats().busy > 0) await new Promise((r) => setTimeout(r, 5));
});
