/**
 * Liquid LFM2 and LFM2.5 (upstream `parsers/lfm2.cpp`): calls are Python-style,
 * `<|tool_call_start|>[name(arg="value", n=1)]<|tool_call_end|>`, after optional `<think>`
 * reasoning; LFM2 lists the tools between `<|tool_list_start|>` and `<|tool_list_end|>`.
 *
 * @module
 */
import { buildChatParser, functionTools } from "../chat_peg_builder.ts";
import type { ChatFormatFamily } from "../chat_format_family.ts";
import type { ChatParams } from "../chat_params.ts";
import {
  applyTemplate,
  contentBeforeCalls,
  type FormatInputs,
  type FormatTemplate,
  hasContinuation,
  renderContent,
  templateGenerationPrompt,
} from "../template_apply.ts";

const CALL_START = "<|tool_call_start|>";
const CALL_END = "<|tool_call_end|>";
const GEN_PROMPT = "<|im_start|>assistant\n";

/** Whether `src` is an LFM2 template (its tool list has markers). */
export function isLfm2Template(src: string): boolean {
  return src.includes("<|tool_list_start|>") && src.includes("<|tool_list_end|>");
}

function lfm2Params(
  template: FormatTemplate,
  inputs: FormatInputs,
  toolListTokens: boolean,
  format: string,
): ChatParams {
  // the template reads reasoning from "thinking"
  const messages = inputs.messages.map((m) =>
    typeof m.reasoning_content === "string" ? { ...m, thinking: m.reasoning_content } : m
  );
  const params: ChatParams = {
    format,
    prompt: applyTemplate(template, inputs, { messages }),
    generationPrompt: templateGenerationPrompt(template, inputs, { messages }),
    grammar: "",
    grammarLazy: false,
    grammarTriggers: [],
    preservedTokens: [CALL_START, CALL_END, "<think>", "</think>"],
    additionalStops: [],
    supportsThinking: true,
    thinkingStartTag: "<think>",
    thinkingEndTags: ["</think>"],
    parser: null,
  };
  if (toolListTokens) params.preservedTokens.push("<|tool_list_start|>", "<|tool_list_end|>");
  const tools = functionTools(inputs.tools);
  const hasTools = tools.length > 0;
  const responseFormat = inputs.jsonSchema !== undefined;
  const extractReasoning = inputs.reasoningFormat !== "none" && template.source.includes("<think>");
  const includeGrammar = responseFormat || (hasTools && inputs.toolChoice !== "none");
  if (hasContinuation(inputs)) {
    const msg = inputs.continueMessage!;
    params.generationPrompt = GEN_PROMPT + "<think>" + (msg.reasoning_content ?? "");
    if (inputs.continueFinalMessage === "content") {
      params.generationPrompt += "</think>" + renderContent(msg);
    }
    params.prompt += params.generationPrompt;
  }
  const parser = buildChatParser((p) => {
    const generation = p.literal(GEN_PROMPT);
    const reasoning = extractReasoning
      ? p.optional(p.seq("<think>", p.reasoning(p.until("</think>")), "</think>"))
      : p.eps();
    if (!hasTools || inputs.toolChoice === "none") {
      if (responseFormat) {
        const format = p.content(p.schema(p.json(), "response-format-schema", inputs.jsonSchema));
        return p.seq(generation, reasoning, format, p.end());
      }
      return p.seq(generation, reasoning, p.content(p.rest()), p.end());
    }
    const toolCalls = p.rule(
      "tool-calls",
      p.triggerRule(
        "tool-call",
        p.seq(CALL_START, p.pythonStyleToolCalls(tools, inputs.parallelToolCalls, true), CALL_END),
      ),
    );
    return p.seq(
      generation,
      reasoning,
      contentBeforeCalls(inputs, p.content(p.until(CALL_START)), p.eps()),
      toolCalls,
      p.end(),
    );
  });
  params.parser = parser;
  if (includeGrammar) {
    params.grammarLazy = !(responseFormat || (hasTools && inputs.toolChoice === "required"));
    params.grammar = parser.grammar(params.grammarLazy);
    params.grammarTriggers = [{ type: "word", value: CALL_START }];
  }
  return params;
}

/** LFM2's format. */
export const LFM2: ChatFormatFamily = {
  name: "LFM2",
  matches: isLfm2Template,
  params: (template, inputs) => lfm2Params(template, inputs, true, "LFM2"),
};

/** LFM2.5's format (a plain "List of tools: [...]"). */
export const LFM2_5: ChatFormatFamily = {
  name: "LFM2.5",
  matches: (src) => src.includes("List of tools: [") && !src.includes("<|tool_list_start|>"),
  params: (template, inputs) => lfm2Params(template, inputs, false, "LFM2.5"),
};
