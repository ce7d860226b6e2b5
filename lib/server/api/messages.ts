/**
 * OpenAI chat `messages`, `tools` and `tool_choice`, declared as schemas that map to what the
 * chat template renders. Text content parts are joined with newlines (as llama.cpp does); an
 * `image_url` part becomes the server's media marker in the text, with no newline around it
 * (llama.cpp's rule), and its URL is kept with the message, in order, for the projector; audio
 * parts are refused.
 *
 * @module
 */
import * as z from "zod/mini";
import type { ChatMessage } from "../../engine/chat_template.ts";
import { MEDIA_MARKER } from "./media.ts";
import { jsonObject, kind, nonEmptyString, optional, string } from "./validate.ts";

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"] as const;

/** Content part types that need an audio projector, which this server does not take. */
const AUDIO_PARTS = new Set(["input_audio"]);

/** One parsed content part: text, or an image by its URL. */
type Part = { text: string } | { image: string };

/** One content part: text, an image (`image_url`), or a refusal naming what is not supported. */
const CONTENT_PART = z.pipe(
  z.object({
    type: z.optional(z.unknown()),
    text: z.optional(z.unknown()),
    image_url: z.optional(z.unknown()),
  }, {
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
    } else if (part.type === "image_url") {
      const url = part.image_url;
      const inner = url !== null && typeof url === "object" ? (url as { url?: unknown }).url : url;
      if (typeof inner !== "string") {
        ctx.addIssue({
          code: "custom",
          path: ["image_url"],
          message: `must be {"url": "data:image/...;base64,..."}, got ${kind(url)}`,
        });
      }
    } else if (typeof part.type === "string" && AUDIO_PARTS.has(part.type)) {
      ctx.addIssue({
        code: "custom",
        message: `: ${part.type} input is not supported by this model`,
      });
    } else {
      ctx.addIssue({
        code: "custom",
        path: ["type"],
        message: `${JSON.stringify(part.type ?? null)} is not supported: use "text" or "image_url"`,
      });
    }
  })),
  z.transform((part: { type?: unknown; text?: unknown; image_url?: unknown }): Part => {
    if (part.type === "text") return { text: part.text as string };
    const url = part.image_url;
    return {
      image:
        (url !== null && typeof url === "object" ? (url as { url: string }).url : url) as string,
    };
  }),
);

/** Parsed content: text, and the images it puts at its media markers, in order. */
interface Content {
  text: string;
  images: string[];
}

/** Joins parts as llama.cpp does: newlines between texts, none around a media marker. */
function joinParts(parts: readonly Part[]): Content {
  let text = "";
  const images: string[] = [];
  let lastWasMedia = false;
  for (const part of parts) {
    if ("image" in part) {
      text += MEDIA_MARKER;
      images.push(part.image);
      lastWasMedia = true;
    } else {
      if (!lastWasMedia && text !== "") text += "\n";
      text += part.text;
      lastWasMedia = false;
    }
  }
  return { text, images };
}

/** Message content: a string, or text and image parts. */
export const CONTENT = z.pipe(
  z.union([string(), z.array(CONTENT_PART)], {
    error: (issue) => `must be a string or an array of content parts, got ${kind(issue.input)}`,
  }),
  z.transform((value: string | Part[]): Content =>
    typeof value === "string" ? { text: value, images: [] } : joinParts(value)
  ),
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
      content: message.content?.text ?? null,
    };
    if (message.content !== undefined && message.content.images.length > 0) {
      out.images = message.content.images;
    }
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
