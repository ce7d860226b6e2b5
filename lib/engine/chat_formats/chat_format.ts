/**
 * Applying a chat template to a request the way llama.cpp's `common_chat_templates_apply` does
 * with `--jinja` (release v0.5.0): the messages prepared for the template, then a family with a
 * dedicated format when the template is one of theirs, else the generic format built from the
 * template's analysis; and parsing the generated text back into content, reasoning and tool
 * calls, streamed or whole ({@linkcode parseChatOutput}).
 *
 * @module
 */
import { ChatTemplate } from "../chat_template.ts";
import type { ChatFormatFamily } from "./chat_format_family.ts";
import {
  buildChatParser,
  ChatMapper,
  functionTools,
  type ToolDefinition,
} from "./chat_peg_builder.ts";
import type { ParsedMessage } from "./chat_message.ts";
import { type ChatParams, contentOnlyParams } from "./chat_params.ts";
import { FUNCTIONARY_V3_2 } from "./families/functionary_v3_2.ts";
import { GPT_OSS } from "./families/gpt_oss.ts";
import { KIMI_K2 } from "./families/kimi_k2.ts";
import { LFM2, LFM2_5 } from "./families/lfm2.ts";
import { MINISTRAL_3 } from "./families/ministral_3.ts";
import { QWEN3_CODER } from "./families/qwen3_coder.ts";
import { UNPORTED_FAMILIES } from "./families/unported.ts";
import { genericParams } from "./generic_format.ts";
import { PegContext, PegResult } from "./peg_parser.ts";
import { analyzeTemplate } from "./template_analysis.ts";
import {
  applyTemplate,
  type Continuation,
  dateContext,
  type FormatInputs,
  FormatTemplate,
  type InputMessage,
  type ReasoningFormat,
  templateGenerationPrompt,
  templateMessages,
  type ToolChoice,
} from "./template_apply.ts";
import { TEMPLATE_PATCHES } from "./template_patches.ts";
import { trimWhitespace } from "./diff_split.ts";

/** The families with dedicated formats, in upstream's detection order. */
export const DEDICATED_FAMILIES: readonly ChatFormatFamily[] = [
  MINISTRAL_3,
  GPT_OSS,
  ...UNPORTED_FAMILIES.slice(0, 1), // Muse Glimmer
  FUNCTIONARY_V3_2,
  KIMI_K2,
  ...UNPORTED_FAMILIES.slice(1, 4), // Kimi K3, Ling 3, Cohere2 MoE
  LFM2,
  LFM2_5,
  ...UNPORTED_FAMILIES.slice(4), // GigaChat 3, MiniMax-M3, DeepSeek V3.2/V4, Gemma 4, MiniCPM5
  QWEN3_CODER,
];

/** A chat request as the formats take it. */
export interface ChatRequest {
  messages: readonly InputMessage[];
  /** Function tools (others are ignored); none or empty: no tools. */
  tools?: readonly ToolDefinition[];
  toolChoice?: ToolChoice;
  /** With `toolChoice` "required": the call comes at once, no text before it. */
  immediateCall?: boolean;
  /** Default: whether the template renders parallel calls. */
  parallelToolCalls?: boolean;
  reasoningFormat?: ReasoningFormat;
  enableThinking?: boolean;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: Continuation;
  /** `response_format`'s JSON schema. */
  jsonSchema?: Record<string, unknown>;
  /** Template variables (`chat_template_kwargs`), as JSON values. */
  kwargs?: Record<string, unknown>;
  /** The time `strftime_now`, `datetime` and `date_string` show (default now). */
  now?: Date;
  /** The model adds BOS / EOS itself (a template's own is dropped). */
  addBos?: boolean;
  addEos?: boolean;
  /** Read everything as content (upstream --skip-chat-parsing). */
  forcePureContent?: boolean;
}

/**
 * `template` made ready for the formats, with the BOS/EOS texts of the model: two templates
 * that throw on valid conversations are patched as upstream patches them (GPT-OSS refuses
 * channel markers in content; Mistral refuses an assistant message with neither content nor
 * calls).
 */
export function formatTemplate(
  template: ChatTemplate,
  bosToken: string,
  eosToken: string,
): FormatTemplate {
  let source = template.source;
  if (source.includes("<|channel|>") && source.includes("in message.content or")) {
    source = source.replaceAll(
      '{%- if "<|channel|>analysis<|message|>" in message.content or "<|channel|>final<|message|>" in message.content %}',
      "{%- if false %}",
    );
  }
  if (source.includes("[TOOL_CALLS]") && source.includes("if (message['content'] is none or")) {
    source = source.replaceAll(
      "{%- if (message['content'] is none or message['content'] == '' or message['content']|length == 0) and (message['tool_calls'] is not defined or message['tool_calls'] is none or message['tool_calls']|length == 0) %}",
      "{%- if false %}",
    );
  }
  const ready = source === template.source ? template : new ChatTemplate(source, template.origin);
  return new FormatTemplate(ready, bosToken, eosToken);
}

/** The family that handles `source`, or null for the generic format. */
export function dedicatedFamily(source: string): ChatFormatFamily | null {
  return DEDICATED_FAMILIES.find((family) => family.matches(source)) ?? null;
}

/**
 * The prompt, grammar, triggers and parser of `request` with `template` (upstream
 * common_chat_templates_apply_jinja). Throws `RangeError` for requests the template cannot take
 * (a template error, tool arguments that are not JSON).
 */
export function applyChatFormat(template: FormatTemplate, request: ChatRequest): ChatParams {
  let messages = [...request.messages];
  if (template.source.includes("You have access to the following functions in JSONSchema format")) {
    // StepFun: untrimmed content drives the model into reasoning loops
    messages = messages.map((m) => ({
      ...m,
      content: m.content === null ? null : trimWhitespace(m.content),
      ...(m.reasoning_content !== undefined &&
        { reasoning_content: trimWhitespace(m.reasoning_content) }),
    }));
  }
  const now = request.now ?? new Date();
  const tools = functionTools(request.tools ?? []);
  const inputs: FormatInputs = {
    messages: templateMessages(template, messages),
    tools,
    toolChoice: request.toolChoice ?? "auto",
    parallelToolCalls: request.parallelToolCalls ?? template.caps.supportsParallelToolCalls,
    reasoningFormat: request.reasoningFormat ?? "none",
    addGenerationPrompt: request.addGenerationPrompt ?? true,
    continueFinalMessage: request.continueFinalMessage ?? "none",
    continueMessage: null,
    enableThinking: request.enableThinking ?? true,
    now,
    extraContext: { ...dateContext(now), ...request.kwargs },
    addBos: request.addBos ?? false,
    addEos: request.addEos ?? false,
  };
  if (request.jsonSchema !== undefined) inputs.jsonSchema = request.jsonSchema;
  if (request.immediateCall) inputs.immediateCall = true;
  if (inputs.continueFinalMessage !== "none") {
    inputs.addGenerationPrompt = false;
    // the message continued as given (StepFun's trimming is for rendering only)
    const last = request.messages.at(-1);
    if (last !== undefined) {
      inputs.continueMessage = last;
      inputs.messages = inputs.messages.slice(0, -1);
      if (inputs.continueFinalMessage === "auto") {
        inputs.continueFinalMessage =
          (last.reasoning_content ?? "") !== "" && (last.content ?? "") === ""
            ? "reasoning"
            : "content";
      }
    }
  }
  if (request.forcePureContent) {
    const prompt = applyTemplate(template, { ...inputs, reasoningFormat: "none" });
    const generationPrompt = templateGenerationPrompt(template, inputs);
    const params = contentOnlyParams(prompt, generationPrompt, "pure content");
    params.parser = buildChatParser((p) => p.seq(p.literal(generationPrompt), p.content(p.rest())));
    return params;
  }
  const family = dedicatedFamily(template.source);
  if (family !== null) return family.params(template, inputs);
  return genericParams(template, inputs, analyzeTemplate(template, TEMPLATE_PATCHES));
}

/**
 * The message in `text`, generated after `params`' prompt (upstream common_chat_peg_parse):
 * `partial` while the text may still grow (a stream), in which case an unfinished structure is
 * read as far as it goes. Throws `SyntaxError` when complete text does not match the format.
 */
export function parseChatOutput(params: ChatParams, text: string, partial: boolean): ParsedMessage {
  const arena = params.parser ?? buildChatParser((p) => p.seq(p.content(p.rest()), p.end()));
  const ctx = new PegContext(params.generationPrompt + text, true);
  const result = arena.parse(ctx);
  if (result.type === PegResult.Fail) {
    if (partial && result.end > 0) return new ChatMapper().fromAst(ctx.ast, result);
    throw new SyntaxError(`The model's output does not match the ${params.format} chat format`);
  }
  return new ChatMapper().fromAst(ctx.ast, result);
}
