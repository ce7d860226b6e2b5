/**
 * What the three chat APIs (OpenAI chat completions, Anthropic messages, OpenAI responses)
 * share once their requests are mapped to chat messages: the chat format of the model's
 * template applied to the turn ({@linkcode prepareChat}: the prompt tokens, with only the
 * template's own markers as control tokens; the grammar that constrains tool calls, lazily
 * behind the format's triggers unless a call is required; the reasoning settings) and the
 * sampling that follows from it ({@linkcode chatGeneration}). The answer is read back with
 * {@linkcode ChatOutput} (chat_output.ts).
 *
 * @module
 */
import {
  applyChatFormat,
  type ChatRequest,
  formatTemplate,
} from "../../engine/chat_formats/chat_format.ts";
import type { ChatParams } from "../../engine/chat_formats/chat_params.ts";
import { chatSampling } from "../../engine/chat_formats/chat_sampling.ts";
import type { ReasoningFormat } from "../../engine/chat_formats/template_apply.ts";
import type { FormatTemplate } from "../../engine/chat_formats/template_apply.ts";
import {
  type ChatMessage,
  mediaSegments,
  PromptShield,
  type RenderedChat,
  shieldedPieces,
  specialTokenText,
  tokenizeRendered,
} from "../../engine/chat_template.ts";
import type { MediaPrompt } from "../../engine/media_prompt.ts";
import { invalidRequest } from "./errors.ts";
import { checkTextFits } from "./generation.ts";
import type { GenerationParams } from "./generation_params.ts";
import { imageUrlBytes, MEDIA_MARKER, promptWithImages, requireProjector } from "./media.ts";
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
  /** Several calls in one answer (default: whether the template renders several). */
  parallelToolCalls?: boolean | undefined;
  /** Where reasoning goes (default: the server's `--reasoning-format`). */
  reasoningFormat?: ReasoningFormat | undefined;
  /**
   * Continue the last (assistant) message instead of answering it (`continue_final_message`, or
   * llama.cpp's prefill of a trailing assistant message): the messages before it are rendered
   * with the assistant's turn header, and its text follows as the start of the answer.
   */
  continueFinal?: boolean;
}

/** The server's reasoning settings (`--reasoning-format`, `--reasoning`, `--reasoning-budget`). */
export interface ChatOptions {
  reasoningFormat: ReasoningFormat;
  /** Whether templates that can think are asked to: on, off, or as the template supports. */
  reasoning: "on" | "off" | "auto";
  /** Thinking tokens allowed per answer; -1 unlimited. */
  reasoningBudget: number;
  /** Text forced before the end tag when the budget runs out. */
  reasoningBudgetMessage: string;
  /** Template variables every chat gets unless it names its own (`--chat-template-kwargs`). */
  templateKwargs: Readonly<Record<string, unknown>>;
  /** Answers in content only, reasoning and tool calls left in it (`--skip-chat-parsing`). */
  pureContent: boolean;
}

/** llama.cpp's defaults. */
export const DEFAULT_CHAT_OPTIONS: ChatOptions = {
  reasoningFormat: "deepseek",
  reasoning: "auto",
  reasoningBudget: -1,
  reasoningBudgetMessage: "",
  templateKwargs: {},
  pureContent: false,
};

/** True when the model may answer with tool calls (tools given, and the choice is not "none"). */
export function callsTools(tools: ToolRequest | null): boolean {
  return tools !== null && tools.choice !== "none";
}

const formats = new WeakMap<object, { format: FormatTemplate; thinking: boolean }>();

/** The engine's template made ready for the chat formats, and whether it can think. */
export function engineFormat(engine: Engine): { format: FormatTemplate; thinking: boolean } {
  let found = formats.get(engine.template);
  if (found === undefined) {
    const model = engine.model;
    const format = formatTemplate(
      engine.template,
      specialTokenText(model, model.bos),
      specialTokenText(model, model.eos),
    );
    let thinking = false;
    try {
      thinking = applyChatFormat(format, {
        messages: [{ role: "user", content: "test" }],
        reasoningFormat: "deepseek",
      }).supportsThinking;
    } catch {
      // a template that cannot render one user message: requests will say why
    }
    found = { format, thinking };
    formats.set(engine.template, found);
  }
  return found;
}

/** The tools a request lets the model call, and whether it must (a named choice narrows them). */
function toolSet(
  tools: ToolRequest,
): { tools: Tool[]; choice: "auto" | "required" | "none"; named: boolean } {
  const choice = tools.choice;
  if (typeof choice !== "object") return { tools: tools.tools, choice, named: false };
  const named = tools.tools.filter((tool) => tool.function.name === choice.function.name);
  if (named.length === 0) {
    throw invalidRequest(
      `tool_choice names the tool "${choice.function.name}", which is not among the tools`,
      "tool_choice",
    );
  }
  return { tools: named, choice: "required", named: true };
}

/** A turn with its chat format applied. */
export interface PreparedChat {
  /** The prompt's tokens. */
  tokens: number[];
  /** The format's params (prompt text, grammar, parser). */
  params: ChatParams;
  /** The prompt as text, the request's own text in it as sent. */
  text: string;
  /** Tools were given and the model may call them. */
  callsTools: boolean;
}

/**
 * The chat format of the engine's template applied to `turn`: tools are a 400 when the
 * template does not render them, and so is a template error (`raise_exception`) or tool-call
 * arguments it needs as objects that are not JSON; messages that cannot fit a slot whatever
 * their tokens are refused before they are rendered (`param` names them in the error).
 */
export async function prepareChat(
  engine: Engine,
  turn: ChatTurn,
  options: ChatOptions = DEFAULT_CHAT_OPTIONS,
  param = "messages",
): Promise<PreparedChat> {
  const { params, rendered } = formatTurn(engine, turn, options, param);
  // long conversations are tokenized off the JS thread
  const prompt = await tokenizeRendered(engine.model, rendered);
  return { tokens: prompt.tokens, params, text: prompt.text, callsTools: callsTools(turn.tools) };
}

/** The chat format applied to `turn` (see {@linkcode prepareChat}), not yet tokenized. */
function formatTurn(
  engine: Engine,
  turn: ChatTurn,
  options: ChatOptions,
  param: string,
): { params: ChatParams; rendered: RenderedChat } {
  const { format, thinking } = engineFormat(engine);
  if (turn.tools !== null && !format.caps.supportsTools && !format.caps.supportsToolCalls) {
    throw invalidRequest(
      `tools are not supported: the chat template (${engine.template.origin}) does not use them`,
      "tools",
    );
  }
  checkTextFits(engine, turn.messages.map((m) => m.content ?? ""), param);
  const tools = turn.tools === null ? null : toolSet(turn.tools);
  const kwargs: Record<string, unknown> = { ...options.templateKwargs, ...turn.kwargs };
  let enableThinking = options.reasoning !== "off" && thinking;
  if (options.reasoning !== "auto" && kwargs.enable_thinking === undefined) {
    kwargs.enable_thinking = options.reasoning === "on";
  }
  if (typeof kwargs.enable_thinking === "boolean") enableThinking = kwargs.enable_thinking;
  // Images (megabytes of data URIs) are not template input: their media markers stand for them.
  const messages = turn.messages.map(({ images: _, ...message }) => message);
  const sample = JSON.stringify([messages, tools?.tools ?? null, kwargs, format.source]);
  const shield = new PromptShield(engine.model, sample);
  const request: ChatRequest = {
    messages: shield.hide(messages),
    tools: shield.hide(tools?.tools ?? []) as ChatRequest["tools"],
    toolChoice: tools?.choice ?? "auto",
    immediateCall: tools?.named ?? false,
    reasoningFormat: turn.reasoningFormat ?? options.reasoningFormat,
    enableThinking,
    addGenerationPrompt: turn.addGenerationPrompt ?? true,
    kwargs: shield.hide(kwargs),
    addBos: engine.model.addsBos,
  };
  if (options.pureContent) request.forcePureContent = true;
  if (turn.continueFinal) {
    request.continueFinalMessage = "auto";
    request.addGenerationPrompt = false;
  }
  if (turn.parallelToolCalls !== undefined) request.parallelToolCalls = turn.parallelToolCalls;
  // a named tool is called once, at once
  if (tools?.named) request.parallelToolCalls = false;
  let params: ChatParams;
  try {
    params = applyChatFormat(format, request);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) {
      throw invalidRequest(error.message, param);
    }
    throw error;
  }
  return { params, rendered: shieldedPieces(engine.model, shield, params.prompt, format.bosToken) };
}

/**
 * `prepareChat` of `turn`, and the model's input: its tokens, or, when its messages carry
 * images, a prompt with the images where the chat template put their media markers (decoded by
 * the projector; a 400 when there is none, or an image is no image, or the template put
 * markers other than the images'). The caller owns a `MediaPrompt` (`respond` closes it).
 */
export async function chatInput(
  engine: Engine,
  turn: ChatTurn,
  options: ChatOptions = DEFAULT_CHAT_OPTIONS,
  param = "messages",
): Promise<{ chat: PreparedChat; input: number[] | MediaPrompt }> {
  const images = turn.messages.flatMap((message, i) =>
    (message.images ?? []).map((url, j) => ({
      url,
      param: `${param}[${i}].content${
        (message.images?.length ?? 0) > 1 ? ` (image ${j + 1})` : ""
      }`,
    }))
  );
  if (images.length === 0) {
    const chat = await prepareChat(engine, turn, options, param);
    return { chat, input: chat.tokens };
  }
  const projector = requireProjector(engine, images[0]!.param);
  // Decoded first: a bad URL is refused before any work.
  const files = images.map((image) => ({
    bytes: imageUrlBytes(image.url, image.param),
    param: image.param,
  }));
  // Rendered, not tokenized whole: the text between the images is tokenized below.
  const { params, rendered } = formatTurn(engine, turn, options, param);
  const segments = mediaSegments(engine.model, rendered.pieces, MEDIA_MARKER);
  if (segments.length - 1 !== images.length) {
    throw invalidRequest(
      `the chat template placed ${
        segments.length - 1
      } images and the messages hold ${images.length}: a text holds the media marker, or the template dropped a message with an image`,
      param,
    );
  }
  const input = await promptWithImages(projector, segments, files, { addSpecial: false });
  const chat = {
    tokens: input.tokens,
    params,
    text: rendered.text,
    callsTools: callsTools(turn.tools),
  };
  return { chat, input };
}

/** The prompt tokens of `turn` (what `prepareChat` gives, for endpoints that only count). */
export async function chatTokens(
  engine: Engine,
  turn: ChatTurn,
  param = "messages",
): Promise<number[]> {
  return (await prepareChat(engine, turn, DEFAULT_CHAT_OPTIONS, param)).tokens;
}

/**
 * Sets `params` for the format of `chat`: its tool-call grammar (a request's own grammar or
 * JSON schema cannot be combined with tools, a 400), its triggers, stop strings, the control
 * tokens whose text the output keeps, the generation prompt the grammar starts from, and the
 * thinking budget.
 */
export function chatGeneration(
  engine: Engine,
  chat: PreparedChat,
  params: GenerationParams,
  options: ChatOptions = DEFAULT_CHAT_OPTIONS,
): void {
  const sampling = chatSampling(
    engine.model,
    chat.params,
    options.reasoningBudget,
    options.reasoningBudgetMessage,
  );
  if (chat.callsTools && params.sampling.grammar !== undefined) {
    throw invalidRequest("grammar and response_format cannot be combined with tools", "tools");
  }
  if (sampling.grammar !== "") {
    params.sampling.grammar = sampling.grammar;
    params.sampling.grammarLazy = sampling.grammarLazy;
    params.sampling.grammarTriggerPatterns = sampling.grammarTriggerPatterns;
    params.sampling.grammarTriggerTokens = sampling.grammarTriggerTokens;
  }
  params.stop = [...params.stop, ...sampling.stops];
  params.chat = {
    preservedTokens: sampling.preservedTokens,
    generationPrompt: sampling.generationPrompt,
    ...(sampling.reasoningBudget && { reasoningBudget: sampling.reasoningBudget }),
  };
}
