/**
 * The OpenAI Responses API through `app.request` (no socket), on the real ChatML test model with
 * one thread: shapes, streamed events, function tools, JSON output, and the store behind
 * `previous_response_id` (continuation, prefix reuse, GET / DELETE, `store: false`, eviction).
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { post, testEngine, TOOLS_TEMPLATE } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const ASK = { model: "gpt-test", input: "Tell me a story.", max_output_tokens: 10, temperature: 0 };

const WEATHER = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
    required: ["city"],
  },
};

/** The `event:` names and data of an SSE body. */
function namedEvents(text: string): { event: string; data: Json }[] {
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => ({
    event: /^event: (.*)$/m.exec(block)?.[1] ?? "",
    data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!),
  }));
}

/** The text of a response's message items. */
function outputText(response: Json): string {
  return response.output.filter((item: Json) => item.type === "message")
    .flatMap((item: Json) => item.content.map((part: Json) => part.text)).join("");
}

async function openaiError(response: Response, status: number, message: RegExp, param?: string) {
  assert.equal(response.status, status);
  const body = await response.json() as Json;
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.match(body.error.message, message);
  if (param !== undefined) assert.equal(body.error.param, param);
  return body.error as Json;
}

Deno.test("POST /v1/responses answers a response with a message item, usage and incomplete_details at the limit", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const body = await (await app.request("/v1/responses", post(ASK))).json() as Json;
  assert.match(body.id, /^resp_[A-Za-z0-9]{32}$/);
  assert.equal(body.object, "response");
  assert.equal(body.model, "gpt-test");
  assert.equal(body.status, "incomplete");
  assert.deepEqual(body.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(body.output.length, 1);
  const message = body.output[0];
  assert.equal(message.type, "message");
  assert.equal(message.role, "assistant");
  assert.match(message.id, /^msg_/);
  assert.equal(message.content[0].type, "output_text");
  assert.equal(body.usage.output_tokens, 10);
  assert.equal(body.usage.total_tokens, body.usage.input_tokens + 10);
  assert.equal(body.store, true);
  assert.equal(body.previous_response_id, null);
  const chat = await (await app.request(
    "/v1/chat/completions",
    post({ messages: [{ role: "user", content: ASK.input }], max_tokens: 10, temperature: 0 }),
  )).json() as Json;
  assert.equal(outputText(body), chat.choices[0].message.content);
  assert.equal(body.usage.input_tokens, chat.usage.prompt_tokens);
});

Deno.test("POST /v1/responses puts instructions first and completes JSON that matches text.format", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const schema = {
    type: "object",
    properties: { mood: { enum: ["happy", "sad"] } },
    required: ["mood"],
    additionalProperties: false,
  };
  const body = await (await app.request(
    "/v1/responses",
    post({
      ...ASK,
      instructions: "Answer in JSON.",
      max_output_tokens: 60,
      text: { format: { type: "json_schema", name: "mood", schema } },
    }),
  )).json() as Json;
  assert.equal(body.status, "completed");
  assert.equal(body.incomplete_details, null);
  assert.equal(body.instructions, "Answer in JSON.");
  assert.ok(["happy", "sad"].includes(JSON.parse(outputText(body)).mood), outputText(body));
});

Deno.test("POST /v1/responses streams response.created … response.incomplete with the text of the whole answer", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const whole = await (await app.request("/v1/responses", post(ASK))).json() as Json;
  const response = await app.request("/v1/responses", post({ ...ASK, stream: true }));
  assert.match(response.headers.get("content-type")!, /text\/event-stream/);
  const events = namedEvents(await response.text());
  const names = events.map((e) => e.event);
  assert.deepEqual(names.slice(0, 4), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
  ]);
  assert.deepEqual(names.slice(-4), [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.incomplete",
  ]);
  assert.ok(names.slice(4, -4).every((n) => n === "response.output_text.delta"));
  events.forEach((e, i) => {
    assert.equal(e.data.type, e.event);
    assert.equal(e.data.sequence_number, i);
  });
  const text = events.filter((e) => e.event === "response.output_text.delta")
    .map((e) => e.data.delta).join("");
  assert.equal(text, outputText(whole));
  assert.equal(events.at(-4)!.data.text, text);
  const final = events.at(-1)!.data.response;
  assert.equal(final.status, "incomplete");
  assert.equal(outputText(final), text);
  assert.equal(final.usage.output_tokens, 10);
});

Deno.test("POST /v1/responses with a named function tool answers a function_call, then continues from its output", async () => {
  await using t = await testEngine({ chatTemplate: TOOLS_TEMPLATE });
  const app = createApp({ state: t.state });
  const call = await (await app.request(
    "/v1/responses",
    post({
      ...ASK,
      input: "What is the weather in Oslo?",
      max_output_tokens: 200,
      tools: [WEATHER],
      // named: the call comes at once ("required", as in llama.cpp, lets text come first)
      tool_choice: { type: "function", name: "get_weather" },
    }),
  )).json() as Json;
  assert.equal(call.status, "completed");
  const item = call.output.at(-1);
  assert.equal(item.type, "function_call");
  assert.match(item.call_id, /^call_/);
  assert.match(item.id, /^fc_/);
  assert.equal(item.name, "get_weather");
  assert.ok(["Paris", "Oslo"].includes(JSON.parse(item.arguments).city), item.arguments);
  const answer = await (await app.request(
    "/v1/responses",
    post({
      ...ASK,
      previous_response_id: call.id,
      input: [{ type: "function_call_output", call_id: item.call_id, output: "-3 C" }],
      tools: [WEATHER],
    }),
  )).json() as Json;
  assert.equal(answer.output[0].type, "message");
  assert.ok(answer.usage.input_tokens_details.cached_tokens > call.usage.input_tokens / 2);
  // Streamed: the call arrives as output_item.added, arguments delta and done, output_item.done.
  const events = namedEvents(
    await (await app.request(
      "/v1/responses",
      post({
        ...ASK,
        input: "Weather?",
        max_output_tokens: 200,
        tools: [WEATHER],
        tool_choice: { type: "function", name: "get_weather" },
        stream: true,
      }),
    )).text(),
  );
  assert.deepEqual(events.map((e) => e.event), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const done = events[4]!.data;
  assert.equal(done.name, "get_weather");
  assert.equal(done.arguments, events[3]!.data.delta);
});

Deno.test("previous_response_id continues a three-turn conversation from the slot's cached prefix", async () => {
  await using t = await testEngine({ parallel: 1 });
  const app = createApp({ state: t.state });
  const turns = ["Tell me a story.", "What happened next?", "How did it end?"];
  const responses: Json[] = [];
  for (const input of turns) {
    const previous = responses.at(-1);
    responses.push(
      await (await app.request(
        "/v1/responses",
        post({
          ...ASK,
          input,
          instructions: "You tell stories.",
          ...(previous && { previous_response_id: previous.id }),
        }),
      )).json() as Json,
    );
  }
  const [first, second, third] = responses as [Json, Json, Json];
  assert.equal(second.previous_response_id, first.id);
  assert.equal(third.previous_response_id, second.id);
  // Each turn's prompt is the one before, its answer and the new input.
  assert.ok(second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens);
  assert.ok(third.usage.input_tokens > second.usage.input_tokens + second.usage.output_tokens);
  // Only the new turn is evaluated: the rest comes from the slot.
  for (const [before, after] of [[first, second], [second, third]] as const) {
    const cached = after.usage.input_tokens_details.cached_tokens;
    assert.ok(
      cached >= before.usage.input_tokens,
      `cached ${cached} of ${after.usage.input_tokens}, previous prompt ${before.usage.input_tokens}`,
    );
  }
  // The same conversation sent whole renders the same prompt.
  const whole = await (await app.request(
    "/v1/responses/input_tokens",
    post({
      instructions: "You tell stories.",
      input: [
        { role: "user", content: turns[0] },
        { role: "assistant", content: outputText(first) },
        { role: "user", content: turns[1] },
        { role: "assistant", content: outputText(second) },
        { role: "user", content: turns[2] },
      ],
    }),
  )).json() as Json;
  assert.deepEqual(whole, {
    object: "response.input_tokens",
    input_tokens: third.usage.input_tokens,
  });
  const continued = await (await app.request(
    "/v1/responses/input_tokens",
    post({ instructions: "You tell stories.", previous_response_id: second.id, input: turns[2] }),
  )).json() as Json;
  assert.equal(continued.input_tokens, third.usage.input_tokens);
});

Deno.test("GET and DELETE /v1/responses/{id} read and forget a stored response; store false keeps nothing", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const made = await (await app.request("/v1/responses", post(ASK))).json() as Json;
  const read = await app.request(`/v1/responses/${made.id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(await read.json(), made);
  const deleted = await app.request(`/v1/responses/${made.id}`, { method: "DELETE" });
  assert.deepEqual(await deleted.json(), { id: made.id, object: "response", deleted: true });
  await openaiError(await app.request(`/v1/responses/${made.id}`), 404, /not found/);
  await openaiError(
    await app.request(`/v1/responses/${made.id}`, { method: "DELETE" }),
    404,
    /not found/,
  );
  await openaiError(
    await app.request("/v1/responses", post({ ...ASK, previous_response_id: made.id })),
    400,
    /^Previous response with id "resp_[A-Za-z0-9]+" not found/,
    "previous_response_id",
  );
  const unstored = await (await app.request("/v1/responses", post({ ...ASK, store: false })))
    .json() as Json;
  assert.equal(unstored.store, false);
  await openaiError(await app.request(`/v1/responses/${unstored.id}`), 404, /not found/);
});

Deno.test("a previous_response_id evicted from the bounded store answers 400, and the server keeps serving", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state, options: { responseStore: { maxCount: 2 } } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await (await app.request("/v1/responses", post(ASK))).json() as Json).id);
  }
  await openaiError(
    await app.request("/v1/responses", post({ ...ASK, previous_response_id: ids[0] })),
    400,
    /not found: it was never stored, was deleted, or was evicted \(the store keeps 2 responses\)/,
    "previous_response_id",
  );
  const later = await app.request("/v1/responses", post({ ...ASK, previous_response_id: ids[2] }));
  assert.equal(later.status, 200);
  assert.equal((await later.json() as Json).previous_response_id, ids[2]);
});

Deno.test("POST /v1/responses answers bad requests with OpenAI-shaped 400s", async () => {
  await using t = await testEngine({ chatTemplate: TOOLS_TEMPLATE });
  const app = createApp({ state: t.state });
  const send = (body: unknown) => app.request("/v1/responses", post(body));
  await openaiError(await send({ model: "m" }), 400, /^input is required$/, "input");
  await openaiError(
    await send({ ...ASK, previous_response_id: "resp_unknown" }),
    400,
    /^Previous response with id "resp_unknown" not found/,
    "previous_response_id",
  );
  await openaiError(
    await send({ ...ASK, input: [{ type: "image_generation_call" }] }),
    400,
    /^input\[0\]\.type "image_generation_call" is not supported/,
    "input",
  );
  await openaiError(
    await send({ ...ASK, tools: [{ type: "file_search", vector_store_ids: [] }] }),
    400,
    /only function tools are/,
    "tools",
  );
  await openaiError(
    await send({ ...ASK, tools: [WEATHER], tool_choice: { type: "function", name: "other" } }),
    400,
    /"other", which is not among the tools/,
    "tool_choice",
  );
  const ok = await send(ASK);
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});
