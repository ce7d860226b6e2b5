import assert from "node:assert/strict";
import { ChatTemplate } from "../../engine/chat_template.ts";
import { callsTools, toolGrammar } from "./chat_turn.ts";
import { ApiError } from "./errors.ts";
import type { Tool, ToolRequest } from "./messages.ts";

const WEATHER: Tool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { enum: ["Oslo"] } }, required: ["city"] },
  },
};
const TIME: Tool = { type: "function", function: { name: "get_time" } };
const HERMES = new ChatTemplate("{{ tools }}<tool_call>{{ messages }}", "inline");
const MISTRAL = new ChatTemplate("{{ tools }}[TOOL_CALLS]{{ messages }}", "inline");
const PLAIN = new ChatTemplate("{{ tools }}{{ messages }}", "inline");

function request(choice: ToolRequest["choice"], tools = [WEATHER, TIME]): ToolRequest {
  return { tools, choice };
}

Deno.test("toolGrammar() leaves the model free unless a tool call is required", () => {
  assert.equal(toolGrammar(HERMES, request("auto")), undefined);
  assert.equal(toolGrammar(HERMES, request("none")), undefined);
  assert.equal(callsTools(request("none")), false);
  assert.equal(callsTools(request("auto")), true);
  assert.equal(callsTools(null), false);
});

Deno.test("toolGrammar() writes a required call in the template's own markup", () => {
  const hermes = toolGrammar(HERMES, request("required"))!;
  assert.match(hermes, /^root ::= "<tool_call>\\n" llamafile-tool-call "\\n<\/tool_call>"\n/);
  assert.match(hermes, /^llamafile-tool-call ::= /m);
  assert.match(hermes, /get_weather/);
  assert.match(hermes, /get_time/);
  const mistral = toolGrammar(MISTRAL, request("required"))!;
  assert.match(mistral, /^root ::= "\[TOOL_CALLS\] \[" llamafile-tool-call "\]"\n/);
  const bare = toolGrammar(PLAIN, request("required"))!;
  assert.match(bare, /^root ::= alternative-0 \| alternative-1$/m);
  assert.doesNotMatch(bare, /llamafile-tool-call/);
});

Deno.test("toolGrammar() narrows a named tool_choice to that tool, and refuses a name not among the tools", () => {
  const named = toolGrammar(PLAIN, request({ function: { name: "get_weather" } }))!;
  assert.match(named, /get_weather/);
  assert.doesNotMatch(named, /get_time/);
  assert.match(named, /Oslo/);
  assert.throws(
    () => toolGrammar(PLAIN, request({ function: { name: "nope" } })),
    (error: unknown) =>
      error instanceof ApiError && error.status === 400 && error.param === "tool_choice" &&
      /"nope", which is not among the tools/.test(error.message),
  );
});
