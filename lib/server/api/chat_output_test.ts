import assert from "node:assert/strict";
import { ChatTemplate } from "../../engine/chat_template.ts";
import { applyChatFormat, formatTemplate } from "../../engine/chat_formats/chat_format.ts";
import { ChatOutput } from "./chat_output.ts";

const HERMES = "{%- if tools %}<|im_start|>system\n{{ tools | tojson }}<|im_end|>\n{% endif %}" +
  "{%- for m in messages %}<|im_start|>{{ m.role }}\n" +
  "{% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>\n" +
  '{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}\n</tool_call>' +
  "{%- endfor %}{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}" +
  "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function params() {
  const template = formatTemplate(new ChatTemplate(HERMES, "test"), "", "");
  return applyChatFormat(template, {
    messages: [{ role: "user", content: "Weather?" }],
    tools: [TOOL],
  });
}

Deno.test("ChatOutput streams a Hermes tool call as name and id first, then argument text", () => {
  const output = new ChatOutput(params());
  const text =
    'Let me see.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>';
  const deltas = [];
  for (const c of text) deltas.push(...output.push(c));
  deltas.push(...output.finish());
  const content = deltas.map((d) => d.content ?? "").join("");
  assert.equal(content, "Let me see.");
  const calls = deltas.filter((d) => d.toolCall).map((d) => d.toolCall!);
  assert.equal(calls[0]!.name, "get_weather");
  assert.match(calls[0]!.id, /^call_[0-9a-f]{24}$/);
  assert.ok(calls.slice(1).every((c) => c.name === "" && c.id === ""));
  assert.equal(JSON.parse(calls.map((c) => c.arguments).join("")).city, "Oslo");
  assert.equal(output.message.toolCalls[0]!.id, calls[0]!.id);
  assert.equal(output.unparsed, false);
});

Deno.test("ChatOutput keeps text that does not match the format as content", () => {
  const template = formatTemplate(
    new ChatTemplate(
      "{% for m in messages %}{{ m.content }}{% endfor %}>>>all\n>>>${recipient}",
      "t",
    ),
    "",
    "",
  );
  const p = applyChatFormat(template, { messages: [{ role: "user", content: "hi" }] });
  const output = new ChatOutput(p);
  output.push("Once upon a time");
  output.finish();
  assert.equal(output.message.content, "Once upon a time");
  assert.equal(output.unparsed, true);
});
