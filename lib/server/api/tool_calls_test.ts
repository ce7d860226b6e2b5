import assert from "node:assert/strict";
import { parsedOutput } from "./tool_calls.ts";

Deno.test("parsedOutput() gives OpenAI tool calls, and null content beside them", () => {
  assert.deepEqual(
    parsedOutput({
      content: "",
      reasoningContent: "why",
      toolCalls: [{ name: "f", arguments: '{"a":1}', id: "call_1" }],
    }),
    {
      content: null,
      reasoning: "why",
      toolCalls: [{
        id: "call_1",
        type: "function",
        function: { name: "f", arguments: '{"a":1}' },
      }],
    },
  );
  assert.deepEqual(parsedOutput({ content: "", reasoningContent: "", toolCalls: [] }), {
    content: "",
    reasoning: "",
    toolCalls: [],
  });
});
