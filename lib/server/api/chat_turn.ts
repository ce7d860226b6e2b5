/**
 * What the three chat APIs (OpenAI chat completions, Anthropic messages, OpenAI responses)
 * share once their requests are mapped to chat messages: the prompt from the chat template,
 * with tools where the template takes them ({@linkcode chatTokens}), and the grammar that makes
 * the model call a tool when the request requires one ({@linkcode toolGrammar}): a JSON call
 * matching one of the tools' parameter schemas, in the template's own tool-call markup, which
 * `parseToolCalls()` (tool_calls.ts) reads back.
 *
 * @module
 */
import {
  type ChatMessage,
  chatPromptAsync,
  chatSegments,
  type ChatTemplate,
} from "../../engine/chat_template.ts";
import { buildMediaPrompt, type MediaPrompt } from "../../engine/media_prompt.ts";
import { invalidRequest } from "./errors.ts";
import { checkTextFits } from "./generation.ts";
import { imageUrlBytes, MEDIA_MARKER, readRequestImages, requireProjector } from "./media.ts";
import { schemaGrammar } from "./generation_params.ts";
import type { Tool, ToolRequest } from "./messages.ts";
import type { Engine } from "./server_state.ts";

/** One turn of a chat: the conversation so far and what the model may do next. */
export interface ChatTurn {
  messages: ChatMessage[];
  tools: ToolRequest | null;
  /** End with the assistant's turn header (default true). */
  addGenerationPrompt?: boolean;
  /** More template variables (`chat_template_kwargs`). */
  kwargs?: Record<string, unknown> | undefined;
}

/** True when the model may answer with tool calls (tools given, and the choice is not "none"). */
export function callsTools(tools: ToolRequest | null): boolean {
  return tools !== null && tools.choice !== "none";
}

/**
 * The prompt tokens of `turn`: tools are a 400 when the template does not use them, and so is a
 * template error (`raise_exception`); messages that cannot fit a slot whatever their tokens are
 * refused before they are tokenized (`param` names them in the error).
 */
export async function chatTokens(
  engine: Engine,
  turn: ChatTurn,
  param = "messages",
): Promise<number[]> {
  if (turn.tools !== null && !engine.template.supportsTools) {
    throw invalidRequest(
      `tools are not supported: the chat template (${engine.template.origin}) does not use them`,
      "tools",
    );
  }
  checkTextFits(engine, turn.messages.map((m) => m.content ?? ""), param);
  try {
    // Long conversations are tokenized off the JS thread (chatPromptAsync).
    return (await chatPromptAsync(engine.model, engine.template, turn.messages, {
      addGenerationPrompt: turn.addGenerationPrompt ?? true,
      ...(turn.tools !== null && { tools: turn.tools.tools, toolChoice: turn.tools.choice }),
      ...(turn.kwargs !== undefined && { extra: turn.kwargs }),
    })).tokens;
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(error.message, "messages");
    throw error;
  }
}

/**
 * The prompt of `turn`: its tokens ({@linkcode chatTokens}), or, when its messages carry
 * images, a prompt with the images where the chat template put their media markers (decoded by
 * the projector; a 400 when there is none, or an image is no image, or the template put
 * markers other than the images').
 */
export async function chatInput(
  engine: Engine,
  turn: ChatTurn,
  param = "messages",
): Promise<number[] | MediaPrompt> {
  const images = turn.messages.flatMap((message, i) =>
    (message.images ?? []).map((url, j) => ({
      url,
      param: `${param}[${i}].content${
        (message.images?.length ?? 0) > 1 ? ` (image ${j + 1})` : ""
      }`,
    }))
  );
  if (images.length === 0) return await chatTokens(engine, turn, param);
  const projector = requireProjector(engine, images[0]!.param);
  // Decoded first: a bad URL is refused before any work.
  const files = images.map((image) => ({
    bytes: imageUrlBytes(image.url, image.param),
    param: image.param,
  }));
  if (turn.tools !== null && !engine.template.supportsTools) {
    throw invalidRequest(
      `tools are not supported: the chat template (${engine.template.origin}) does not use them`,
      "tools",
    );
  }
  checkTextFits(engine, turn.messages.map((m) => m.content ?? ""), param);
  let segments: number[][];
  try {
    segments = chatSegments(engine.model, engine.template, turn.messages, MEDIA_MARKER, {
      addGenerationPrompt: turn.addGenerationPrompt ?? true,
      ...(turn.tools !== null && { tools: turn.tools.tools, toolChoice: turn.tools.choice }),
      ...(turn.kwargs !== undefined && { extra: turn.kwargs }),
    });
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(error.message, param);
    throw error;
  }
  if (segments.length - 1 !== images.length) {
    throw invalidRequest(
      `the chat template placed ${
        segments.length - 1
      } images and the messages hold ${images.length}: a text holds the media marker, or the template dropped a message with an image`,
      param,
    );
  }
  const decoded = await readRequestImages(engine, files);
  try {
    const parts = segments.flatMap((
      tokens,
      i,
    ) => (i < decoded.length ? [tokens, decoded[i]!] : [tokens]));
    return await buildMediaPrompt(projector, parts, { addSpecial: false });
  } finally {
    for (const image of decoded) image.close();
  }
}

/** The tools a request requires the model to call among, or `null` when it may answer in text. */
function requiredTools(tools: ToolRequest): Tool[] | null {
  const choice = tools.choice;
  if (choice === "required") return tools.tools;
  if (typeof choice !== "object") return null;
  const named = tools.tools.filter((tool) => tool.function.name === choice.function.name);
  if (named.length === 0) {
    throw invalidRequest(
      `tool_choice names the tool "${choice.function.name}", which is not among the tools`,
      "tool_choice",
    );
  }
  return named;
}

/** The JSON schema of a call to one of `tools`: `{"name": ..., "arguments": {...}}`. */
function callSchema(tools: Tool[]): Record<string, unknown> {
  const calls = tools.map((tool) => ({
    type: "object",
    properties: {
      name: { const: tool.function.name },
      arguments: tool.function.parameters ?? { type: "object" },
    },
    required: ["name", "arguments"],
    additionalProperties: false,
  }));
  return calls.length === 1 ? calls[0]! : { anyOf: calls };
}

/** The rule name the call's own grammar gets when it is wrapped in the template's markup. */
const CALL_RULE = "llamafile-tool-call";

/**
 * The grammar that makes the model call a tool when `tools.choice` requires one ("required", or
 * a tool by name), or `undefined` when it may answer in text. The call is written the way the
 * template writes tool calls: Hermes `<tool_call>...</tool_call>`, Mistral `[TOOL_CALLS] [...]`,
 * or a bare JSON object.
 */
export function toolGrammar(template: ChatTemplate, tools: ToolRequest): string | undefined {
  const required = requiredTools(tools);
  if (required === null) return undefined;
  const grammar = schemaGrammar(callSchema(required), "tools");
  const [open, close] = template.source.includes("<tool_call>")
    ? ['"<tool_call>\\n"', '"\\n</tool_call>"']
    : template.source.includes("[TOOL_CALLS]")
    ? ['"[TOOL_CALLS] ["', '"]"']
    : [null, null];
  if (open === null) return grammar;
  // The converter names no rule "root" but the start rule ($ref "#" gets a rule of its own).
  return `root ::= ${open} ${CALL_RULE} ${close}\n${
    grammar.replace(/^root ::=/m, `${CALL_RULE} ::=`)
  }`;
}
