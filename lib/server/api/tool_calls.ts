/**
 * Tool calls in generated text, for templates that take `tools`. The common formats:
 * Hermes / Qwen `<tool_call>{"name":…,"arguments":{…}}</tool_call>` blocks, Mistral
 * `[TOOL_CALLS] [{…}]`, and a bare JSON object or array of `{"name", "arguments" |
 * "parameters"}` (Llama 3.1). Text that is none of these stays content.
 *
 * @module
 */

/** An OpenAI tool call. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Generated text split into content and tool calls. */
export interface ParsedOutput {
  content: string | null;
  toolCalls: ToolCall[];
}

function callId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "call_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function asCall(value: unknown): ToolCall | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const fn = v.function !== null && typeof v.function === "object"
    ? v.function as Record<string, unknown>
    : v;
  if (typeof fn.name !== "string" || fn.name === "") return null;
  const args = fn.arguments ?? fn.parameters ?? {};
  return {
    id: typeof v.id === "string" && v.id !== "" ? v.id : callId(),
    type: "function",
    function: { name: fn.name, arguments: typeof args === "string" ? args : JSON.stringify(args) },
  };
}

function asCalls(value: unknown): ToolCall[] | null {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return null;
  const calls = items.map(asCall);
  return calls.every((c): c is ToolCall => c !== null) ? calls : null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Splits `text` into content and tool calls. */
export function parseToolCalls(text: string): ParsedOutput {
  const blocks = [...text.matchAll(/<tool_call>\s*([\s\S]*?)\s*(?:<\/tool_call>|$)/g)];
  if (blocks.length > 0) {
    const calls: ToolCall[] = [];
    for (const block of blocks) {
      const parsed = asCalls(parseJson(block[1]!));
      if (parsed === null) return { content: text, toolCalls: [] };
      calls.push(...parsed);
    }
    const rest = text.replace(/<tool_call>[\s\S]*?(?:<\/tool_call>|$)/g, "").trim();
    return { content: rest === "" ? null : rest, toolCalls: calls };
  }
  const mistral = /\[TOOL_CALLS\]\s*([\s\S]*)$/.exec(text);
  if (mistral) {
    const parsed = asCalls(parseJson(mistral[1]!.trim()));
    if (parsed !== null) {
      const rest = text.slice(0, mistral.index).trim();
      return { content: rest === "" ? null : rest, toolCalls: parsed };
    }
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const parsed = asCalls(parseJson(trimmed));
    if (parsed !== null) return { content: null, toolCalls: parsed };
  }
  return { content: text, toolCalls: [] };
}
