import assert from "node:assert/strict";
import { callsTools } from "./chat_turn.ts";
import type { Tool, ToolRequest } from "./messages.ts";

const TIME: Tool = { type: "function", function: { name: "get_time" } };

function request(choice: ToolRequest["choice"]): ToolRequest {
  return { tools: [TIME], choice };
}

Deno.test("callsTools() is true when tools are given and the choice is not none", () => {
  assert.equal(callsTools(request("none")), false);
  assert.equal(callsTools(request("auto")), true);
  assert.equal(callsTools(request("required")), true);
  assert.equal(callsTools(request({ function: { name: "get_time" } })), true);
  assert.equal(callsTools(null), false);
});
