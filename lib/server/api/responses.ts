/**
 * OpenAI's Responses API requests (`/v1/responses` and `/v1/responses/input_tokens`), declared
 * as schemas, and their mapping to a {@linkcode ChatTurn}: `instructions` become a system
 * message, input items become chat messages (function calls and their outputs become assistant
 * tool calls and tool messages), and a `previous_response_id` puts the stored conversation
 * first. Function tools only; images, files and audio are refused (no projector is loaded).
 *
 * @module
 */
import * as z from "zod/mini";
import type { ChatMessage } from "../../engine/chat_template.ts";
import type { ChatTurn } from "./chat_turn.ts";
import { ApiError, invalidRequest } from "./errors.ts";
import { type GenerationInput, MAX_TOP_LOGPROBS, SAMPLING_EXTRAS } from "./generation_params.ts";
import type { Tool, ToolRequest } from "./messages.ts";
import type { ResponseStore } from "./response_store.ts";
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

/** A part type that needs a projector this server does not load. */
function refused<const T extends string>(type: T) {
  return z.looseObject({ type: z.literal(type) }).check(z.superRefine((_, ctx) => {
    ctx.addIssue({ code: "custom", message: `: ${type} input is not supported by this model` });
  }));
}

/** The error of an object whose `type` is missing or not one of `types`. */
function typeError(what: string, types: readonly string[]) {
  return (issue: { input?: unknown }): string => {
    const input = issue.input;
    if (!isObject(input)) {
      return input === undefined ? "is required" : `must be ${what}, got ${kind(input)}`;
    }
    if (input.type === undefined) return `is required: one of ${quotedList(types)}`;
    return `${JSON.stringify(input.type)} is not supported: use ${quotedList(types)}`;
  };
}

const PART_TYPES = ["input_text", "output_text", "refusal"];

const PART = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("input_text"), text: string() }),
  z.looseObject({ type: z.literal("output_text"), text: string() }),
  z.looseObject({ type: z.literal("refusal"), refusal: string() }),
  refused("input_image"),
  refused("input_file"),
  refused("input_audio"),
], { error: typeError("a content part object", PART_TYPES) });

const CONTENT_PARTS = z.union([string(), z.array(PART)], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string or an array of content parts, got ${kind(issue.input)}`,
});

const CONTENT = z.pipe(
  CONTENT_PARTS,
  z.transform((content: z.output<typeof CONTENT_PARTS>) =>
    typeof content === "string"
      ? content
      : content.map((part) => (part.type === "refusal" ? part.refusal : part.text) as string)
        .join("\n")
  ),
);

const ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning"];

/** One input item; a `{role, content}` without a type is a message. */
const ITEM = z.pipe(
  z.transform((item: unknown) =>
    isObject(item) && item.type === undefined && "role" in item
      ? { ...item, type: "message" }
      : item
  ),
  z.discriminatedUnion("type", [
    z.looseObject({
      type: z.literal("message"),
      role: oneOf(["user", "assistant", "system", "developer"]),
      content: CONTENT,
    }),
    z.looseObject({
      type: z.literal("function_call"),
      call_id: string(),
      name: nonEmptyString(),
      arguments: string(),
    }),
    z.looseObject({
      type: z.literal("function_call_output"),
      call_id: string(),
      output: CONTENT,
    }),
    z.looseObject({ type: z.literal("reasoning") }),
  ], { error: typeError("an input item object", ITEM_TYPES) }),
);

/** `input`: text (one user message) or a list of items. */
const INPUT = z.union([string(), z.array(ITEM)], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string or an array of input items, got ${kind(issue.input)}`,
});

/** A function tool (the only kind this server runs). */
const TOOL = z.looseObject({
  type: z.literal("function", {
    error: (issue) =>
      `${JSON.stringify(issue.input ?? null)} is not supported: only function tools are`,
  }),
  name: nonEmptyString(),
  description: optional(string()),
  parameters: optional(z.record(z.string(), z.unknown(), {
    error: () => "must be a JSON Schema object",
  })),
  strict: optional(boolean()),
});

const TOOL_CHOICE = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), name: string() }),
], {
  error: () => 'must be "none", "auto", "required" or {"type":"function","name":...}',
});

const TEXT_FORMAT = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    name: optional(string()),
    schema: z.record(z.string(), z.unknown(), {
      error: (
        issue,
      ) => (issue.input === undefined ? "is required" : "must be a JSON Schema object"),
    }),
    strict: optional(boolean()),
  }),
], { error: typeError("an object", ["text", "json_object", "json_schema"]) });

/** The prompt's parts, all that `input_tokens` takes. */
const PROMPT_FIELDS = {
  model: optional(string()),
  input: optional(INPUT),
  instructions: optional(string()),
  previous_response_id: optional(string()),
  tools: optional(z.array(TOOL, { error: (i) => `must be an array, got ${kind(i.input)}` })),
  tool_choice: optional(TOOL_CHOICE),
};

/** The request body of `POST /v1/responses/input_tokens`. */
export const INPUT_TOKENS_REQUEST = z.object(PROMPT_FIELDS);

/** The request body of `POST /v1/responses`. */
export const RESPONSES_REQUEST = z.object({
  ...PROMPT_FIELDS,
  store: optional(boolean()),
  stream: optional(boolean()),
  ...SAMPLING_EXTRAS,
  temperature: optional(number({ min: 0, max: 2 })),
  top_p: optional(number({ min: 0, max: 1 })),
  max_output_tokens: optional(integer(1, INT32_MAX)),
  top_logprobs: optional(integer(0, MAX_TOP_LOGPROBS)),
  text: optional(z.looseObject({ format: optional(TEXT_FORMAT) })),
  metadata: optional(z.record(z.string(), string())),
  parallel_tool_calls: optional(boolean()),
  truncation: optional(oneOf(["auto", "disabled"])),
  user: optional(string()),
  include: optional(z.array(string())),
  reasoning: optional(jsonObject()),
  background: optional(boolean().check(z.refine((b) => !b, { error: "is not supported" }))),
});

/** A parsed `/v1/responses/input_tokens` body (a `/v1/responses` body is one too). */
export type ResponsesPrompt = z.output<typeof INPUT_TOKENS_REQUEST>;
/** A parsed `/v1/responses` body. */
export type ResponsesRequest = z.output<typeof RESPONSES_REQUEST>;

/** The chat messages of the input items. */
function inputMessages(input: z.output<typeof INPUT>): ChatMessage[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: ChatMessage[] = [];
  for (const item of input) {
    const last = out.at(-1);
    if (item.type === "message") {
      const role = item.role === "developer" ? "system" : item.role;
      out.push({ role, content: item.content as string });
    } else if (item.type === "function_call") {
      const call = {
        id: item.call_id as string,
        type: "function",
        function: { name: item.name as string, arguments: item.arguments as string },
      };
      // Calls right after an assistant message (or after other calls) belong to that turn.
      if (last?.role === "assistant") (last.tool_calls ??= []).push(call);
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (item.type === "function_call_output") {
      out.push({
        role: "tool",
        tool_call_id: item.call_id as string,
        content: item.output as string,
      });
    }
  }
  return out;
}

/** The tools and tool choice of a Responses request, or `null` without tools. */
function toolsOf(body: ResponsesPrompt): ToolRequest | null {
  if (body.tools === undefined || body.tools.length === 0) return null;
  const tools: Tool[] = body.tools.map(({ type: _, name, description, parameters, strict }) => ({
    type: "function",
    function: {
      name,
      ...(description !== undefined && { description }),
      ...(parameters !== undefined && { parameters }),
      ...(strict !== undefined && { strict }),
    },
  }));
  const choice = body.tool_choice;
  return {
    tools,
    choice: choice === undefined
      ? "auto"
      : typeof choice === "string"
      ? choice
      : { function: { name: choice.name as string } },
  };
}

/** A Responses request as one chat turn, with the new input apart (what a stored turn adds). */
export interface ResponsesTurn extends ChatTurn {
  /** The conversation before the instructions are put first (what is stored). */
  history: ChatMessage[];
}

/**
 * The chat turn of a Responses request: the stored conversation of `previous_response_id`
 * (a 400 when it is not stored), then the input, behind the request's own instructions.
 */
export function responsesTurn(body: ResponsesPrompt, store: ResponseStore): ResponsesTurn {
  if (body.input === undefined) throw invalidRequest("input is required", "input");
  const history: ChatMessage[] = [];
  if (body.previous_response_id !== undefined) {
    const previous = store.get(body.previous_response_id);
    if (previous === undefined) {
      throw new ApiError(
        "invalid_request_error",
        `Previous response with id "${body.previous_response_id}" not found: it was never stored, was deleted, or was evicted (the store keeps ${store.maxCount} responses)`,
        { param: "previous_response_id" },
      );
    }
    history.push(...previous.history);
  }
  history.push(...inputMessages(body.input));
  const messages = body.instructions !== undefined && body.instructions !== ""
    ? [{ role: "system", content: body.instructions }, ...history]
    : [...history];
  return { messages, history, tools: toolsOf(body) };
}

/** The generation fields of a Responses request, in the names the mapping reads. */
export function responsesGeneration(body: ResponsesRequest): GenerationInput {
  const format = body.text?.format;
  const {
    max_output_tokens,
    top_logprobs,
    include,
    text: _text,
    metadata: _metadata,
    ...rest
  } = body;
  const logprobs = top_logprobs !== undefined ||
    (include ?? []).includes("message.output_text.logprobs");
  return {
    ...rest,
    ...(max_output_tokens !== undefined && { max_tokens: max_output_tokens }),
    logprobs,
    ...(logprobs && { top_logprobs: top_logprobs ?? 0 }),
    ...(format !== undefined && format.type !== "text" && {
      response_format: format.type === "json_schema"
        ? { type: "json_schema", json_schema: { schema: format.schema } }
        : { type: "json_object", json_schema: undefined },
    }),
  };
}
