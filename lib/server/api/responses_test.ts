import assert from "node:assert/strict";
import { ApiError } from "./errors.ts";
import { ResponseStore } from "./response_store.ts";
import {
  INPUT_TOKENS_REQUEST,
  RESPONSES_REQUEST,
  responsesGeneration,
  responsesTurn,
} from "./responses.ts";
import { type Body, parseRequest } from "./validate.ts";

function fails(fn: () => unknown, message: RegExp, param?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, message);
    if (param !== undefined) assert.equal(error.param, param);
    return true;
  });
}

const parse = (body: Body) => parseRequest(RESPONSES_REQUEST, body);

Deno.test("RESPONSES_REQUEST refuses unknown items, media parts, built-in tools and bad ranges", () => {
  fails(
    () => parse({ input: [{ type: "computer_call", id: "x" }] }),
    /^input\[0\]\.type "computer_call" is not supported: use "message", "function_call"/,
    "input",
  );
  fails(
    () =>
      parse({ input: [{ role: "user", content: [{ type: "input_image", image_url: "data:" }] }] }),
    /^input\[0\]\.content\[0\]: input_image input is not supported by this model$/,
  );
  fails(
    () => parse({ input: "x", tools: [{ type: "web_search" }] }),
    /^tools\[0\]\.type "web_search" is not supported: only function tools are$/,
    "tools",
  );
  fails(() => parse({ input: "x", max_output_tokens: 1e12 }), /^max_output_tokens must be/);
  fails(() => parse({ input: "x", temperature: 2.5 }), /^temperature must be between 0 and 2/);
  fails(
    () => parse({ input: "x", top_logprobs: 21 }),
    /^top_logprobs must be an integer between 0 and 20/,
  );
  fails(() => parse({ input: "x", background: true }), /^background is not supported$/);
  fails(
    () => parse({ input: 5 }),
    /^input must be a string or an array of input items, got a number$/,
  );
});

Deno.test("responsesTurn() maps instructions, messages, function calls and their outputs", () => {
  const body = parse({
    instructions: "Be brief.",
    input: [
      { role: "developer", content: "Use tools." },
      { role: "user", content: [{ type: "input_text", text: "Weather?" }] },
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Checking." }],
      },
      { type: "function_call", call_id: "call_1", name: "get_weather", arguments: "{}" },
      { type: "function_call", call_id: "call_2", name: "get_time", arguments: "{}" },
      { type: "function_call_output", call_id: "call_1", output: "-3C" },
      { type: "reasoning", summary: [] },
    ],
    tools: [{ type: "function", name: "get_weather", parameters: { type: "object" } }],
    tool_choice: { type: "function", name: "get_weather" },
  });
  const turn = responsesTurn(body, new ResponseStore());
  const calls = [
    { id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } },
    { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
  ];
  assert.deepEqual(turn.messages, [
    { role: "system", content: "Be brief." },
    { role: "system", content: "Use tools." },
    { role: "user", content: "Weather?" },
    { role: "assistant", content: "Checking.", tool_calls: calls },
    { role: "tool", tool_call_id: "call_1", content: "-3C" },
  ]);
  assert.deepEqual(turn.history, turn.messages.slice(1), "instructions are not stored");
  assert.deepEqual(turn.tools, {
    tools: [{
      type: "function",
      function: { name: "get_weather", parameters: { type: "object" } },
    }],
    choice: { function: { name: "get_weather" } },
  });
});

Deno.test("responsesTurn() puts a stored conversation first, and refuses an unknown previous_response_id", () => {
  const store = new ResponseStore();
  store.put("resp_1", {
    response: { id: "resp_1" },
    history: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }],
  });
  const turn = responsesTurn(
    parseRequest(INPUT_TOKENS_REQUEST, { previous_response_id: "resp_1", input: "More" }),
    store,
  );
  assert.deepEqual(turn.messages, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello" },
    { role: "user", content: "More" },
  ]);
  fails(
    () => responsesTurn(parse({ previous_response_id: "resp_gone", input: "x" }), store),
    /^Previous response with id "resp_gone" not found/,
    "previous_response_id",
  );
  fails(() => responsesTurn(parse({}), store), /^input is required$/, "input");
});

Deno.test("responsesGeneration() maps max_output_tokens, text.format and top_logprobs", () => {
  const schema = { type: "object", properties: { a: { type: "integer" } } };
  const fields = responsesGeneration(parse({
    input: "x",
    max_output_tokens: 9,
    top_logprobs: 2,
    text: { format: { type: "json_schema", name: "a", schema } },
  }));
  assert.equal(fields.max_tokens, 9);
  assert.equal(fields.logprobs, true);
  assert.equal(fields.top_logprobs, 2);
  assert.deepEqual(fields.response_format, {
    type: "json_schema",
    json_schema: { schema },
  });
  const plain = responsesGeneration(parse({ input: "x", text: { format: { type: "text" } } }));
  assert.equal(plain.response_format, undefined);
  assert.equal(plain.logprobs, false);
});
