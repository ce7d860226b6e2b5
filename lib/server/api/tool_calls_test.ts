import assert from "node:assert/strict";
import { parseToolCalls } from "./tool_calls.ts";

Deno.test("parseToolCalls() reads Hermes <tool_call> blocks", () => {
  const out = parseToolCalls(
    'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n<tool_call>{"name":"t","arguments":{}}</tool_call>',
  );
  assert.equal(out.content, "Let me check.");
  assert.equal(out.toolCalls.length, 2);
  assert.equal(out.toolCalls[0]!.type, "function");
  assert.match(out.toolCalls[0]!.id, /^call_[0-9a-f]{24}$/);
  assert.deepEqual(out.toolCalls[0]!.function, {
    name: "get_weather",
    arguments: '{"city":"Oslo"}',
  });
  assert.deepEqual(out.toolCalls[1]!.function, { name: "t", arguments: "{}" });
});

Deno.test("parseToolCalls() reads Mistral [TOOL_CALLS] and bare JSON calls", () => {
  const mistral = parseToolCalls('[TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}}]');
  assert.equal(mistral.content, null);
  assert.deepEqual(mistral.toolCalls[0]!.function, { name: "f", arguments: '{"a":1}' });
  const llama = parseToolCalls(' {"name": "g", "parameters": {"b": "x"}}');
  assert.deepEqual(llama.toolCalls[0]!.function, { name: "g", arguments: '{"b":"x"}' });
});

Deno.test("parseToolCalls() leaves ordinary text and malformed calls as content", () => {
  assert.deepEqual(parseToolCalls("Hello there"), { content: "Hello there", toolCalls: [] });
  assert.deepEqual(parseToolCalls('{"answer": 42}'), { content: '{"answer": 42}', toolCalls: [] });
  const broken = "<tool_call>{not json}</tool_call>";
  assert.deepEqual(parseToolCalls(broken), { content: broken, toolCalls: [] });
});
