/**
 * Anthropic's Messages API requests (`/v1/messages` and `/v1/messages/count_tokens`), declared
 * as schemas, and their mapping to a {@linkcode ChatTurn}: `system` becomes a system message,
 * `tool_use` blocks become assistant tool calls and `tool_result` blocks tool messages, custom
 * tools become function tools, and `tool_choice` `any` / `tool` become "required" / a tool by
 * name. Images and documents are refused (no projector is loaded); thinking blocks are dropped.
 *
 * @module
 */
import * as z from "zod/mini";
import type { ChatMessage, ChatToolCall } from "../../engine/chat_template.ts";
import type { ChatTurn } from "./chat_turn.ts";
import type { GenerationInput } from "./generation_params.ts";
import { SAMPLING_EXTRAS } from "./generation_params.ts";
import type { Tool, ToolRequest } from "./messages.ts";
import {
  boolean,
  INT32_MAX,
  integer,
  isObject,
  jsonObject,
  kind,
  nonEmptyString,
  number,
  oneOf,
  optional,
  quotedList,
  string,
} from "./validate.ts";

/** The content block types a request may hold (images and documents are refused by name). */
const BLOCK_TYPES = ["text", "tool_use", "tool_result", "thinking", "redacted_thinking"];

/** The error of a block whose `type` is missing or unknown. */
function blockError(issue: { input?: unknown }): string {
  const input = issue.input;
  if (!isObject(input)) {
    return input === undefined
      ? "is required"
      : `must be a content block object, got ${kind(input)}`;
  }
  if (input.type === undefined) return `is required: one of ${quotedList(BLOCK_TYPES)}`;
  return `${JSON.stringify(input.type)} is not a content block type this server takes: use ${
    quotedList(BLOCK_TYPES)
  }`;
}

const TEXT_BLOCK = z.looseObject({ type: z.literal("text"), text: string() });

/** A block type that needs a projector this server does not load. */
function refused<const T extends string>(type: T) {
  return z.looseObject({ type: z.literal(type) }).check(z.superRefine((_, ctx) => {
    ctx.addIssue({ code: "custom", message: `: ${type} input is not supported by this model` });
  }));
}

const TOOL_RESULT_CONTENT = z.union([
  string(),
  z.array(z.discriminatedUnion("type", [TEXT_BLOCK, refused("image"), refused("document")], {
    error: blockError,
  })),
], { error: (issue) => `must be a string or an array of text blocks, got ${kind(issue.input)}` });

const BLOCK = z.discriminatedUnion("type", [
  TEXT_BLOCK,
  refused("image"),
  refused("document"),
  z.looseObject({
    type: z.literal("tool_use"),
    id: string(),
    name: nonEmptyString(),
    input: jsonObject(),
  }),
  z.looseObject({
    type: z.literal("tool_result"),
    tool_use_id: string(),
    content: optional(TOOL_RESULT_CONTENT),
    is_error: optional(boolean()),
  }),
  z.looseObject({ type: z.literal("thinking"), thinking: string() }),
  z.looseObject({ type: z.literal("redacted_thinking") }),
], { error: blockError });

const MESSAGE = z.object({
  role: oneOf(["user", "assistant"]),
  content: z.union([string(), z.array(BLOCK)], {
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : `must be a string or an array of content blocks, got ${kind(issue.input)}`,
  }),
}, { error: (issue) => `must be an object, got ${kind(issue.input)}` });

const MESSAGES = z.array(MESSAGE, {
  error: (issue) =>
    issue.input === undefined ? "is required" : `must be an array, got ${kind(issue.input)}`,
}).check(z.minLength(1, { error: "must not be empty" }));

const SYSTEM = z.union([string(), z.array(TEXT_BLOCK)], {
  error: (issue) => `must be a string or an array of text blocks, got ${kind(issue.input)}`,
});

/** A client tool: name, description, input schema (server tools carry a versioned `type`). */
const TOOL = z.looseObject({
  type: optional(z.literal("custom", {
    error: (issue) =>
      `${
        JSON.stringify(issue.input)
      } is not supported: only client tools (name, description, input_schema) are`,
  })),
  name: nonEmptyString(),
  description: optional(string()),
  input_schema: z.record(z.string(), z.unknown(), {
    error: (issue) => issue.input === undefined ? "is required" : "must be a JSON Schema object",
  }),
});

const TOOL_CHOICE = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto") }),
  z.looseObject({ type: z.literal("any") }),
  z.looseObject({ type: z.literal("tool"), name: string() }),
  z.looseObject({ type: z.literal("none") }),
], {
  error: (issue) =>
    isObject(issue.input)
      ? `must have a type of "auto", "any", "tool" or "none", got ${
        JSON.stringify(issue.input.type ?? null)
      }`
      : `must be an object, got ${kind(issue.input)}`,
});

/** What `count_tokens` takes: the prompt's parts. */
const PROMPT_FIELDS = {
  model: optional(string()),
  messages: MESSAGES,
  system: optional(SYSTEM),
  tools: optional(z.array(TOOL, { error: (i) => `must be an array, got ${kind(i.input)}` })),
  tool_choice: optional(TOOL_CHOICE),
};

/** The request body of `POST /v1/messages/count_tokens`. */
export const COUNT_TOKENS_REQUEST = z.object(PROMPT_FIELDS);

/** The request body of `POST /v1/messages`. */
export const MESSAGES_REQUEST = z.object({
  ...PROMPT_FIELDS,
  max_tokens: integer(1, INT32_MAX),
  stop_sequences: optional(z.array(string(), {
    error: (issue) => `must be an array of strings, got ${kind(issue.input)}`,
  })),
  stream: optional(boolean()),
  ...SAMPLING_EXTRAS,
  temperature: optional(number({ min: 0, max: 1 })),
  top_p: optional(number({ min: 0, max: 1 })),
  metadata: optional(jsonObject()),
});

/** A parsed `/v1/messages/count_tokens` body (a `/v1/messages` body is one too). */
export type AnthropicPrompt = z.output<typeof COUNT_TOKENS_REQUEST>;
/** A parsed `/v1/messages` body. */
export type AnthropicRequest = z.output<typeof MESSAGES_REQUEST>;

function textOf(blocks: readonly { text: string }[]): string {
  return blocks.map((b) => b.text).join("\n");
}

type Block = z.output<typeof BLOCK>;

/** The chat messages of one Anthropic message. */
function toChatMessages(message: z.output<typeof MESSAGE>): ChatMessage[] {
  if (typeof message.content === "string") {
    return [{ role: message.role, content: message.content }];
  }
  const texts: string[] = [];
  const calls: ChatToolCall[] = [];
  const results: ChatMessage[] = [];
  for (const block of message.content as Block[]) {
    if (block.type === "text") texts.push(block.text as string);
    else if (block.type === "tool_use") {
      calls.push({
        id: block.id as string,
        type: "function",
        function: { name: block.name as string, arguments: JSON.stringify(block.input) },
      });
    } else if (block.type === "tool_result") {
      const content = block.content as string | { text: string }[] | undefined;
      results.push({
        role: "tool",
        tool_call_id: block.tool_use_id as string,
        content: content === undefined
          ? ""
          : typeof content === "string"
          ? content
          : textOf(content),
      });
    }
  }
  // Tool results answer the calls of the turn before, so they come first (Anthropic puts them
  // at the start of the user's turn).
  const out = [...results];
  if (message.role === "assistant") {
    if (texts.length > 0 || calls.length > 0) {
      out.push({
        role: "assistant",
        content: texts.length > 0 ? texts.join("\n") : calls.length > 0 ? null : "",
        ...(calls.length > 0 && { tool_calls: calls }),
      });
    }
  } else if (texts.length > 0 || results.length === 0) {
    out.push({ role: "user", content: texts.join("\n") });
  }
  return out;
}

/** The function tools and tool choice of an Anthropic request, or `null` without tools. */
function toolsOf(body: AnthropicPrompt): ToolRequest | null {
  if (body.tools === undefined || body.tools.length === 0) return null;
  const tools: Tool[] = body.tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      parameters: tool.input_schema,
    },
  }));
  const choice = body.tool_choice;
  return {
    tools,
    choice: choice === undefined || choice.type === "auto"
      ? "auto"
      : choice.type === "any"
      ? "required"
      : choice.type === "none"
      ? "none"
      : { function: { name: choice.name as string } },
  };
}

/** The chat turn of an Anthropic request. */
export function anthropicTurn(body: AnthropicPrompt): ChatTurn {
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    const text = typeof body.system === "string" ? body.system : textOf(body.system);
    messages.push({ role: "system", content: text });
  }
  for (const message of body.messages) messages.push(...toChatMessages(message));
  return { messages, tools: toolsOf(body) };
}

/** The generation fields of an Anthropic request, in the names the mapping reads. */
export function anthropicGeneration(body: AnthropicRequest): GenerationInput {
  const { max_tokens, stop_sequences, metadata: _, ...rest } = body;
  return { ...rest, max_tokens, stop: (stop_sequences ?? []).filter((s) => s !== "") };
}
