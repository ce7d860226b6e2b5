/**
 * OpenAI chat `messages`, `tools` and `tool_choice`, declared as schemas that map to what the
 * chat template renders. Text content parts are joined with newlines (as llama.cpp does); image
 * and audio parts are refused, as no projector is loaded.
 *
 * @module
 */
import * as z from "zod/mini";
import type { ChatMessage } from "../../engine/chat_template.ts";
import { jsonObject, kind, nonEmptyString, optional, string } from "./validate.ts";

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"] as const;

/** Content part types that need a projector this server does not load. */
const MEDIA_PARTS = new Set(["image_url", "input_audio", "input_image"]);

/** One content part: text, or a refusal that names what is not supported. */
const CONTENT_PART = z.pipe(
  z.object({ type: z.optional(z.unknown()), text: z.optional(z.unknown()) }, {
    error: (issue) => `must be an object, got ${kind(issue.input)}`,
  }).check(z.superRefine((part, ctx) => {
    if (part.type === "text") {
      if (typeof part.text !== "string") {
        ctx.addIssue({
          code: "custom",
          path: ["text"],
          message: `must be a string, got ${kind(part.text)}`,
        });
      }
    } else if (typeof part.type === "string" && MEDIA_PARTS.has(part.type)) {
      ctx.addIssue({
        code: "custom",
        message: `: ${part.type} input is not supported by this model`,
      });
    } else {
      ctx.addIssue({
        code: "custom",
        path: ["type"],
        message: `${JSON.stringify(part.type ?? null)} is not supported: use "text"`,
      });
    }
  })),
  z.transform((part: { text?: unknown }) => part.text as string),
);

/** Message content: a string, or text parts joined with newlines. */
export const CONTENT = z.pipe(
  z.union([string(), z.array(CONTENT_PART)], {
    error: (issue) => `must be a string or an array of content parts, got ${kind(issue.input)}`,
  }),
  z.transform((value: string | string[]) => (typeof value === "string" ? value : value.join("\n"))),
);

/** A tool call in an assistant message. */
const TOOL_CALL = z.object({
  id: optional(string()),
  type: optional(string()),
  function: z.object({
    name: string(),
    arguments: optional(z.union([string(), jsonObject()], {
      error: () => "must be a JSON string",
    })),
  }, {
    error: (issue) =>
      issue.input === undefined
        ? "is required: a tool call must be an object with a function"
        : `must be an object with a function name, got ${kind(issue.input)}`,
  }),
}, { error: () => "must be an object with a function" });

/** One chat message, as it comes. */
const RAW_MESSAGE = z.object({
  role: z.enum(ROLES, {
    error: (issue) =>
      `must be one of ${ROLES.join(", ")}, got ${JSON.stringify(issue.input ?? null)}`,
  }),
  content: optional(CONTENT),
  name: optional(string()),
  tool_call_id: optional(string()),
  tool_calls: optional(z.array(TOOL_CALL)),
}, { error: (issue) => `must be an object, got ${kind(issue.input)}` });

type RawMessage = z.output<typeof RAW_MESSAGE>;

/** One chat message, mapped to what the template renders. */
const MESSAGE = z.pipe(
  RAW_MESSAGE.check(z.superRefine((message: RawMessage, ctx) => {
    if (message.role === "assistant") {
      if (message.content === undefined && message.tool_calls === undefined) {
        ctx.addIssue({ code: "custom", message: "(assistant) must have content or tool_calls" });
      }
    } else if (message.content === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["content"],
        message: `is required for role "${message.role}"`,
      });
    }
  })),
  z.transform((message: RawMessage): ChatMessage => {
    const out: ChatMessage = {
      role: message.role === "developer" ? "system" : message.role,
      content: message.content ?? null,
    };
    if (message.name !== undefined) out.name = message.name;
    if (message.tool_call_id !== undefined) out.tool_call_id = message.tool_call_id;
    if (message.tool_calls !== undefined) {
      out.tool_calls = message.tool_calls.map((call) => ({
        ...(call.id !== undefined && { id: call.id }),
        type: call.type ?? "function",
        function: { name: call.function.name, arguments: call.function.arguments ?? "{}" },
      }));
    }
    return out;
  }),
);

/** `messages`: a non-empty array of chat messages. */
export const MESSAGES = z.array(MESSAGE, {
  error: (issue) =>
    issue.input === undefined ? "is required" : `must be an array, got ${kind(issue.input)}`,
}).check(z.minLength(1, { error: "must not be empty" }));

/** A function tool, kept whole for the chat template. */
const TOOL = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: nonEmptyString(),
    parameters: optional(z.record(z.string(), z.unknown(), {
      error: () => "must be a JSON Schema object",
    })),
  }),
}, { error: () => 'must be {"type":"function","function":{...}}' });

/** `tools`: function tools. */
export const TOOLS = z.array(TOOL, {
  error: (issue) => `must be an array, got ${kind(issue.input)}`,
});

/** `tool_choice`: `"none"`, `"auto"`, `"required"`, or one function by name. */
export const TOOL_CHOICE = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({
    type: z.optional(z.literal("function")),
    function: z.object({ name: string() }),
  }),
], {
  error: (issue) =>
    typeof issue.input === "string"
      ? `must be "none", "auto", "required" or a function, got "${issue.input}"`
      : 'must be "none", "auto", "required" or {"type":"function","function":{"name":...}}',
});

/** A parsed tool (an OpenAI function tool object). */
export type Tool = Record<string, unknown> & {
  type: "function";
  function: { name: string; description?: unknown; parameters?: Record<string, unknown> };
};

/** Tools and the choice among them. */
export interface ToolRequest {
  tools: Tool[];
  /** `"none"`, `"auto"`, `"required"`, or `{type: "function", function: {name}}`. */
  choice: "none" | "auto" | "required" | { function: { name: string } };
}

/** The tool request of parsed `tools` and `tool_choice`; `null` when no tools are given. */
export function toolRequest(
  tools: z.output<typeof TOOLS> | undefined,
  choice: z.output<typeof TOOL_CHOICE> | undefined,
): ToolRequest | null {
  if (tools === undefined || tools.length === 0) return null;
  return { tools: tools as Tool[], choice: choice ?? "auto" };
}
