/**
 * Rendering a chat template the way llama.cpp's `common/chat.cpp` does before any format logic:
 * messages as OpenAI JSON with its workarounds (developer → system, a system prompt merged into
 * the next message for templates without a system role, JSON-string tool arguments as objects for
 * templates that read them as objects), the variables it passes (`bos_token`, `eos_token`,
 * `enable_thinking`, `tools`, `datetime`, `date_string`, `chat_template_kwargs`), the template's
 * capabilities, and the generation prompt (what `add_generation_prompt` appends).
 *
 * @module
 */
import type { ChatTemplate } from "../chat_template.ts";
import type { ToolDefinition } from "./chat_peg_builder.ts";

/** Where reasoning goes: left in the content, or split out (upstream common_reasoning_format). */
export type ReasoningFormat = "none" | "auto" | "deepseek" | "deepseek-legacy";

/** OpenAI `tool_choice` as the formats read it. */
export type ToolChoice = "auto" | "required" | "none";

/** `continue_final_message`: which part of the last assistant message the model continues. */
export type Continuation = "none" | "auto" | "reasoning" | "content";

/** A tool call in a chat message. */
export interface InputToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string | Record<string, unknown> };
}

/** A chat message as the formats take it (OpenAI's shape, text content). */
export interface InputMessage {
  role: string;
  content: string | null;
  reasoning_content?: string;
  name?: string;
  tool_call_id?: string;
  tool_calls?: InputToolCall[];
}

/** What a template may do, found by rendering it (upstream jinja::caps). */
export interface TemplateCaps {
  supportsTools: boolean;
  supportsToolCalls: boolean;
  supportsSystemRole: boolean;
  supportsParallelToolCalls: boolean;
  supportsObjectArguments: boolean;
  supportsPreserveReasoning: boolean;
  supportsReasoningEffort: boolean;
}

/** A template with the BOS/EOS texts it is rendered with (upstream common_chat_template). */
export class FormatTemplate {
  readonly template: ChatTemplate;
  readonly bosToken: string;
  readonly eosToken: string;
  #caps: TemplateCaps | null = null;

  constructor(template: ChatTemplate, bosToken: string, eosToken: string) {
    this.template = template;
    this.bosToken = bosToken;
    this.eosToken = eosToken;
  }

  get source(): string {
    return this.template.source;
  }

  /** The template's capabilities (rendered once, then kept). */
  get caps(): TemplateCaps {
    return this.#caps ??= detectCaps(this.template);
  }
}

/** The inputs a format renders and builds its parser from (upstream generation_params). */
export interface FormatInputs {
  /** Messages as the template gets them (see {@linkcode templateMessages}). */
  messages: Record<string, unknown>[];
  /** Function tools; empty when none. */
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  /**
   * A call must come at once, with no text before it (a request naming the tool to call, which
   * llama.cpp, reading only "auto", "none" and "required", does not have).
   */
  immediateCall?: boolean;
  /** `response_format`'s JSON schema, when given. */
  jsonSchema?: Record<string, unknown>;
  parallelToolCalls: boolean;
  reasoningFormat: ReasoningFormat;
  addGenerationPrompt: boolean;
  continueFinalMessage: Continuation;
  /** The message continued (the last one, taken out of `messages`). */
  continueMessage: InputMessage | null;
  enableThinking: boolean;
  now: Date;
  /** `datetime`, `date_string` and the request's `chat_template_kwargs`. */
  extraContext: Record<string, unknown>;
  /** The model adds BOS / EOS itself, so a template's own is dropped. */
  addBos: boolean;
  addEos: boolean;
}

/** Text before tool calls, or nothing when `inputs` wants the call at once. */
export function contentBeforeCalls<T>(inputs: FormatInputs, content: T, nothing: T): T {
  return inputs.immediateCall && inputs.toolChoice === "required" ? nothing : content;
}

/** Whether `inputs` continues a message that has something to continue. */
export function hasContinuation(inputs: FormatInputs): boolean {
  return inputs.continueFinalMessage !== "none" && inputs.continueMessage !== null &&
    !isEmptyInput(inputs.continueMessage);
}

function isEmptyInput(m: InputMessage): boolean {
  return (m.content ?? "") === "" && (m.tool_calls ?? []).length === 0 &&
    (m.reasoning_content ?? "") === "" && (m.name ?? "") === "" && (m.tool_call_id ?? "") === "";
}

/** A message as OpenAI JSON, the way llama.cpp gives it to templates (to_json_oaicompat). */
export function messageJson(m: InputMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content ?? "" };
  if (m.reasoning_content !== undefined && m.reasoning_content !== "") {
    out.reasoning_content = m.reasoning_content;
  }
  if (m.name !== undefined && m.name !== "") out.name = m.name;
  if (m.tool_call_id !== undefined && m.tool_call_id !== "") out.tool_call_id = m.tool_call_id;
  if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((call) => {
      const args = call.function.arguments;
      const tc: Record<string, unknown> = {
        type: "function",
        function: {
          name: call.function.name,
          arguments: typeof args === "string" ? args : JSON.stringify(args),
        },
      };
      if (call.id !== undefined && call.id !== "") tc.id = call.id;
      return tc;
    });
  }
  return out;
}

/** The text of a message to continue (content, or nothing). */
export function renderContent(m: InputMessage): string {
  return m.content ?? "";
}

/**
 * The messages a template gets, with upstream's workarounds for what it can do. Throws
 * `RangeError` when a tool call's arguments must be an object and are not JSON.
 */
export function templateMessages(
  template: FormatTemplate,
  messages: readonly InputMessage[],
): Record<string, unknown>[] {
  let out = messages.map(messageJson);
  if (!template.source.includes("<|channel|>")) {
    out = out.map((m) => (m.role === "developer" ? { ...m, role: "system" } : m));
  }
  const caps = template.caps;
  if (!caps.supportsSystemRole && out.length > 0 && out[0]!.role === "system") {
    // merge the system prompt into the next message, or drop it when there is none
    if (out.length > 1) {
      const [first, second] = out as [Record<string, unknown>, Record<string, unknown>];
      out = [
        { ...second, content: `${first.content as string}\n${second.content as string}` },
        ...out.slice(2),
      ];
    } else {
      out = out.slice(1);
    }
  }
  if (caps.supportsToolCalls) {
    out = out.map((m) => ("tool_calls" in m && !("content" in m) ? { ...m, content: "" } : m));
  }
  if (caps.supportsObjectArguments) {
    out = out.map((m) => {
      if (!Array.isArray(m.tool_calls)) return m;
      const calls = (m.tool_calls as Record<string, Record<string, unknown>>[]).map((call) => {
        const args = call.function?.arguments;
        if (typeof args !== "string") return call;
        try {
          return { ...call, function: { ...call.function, arguments: JSON.parse(args) } };
        } catch (cause) {
          throw new RangeError(
            `Cannot render the tool call arguments: they are not JSON: ${(cause as Error).message}`,
            { cause },
          );
        }
      });
      return { ...m, tool_calls: calls };
    });
  }
  return out;
}

/** Tools as the template gets them: `type`, `function.name`, `description` and `parameters` only. */
export function templateTools(tools: readonly ToolDefinition[]): Record<string, unknown>[] {
  return tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.function.name,
      description: tool.function.description ?? "",
      parameters: tool.function.parameters ?? {},
    },
  }));
}

/** `datetime` and `date_string` for templates that print today's date (upstream extra context). */
export function dateContext(now: Date): Record<string, string> {
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const day = String(now.getDate()).padStart(2, "0");
  const month = months[now.getMonth()]!;
  return {
    datetime: `${month} ${day} ${now.getFullYear()}`,
    date_string: `${day} ${month} ${now.getFullYear()}`,
  };
}

/** Overrides of {@linkcode applyTemplate}: messages, tools or context a format rewrote. */
export interface RenderOverrides {
  messages?: Record<string, unknown>[];
  tools?: unknown;
  context?: Record<string, unknown>;
}

/** Renders the template with `inputs` (upstream common_chat_template_direct_apply_impl). */
export function applyTemplate(
  template: FormatTemplate,
  inputs: FormatInputs,
  overrides: RenderOverrides = {},
): string {
  const vars: Record<string, unknown> = {
    messages: overrides.messages ?? inputs.messages,
    bos_token: template.bosToken,
    eos_token: template.eosToken,
    enable_thinking: inputs.enableThinking,
  };
  if (overrides.tools !== undefined) vars.tools = overrides.tools;
  else if (inputs.tools.length > 0) vars.tools = templateTools(inputs.tools);
  Object.assign(vars, inputs.extraContext, overrides.context ?? {});
  if (inputs.addGenerationPrompt) vars.add_generation_prompt = true;
  if (typeof vars.preserve_reasoning === "boolean") {
    const on = vars.preserve_reasoning;
    Object.assign(vars, {
      preserve_thinking: on,
      clear_thinking: !on,
      truncate_history_thinking: !on,
      drop_thinking: !on,
    });
  }
  if (typeof vars.reasoning_effort === "string" && vars.reasoning_effort !== "") {
    vars.reasoning_strength = vars.reasoning_effort;
  }
  let text = template.template.renderVariables(vars, inputs.now);
  if (inputs.addBos && template.bosToken !== "" && text.startsWith(template.bosToken)) {
    text = text.slice(template.bosToken.length);
  }
  if (inputs.addEos && template.eosToken !== "" && text.endsWith(template.eosToken)) {
    text = text.slice(0, -template.eosToken.length);
  }
  return text;
}

/**
 * What `add_generation_prompt` appends: the rendering with it, past the longest prefix it shares
 * with the rendering without it (upstream common_chat_template_generation_prompt_impl).
 */
export function templateGenerationPrompt(
  template: FormatTemplate,
  inputs: FormatInputs,
  overrides: RenderOverrides = {},
): string {
  const base = { ...inputs, continueFinalMessage: "none" as const };
  const without = applyTemplate(template, { ...base, addGenerationPrompt: false }, overrides);
  const withPrompt = applyTemplate(template, { ...base, addGenerationPrompt: true }, overrides);
  let i = 0;
  while (i < without.length && i < withPrompt.length && without[i] === withPrompt[i]) i++;
  return withPrompt.slice(i);
}

/** Renders `template` with probe variables; null when it throws. */
function probe(template: ChatTemplate, vars: Record<string, unknown>): string | null {
  try {
    return template.renderVariables({
      bos_token: "",
      eos_token: "",
      add_generation_prompt: true,
      ...vars,
    });
  } catch {
    return null;
  }
}

/**
 * A template's capabilities, found by rendering it with marked values and looking for them in
 * the output (upstream caps_get, which watches which values a template reads).
 */
export function detectCaps(template: ChatTemplate): TemplateCaps {
  const caps: TemplateCaps = {
    supportsTools: true,
    supportsToolCalls: true,
    supportsSystemRole: true,
    supportsParallelToolCalls: true,
    supportsObjectArguments: false,
    supportsPreserveReasoning: false,
    supportsReasoningEffort: false,
  };
  const system = probe(template, {
    messages: [{ role: "system", content: "SYSTEM_MARKER_7f3" }, {
      role: "user",
      content: "User message",
    }],
    tools: [],
  });
  if (system === null || !system.includes("SYSTEM_MARKER_7f3")) caps.supportsSystemRole = false;

  const tools = [{
    name: "tool",
    type: "function",
    function: {
      name: "tool_def_7f3",
      description: "Tool description",
      parameters: {
        type: "object",
        properties: { arg: { type: "string", description: "Arg description" } },
        required: ["arg"],
      },
    },
  }];
  const conversation = (calls: unknown[]) => [
    { role: "user", content: "User message" },
    { role: "assistant", content: "", tool_calls: calls },
    { role: "tool", content: "Tool response", tool_call_id: "call00001" },
    { role: "assistant", content: "The tool response was 'tool response'" },
    { role: "user", content: "User message" },
  ];
  const call = (name: string, args: unknown, id = "call00001") => ({
    id,
    type: "function",
    function: { name, arguments: args },
  });
  const withObject = probe(template, {
    messages: conversation([call("tool_call_7f3", { arg: "ARG_MARKER_7f3" })]),
    tools,
  });
  let objectArgs = false;
  if (withObject !== null) {
    if (!withObject.includes("tool_def_7f3")) caps.supportsTools = false;
    if (!withObject.includes("tool_call_7f3")) caps.supportsToolCalls = false;
    // read as an object (tojson, items, ...), not merely printed as a Python dict
    else if (
      withObject.includes("ARG_MARKER_7f3") && !withObject.includes("{'arg': 'ARG_MARKER_7f3'}")
    ) {
      objectArgs = true;
    }
  }
  caps.supportsObjectArguments = objectArgs && caps.supportsToolCalls;
  if (!caps.supportsObjectArguments) {
    const withString = probe(template, {
      messages: conversation([call("tool_call_7f3", '{"arg": "ARG_MARKER_7f3"}')]),
      tools,
    });
    if (withString === null) {
      caps.supportsToolCalls = false;
      caps.supportsTools = false;
    } else {
      caps.supportsTools = withString.includes("tool_def_7f3");
      caps.supportsToolCalls = withString.includes("tool_call_7f3");
    }
  }
  const args = caps.supportsObjectArguments ? { arg: "value" } : '{"arg": "value"}';
  const parallel = probe(template, {
    messages: conversation([
      call("tool_call_7f3", args),
      call("tool_second_7f3", args, "call00002"),
    ]),
    tools,
  });
  if (parallel === null || !parallel.includes("tool_second_7f3")) {
    caps.supportsParallelToolCalls = false;
  }

  const reasoning = probe(template, {
    messages: [
      { role: "user", content: "User message" },
      {
        role: "assistant",
        content: "Assistant message",
        reasoning_content: "<REASONING_CONTENT_PLACEHOLDER>",
      },
      { role: "user", content: "User message" },
      { role: "assistant", content: "Assistant message", reasoning_content: "Reasoning content" },
      { role: "user", content: "User message" },
    ],
    tools: [],
    enable_thinking: true,
    preserve_thinking: true,
    clear_thinking: false,
    truncate_history_thinking: false,
    drop_thinking: false,
  });
  caps.supportsPreserveReasoning = reasoning !== null &&
    reasoning.includes("<REASONING_CONTENT_PLACEHOLDER>");
  caps.supportsReasoningEffort = /\breasoning_(effort|strength)\b/.test(template.source);
  return caps;
}
