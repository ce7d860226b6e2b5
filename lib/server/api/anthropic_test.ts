import assert from "node:assert/strict";
import {
  anthropicGeneration,
  anthropicTurn,
  COUNT_TOKENS_REQUEST,
  MESSAGES_REQUEST,
} from "./anthropic.ts";
import { ApiError } from "./errors.ts";
import { type Body, parseRequest } from "./validate.ts";

const HI = { model: "m", max_tokens: 8, messages: [{ role: "user", content: "Hi" }] };

function fails(body: Body, message: RegExp, param?: string): void {
  assert.throws(() => parseRequest(MESSAGES_REQUEST, body), (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, message);
    if (param !== undefined) assert.equal(error.param, param);
    assert.deepEqual(Object.keys(error.bodyIn("anthropic")), ["type", "error"]);
    return true;
  });
}

Deno.test("MESSAGES_REQUEST refuses a request without max_tokens, a system of the wrong type, unknown and media blocks", () => {
  fails({ ...HI, max_tokens: undefined }, /^max_tokens is required$/, "max_tokens");
  fails(
    { ...HI, max_tokens: 0 },
    /^max_tokens must be an integer between 1 and 2147483647, got 0$/,
  );
  fails(
    { ...HI, system: 42 },
    /^system must be a string or an array of text blocks, got a number$/,
    "system",
  );
  fails(
    { ...HI, messages: [{ role: "user", content: [{ type: "video", url: "x" }] }] },
    /^messages\[0\]\.content\[0\]\.type "video" is not a content block type this server takes/,
    "messages",
  );
  fails(
    { ...HI, messages: [{ role: "user", content: [{ type: "image", source: {} }] }] },
    /^messages\[0\]\.content\[0\]: image input is not supported by this model$/,
  );
  fails(
    { ...HI, messages: [{ role: "system", content: "x" }] },
    /role must be "user" or "assistant"/,
  );
  fails({ ...HI, temperature: 1.5 }, /^temperature must be between 0 and 1, got 1.5$/);
  fails({ ...HI, top_k: 1e12 }, /^top_k must be an integer between 0 and 2147483647/);
  fails(
    { ...HI, tools: [{ type: "bash_20250124", name: "bash" }] },
    /^tools\[0\]\.type "bash_20250124" is not supported: only client tools/,
    "tools",
  );
  fails(
    { ...HI, tool_choice: { type: "sometimes" } },
    /tool_choice.*"auto", "any", "tool" or "none"/,
  );
});

Deno.test("anthropicTurn() maps system, tool_use and tool_result to chat messages", () => {
  const body = parseRequest(MESSAGES_REQUEST, {
    ...HI,
    system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Be kind." }],
    messages: [
      { role: "user", content: "Weather in Oslo?" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "" },
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "-3C" }] },
          { type: "text", text: "Thanks" },
        ],
      },
    ],
    tools: [{ name: "get_weather", description: "d", input_schema: { type: "object" } }],
    tool_choice: { type: "tool", name: "get_weather" },
  });
  const turn = anthropicTurn(body);
  assert.deepEqual(turn.messages, [
    { role: "system", content: "Be brief.\nBe kind." },
    { role: "user", content: "Weather in Oslo?" },
    {
      role: "assistant",
      content: "Checking.",
      tool_calls: [{
        id: "toolu_1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
      }],
    },
    { role: "tool", tool_call_id: "toolu_1", content: "-3C" },
    { role: "user", content: "Thanks" },
  ]);
  assert.deepEqual(turn.tools, {
    tools: [{
      type: "function",
      function: { name: "get_weather", description: "d", parameters: { type: "object" } },
    }],
    choice: { function: { name: "get_weather" } },
  });
  const any = anthropicTurn(parseRequest(COUNT_TOKENS_REQUEST, {
    messages: HI.messages,
    tools: body.tools,
    tool_choice: { type: "any" },
  }));
  assert.equal(any.tools!.choice, "required");
});

Deno.test("anthropicGeneration() maps max_tokens, stop_sequences and sampling fields", () => {
  const body = parseRequest(MESSAGES_REQUEST, {
    ...HI,
    stop_sequences: ["\n\n", ""],
    temperature: 0,
    top_k: 5,
    stream: true,
  });
  const fields = anthropicGeneration(body);
  assert.equal(fields.max_tokens, 8);
  assert.deepEqual(fields.stop, ["\n\n"]);
  assert.equal(fields.temperature, 0);
  assert.equal(fields.top_k, 5);
  assert.equal(fields.stream, true);
});
