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
import { type ChatMessage, type ChatTemplate, renderChat } from "../../engine/chat_template.ts";
import { invalidRequest } from "./errors.ts";
import { checkTextFits } from "./generation.ts";
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
  /**
   * Continue the last (assistant) message instead of answering it (`continue_final_message`, or
   * llama.cpp's prefill of a trailing assistant message): the messages before it are rendered
   * with the assistant's turn header, and its text follows as the start of the answer.
   */
  continueFinal?: boolean;
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
  return (await chatRender(engine, turn, param)).tokens;
}

/** The prompt of `turn` as text and as tokens (see {@linkcode chatTokens}). */
export async function chatRender(
  engine: Engine,
  turn: ChatTurn,
  param = "messages",
): Promise<{ text: string; tokens: number[] }> {
  if (turn.tools !== null && !engine.template.supportsTools) {
    throw invalidRequest(
      `tools are not supported: the chat template (${engine.template.origin}) does not use them`,
      "tools",
    );
  }
  checkTextFits(engine, turn.messages.map((m) => m.content ?? ""), param);
  const last = turn.messages.at(-1);
  const continued = turn.continueFinal === true && last?.role === "assistant" ? last : null;
  const messages = continued === null ? turn.messages : turn.messages.slice(0, -1);
  try {
    const rendered = renderChat(engine.model, engine.template, messages, {
      addGenerationPrompt: continued !== null || (turn.addGenerationPrompt ?? true),
      ...(turn.tools !== null && { tools: turn.tools.tools, toolChoice: turn.tools.choice }),
      ...(turn.kwargs !== undefined && { extra: turn.kwargs }),
    });
    let { text, pieces } = rendered;
    if (continued !== null && continued.content) {
      // As llama.cpp's prefill: the text follows the rendered prompt and is tokenized with
      // the text before it (a piece of its own would get a tokenizer's leading space).
      const content = continued.content;
      text += content;
      const last = pieces.at(-1);
      pieces = typeof last === "string"
        ? [...pieces.slice(0, -1), last + content]
        : [...pieces, content];
    }
    return { text, tokens: await tokenizePieces(engine, pieces, text.length) };
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(error.message, "messages");
    throw error;
  }
}

/** Conversations this long (characters) are tokenized off the JS thread. */
const OFF_THREAD_CHARS = 32 * 1024;

/**
 * The tokens of rendered pieces: control tokens as they are, text without special parsing;
 * off the JS thread when the conversation is long (as `chatPromptAsync`).
 */
async function tokenizePieces(
  engine: Engine,
  pieces: readonly (string | number)[],
  chars: number,
): Promise<number[]> {
  const tokens: number[] = [];
  const options = { addSpecial: false, parseSpecial: false };
  for (const piece of pieces) {
    if (typeof piece === "number") {
      tokens.push(piece);
      continue;
    }
    const more = chars < OFF_THREAD_CHARS
      ? engine.model.tokenize(piece, options)
      : await engine.model.tokenizeAsync(piece, options);
    // A loop, not push(...more): a spread of 200k arguments overflows the stack.
    for (let i = 0; i < more.length; i++) tokens.push(more[i]!);
  }
  return tokens;
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
