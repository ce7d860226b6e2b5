/**
 * Shared helpers of the server test suites: an engine on the ChatML test model with
 * one thread, and an SSE reader.
 */
import {
  createEngine,
  type Engine,
  type EngineOptions,
  ServerState,
} from "../lib/server/api/server_state.ts";
import { type LlamaModel, loadModel } from "../lib/engine/model.ts";
import { closeEngine } from "../lib/server/api/server_state.ts";
import type { GenerationDefaults } from "../lib/server/api/generation_params.ts";

/** The test model: stories260K with a ChatML template. */
export const CHAT_MODEL =
  new URL("../../shared/models/stories260K-chatml-test.gguf", import.meta.url).pathname;

/**
 * A ChatML template that takes tools and writes tool calls the Hermes way
 * (`<tool_call>{"name": ..., "arguments": ...}</tool_call>`), for tool-calling tests on the
 * ChatML test model (whose own template has no tools).
 */
export const TOOLS_TEMPLATE = "{%- if tools %}<|im_start|>system\nTools:" +
  "{%- for tool in tools %} {{ tool.function.name }}{% endfor %}<|im_end|>\n{% endif %}" +
  "{%- for m in messages %}<|im_start|>{{ m.role }}\n" +
  "{% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>\n" +
  '{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}\n</tool_call>' +
  "{%- endfor %}{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}" +
  "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** llama.cpp's defaults, and no limit on tokens. */
export const DEFAULTS: GenerationDefaults = { maxTokens: -1, seed: -1 };

/** A model, an engine on it, and a ready server state; dispose to free them. */
export interface TestEngine extends AsyncDisposable {
  model: LlamaModel;
  engine: Engine;
  state: ServerState;
}

/** Loads the test model and builds a ready engine (1 thread). */
export async function testEngine(options: Partial<EngineOptions> = {}): Promise<TestEngine> {
  const model = await loadModel(CHAT_MODEL);
  const engine = await createEngine(model, {
    contextSize: 1024,
    parallel: 2,
    threads: 1,
    ...options,
  });
  const state = new ServerState({
    modelName: "stories260K-chatml-test.gguf",
    defaults: DEFAULTS,
    startedAt: 1,
  });
  state.ready(engine);
  return {
    model,
    engine,
    state,
    async [Symbol.asyncDispose]() {
      await closeEngine(engine);
      model.close();
    },
  };
}

/** The `data:` payloads of an SSE body (`[DONE]` kept as a string). */
export function parseSse(text: string): unknown[] {
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
      line.slice(6)
    ).join("\n");
    return data === "[DONE]" ? data : JSON.parse(data);
  });
}

/** JSON request init. */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}
