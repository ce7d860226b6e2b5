/**
 * The chat formats through the server (`app.request`, no socket) on the ChatML test model with
 * llama.cpp's own templates (read from its source tree, as tests/chat_formats_reference_test.ts
 * does): `/apply-template` with the server's `--reasoning`, tool calls constrained by the
 * format's grammar and read back as `tool_calls` (whole and streamed), and
 * `reasoning_content` with `--reasoning-format` and `--reasoning-budget`.
 *
 * Needs --allow-read --allow-write --allow-env --allow-run (npm and git fetch the source once).
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { llamaSourceTree } from "../scripts/chat_reference.ts";
import { type ChatOptions, DEFAULT_CHAT_OPTIONS } from "../lib/server/api/chat_turn.ts";
import { ServerState } from "../lib/server/api/server_state.ts";
import { DEFAULTS, parseSse, post, testEngine } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const SRC = await llamaSourceTree(false);
const template = (name: string) => `${SRC}/models/templates/${name}.jinja`;

/** An app on the test model with `name`'s template and these reasoning settings. */
async function appWith(name: string, chat: Partial<ChatOptions> = {}) {
  const t = await testEngine({ chatTemplate: template(name), parallel: 1 });
  const state = new ServerState({
    modelName: "test",
    defaults: DEFAULTS,
    startedAt: 1,
    chat: { ...DEFAULT_CHAT_OPTIONS, ...chat },
  });
  state.ready(t.engine);
  return { app: createApp({ state }), [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() };
}

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
      required: ["city"],
    },
  },
};
const ASK = [{ role: "user", content: "What is the weather in Paris?" }];

Deno.test("POST /apply-template renders the template's prompt with the server's --reasoning", async () => {
  for (
    const [name, reasoning, end] of [
      ["Qwen-Qwen3-0.6B", "off", "<|im_start|>assistant\n<think>\n\n</think>\n\n"],
      ["Qwen-Qwen3-0.6B", "auto", "<|im_start|>assistant\n"],
      ["deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "on", "<think>\n"],
      ["deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "off", "<think>\n</think>"],
    ] as const
  ) {
    await using s = await appWith(name, { reasoning });
    for (const tools of [undefined, [WEATHER]]) {
      const response = await s.app.request("/apply-template", post({ messages: ASK, tools }));
      assert.equal(response.status, 200);
      const prompt = (await response.json()).prompt as string;
      assert.ok(prompt.endsWith(end), `${name} ${reasoning}: ${JSON.stringify(prompt)}`);
      if (name.startsWith("Qwen")) {
        assert.equal(prompt.includes("get_weather"), tools !== undefined);
      }
    }
  }
});

Deno.test("POST /v1/chat/completions calls a named tool at once, whole and streamed", async () => {
  // thinking off: the template's generation prompt closes it, so the call comes first
  await using s = await appWith("Qwen-Qwen3-0.6B", { reasoning: "off" });
  const other = { ...WEATHER, function: { ...WEATHER.function, name: "get_time" } };
  const body = {
    messages: ASK,
    tools: [other, WEATHER],
    tool_choice: { type: "function", function: { name: "get_weather" } },
    max_tokens: 200,
    temperature: 0,
  };
  const whole: Json = await (await s.app.request("/v1/chat/completions", post(body))).json();
  const choice = whole.choices[0];
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "get_weather");
  assert.ok(["Paris", "Oslo"].includes(JSON.parse(call.function.arguments).city));
  assert.ok(typeof call.id === "string" && call.id.length > 0);

  const streamed = await s.app.request("/v1/chat/completions", post({ ...body, stream: true }));
  const chunks = parseSse(await streamed.text()).filter((c) => c !== "[DONE]") as Json[];
  const deltas = chunks.flatMap((c) => c.choices.flatMap((x: Json) => x.delta.tool_calls ?? []));
  assert.equal(deltas[0].function.name, "get_weather", "the name comes first");
  assert.ok(deltas[0].id !== undefined);
  const args = deltas.map((d: Json) => d.function?.arguments ?? "").join("");
  assert.deepEqual(JSON.parse(args), JSON.parse(call.function.arguments));
  const finishes = chunks.flatMap((c) => c.choices.map((x: Json) => x.finish_reason));
  assert.ok(finishes.includes("tool_calls"));
});

Deno.test("POST /v1/chat/completions puts a thinking model's thoughts in reasoning_content, within --reasoning-budget", async () => {
  const R1 = "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B";
  const body = { messages: ASK, max_tokens: 24, temperature: 0 };
  {
    // the prompt opens the thinking: all the answer is thought, none of it is content
    await using s = await appWith(R1);
    const message: Json = (await (await s.app.request("/v1/chat/completions", post(body))).json())
      .choices[0].message;
    assert.ok(message.reasoning_content.length > 0);
    assert.equal(message.content, "");
  }
  {
    await using s = await appWith(R1, { reasoningFormat: "none" });
    const message: Json = (await (await s.app.request("/v1/chat/completions", post(body))).json())
      .choices[0].message;
    assert.equal(message.reasoning_content, undefined);
    assert.ok(message.content.length > 0);
  }
  {
    // a budget of 0: the end tag is forced at once, and the answer is content
    await using s = await appWith(R1, { reasoningBudget: 0 });
    const message: Json = (await (await s.app.request("/v1/chat/completions", post(body))).json())
      .choices[0].message;
    assert.equal(message.reasoning_content ?? "", "");
    assert.ok(message.content.length > 0, JSON.stringify(message));
  }
  {
    await using s = await appWith(R1, { reasoningBudget: 4 });
    const message: Json = (await (await s.app.request("/v1/chat/completions", post(body))).json())
      .choices[0].message;
    assert.ok(message.reasoning_content.length > 0, JSON.stringify(message));
    assert.ok(message.content.length > 0, JSON.stringify(message));
  }
});

Deno.test("--skip-chat-parsing leaves a thinking model's thoughts in content; --chat-template-kwargs are the template's defaults", async () => {
  const R1 = "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B";
  const body = { messages: ASK, max_tokens: 24, temperature: 0 };
  {
    // the same request that puts everything in reasoning_content when parsed (above)
    await using s = await appWith(R1, { pureContent: true });
    const message: Json = (await (await s.app.request("/v1/chat/completions", post(body))).json())
      .choices[0].message;
    assert.equal(message.reasoning_content, undefined, JSON.stringify(message));
    assert.ok(message.content.length > 0, JSON.stringify(message));
  }
  {
    // Qwen3 reads enable_thinking: the server's default kwargs turn thinking off, a request's win
    await using s = await appWith("Qwen-Qwen3-0.6B", {
      templateKwargs: { enable_thinking: false },
    });
    const off = (await (await s.app.request("/apply-template", post({ messages: ASK }))).json())
      .prompt as string;
    assert.ok(off.endsWith("<think>\n\n</think>\n\n"), JSON.stringify(off));
    const on = (await (await s.app.request(
      "/apply-template",
      post({ messages: ASK, chat_template_kwargs: { enable_thinking: true } }),
    )).json()).prompt as string;
    assert.ok(on.endsWith("<|im_start|>assistant\n"), JSON.stringify(on));
  }
});
