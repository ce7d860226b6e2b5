/**
 * Moonshot Kimi K2 (upstream `parsers/kimi-k2.cpp`): `<think>` reasoning, then calls
 * `<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:N<|tool_call_argument_begin|>{...}<|tool_call_end|>...`
 * whose id is `functions.NAME:N`; the model may call tools without closing its reasoning.
 *
 * @module
 */
import { buildChatParser, functionTools, toolParameters } from "../chat_peg_builder.ts";
import type { ChatFormatFamily } from "../chat_format_family.ts";
import type { ChatParams } from "../chat_params.ts";
import {
  applyTemplate,
  contentBeforeCalls,
  hasContinuation,
  renderContent,
  templateGenerationPrompt,
} from "../template_apply.ts";

const SECTION_BEGIN = "<|tool_calls_section_begin|>";
const SECTION_END = "<|tool_calls_section_end|>";
const CALL_BEGIN = "<|tool_call_begin|>";
const ARGS_BEGIN = "<|tool_call_argument_begin|>";
const CALL_END = "<|tool_call_end|>";
const GEN_PROMPT = "<|im_assistant|>assistant<|im_middle|>";

/** Kimi K2's format. */
export const KIMI_K2: ChatFormatFamily = {
  name: "Kimi K2",
  matches: (src) => src.includes(SECTION_BEGIN) && src.includes(CALL_BEGIN),
  params(template, inputs): ChatParams {
    const params: ChatParams = {
      format: "Kimi K2",
      prompt: applyTemplate(template, inputs),
      generationPrompt: templateGenerationPrompt(template, inputs),
      grammar: "",
      grammarLazy: false,
      grammarTriggers: [],
      preservedTokens: [
        SECTION_BEGIN,
        SECTION_END,
        CALL_BEGIN,
        ARGS_BEGIN,
        CALL_END,
        "<think>",
        "</think>",
      ],
      additionalStops: [],
      supportsThinking: true,
      thinkingStartTag: "<think>",
      thinkingEndTags: ["</think>"],
      parser: null,
    };
    const tools = functionTools(inputs.tools);
    const hasTools = tools.length > 0;
    const extractReasoning = inputs.reasoningFormat !== "none";
    if (hasContinuation(inputs)) {
      const msg = inputs.continueMessage!;
      params.generationPrompt = GEN_PROMPT + "<think>" + (msg.reasoning_content ?? "");
      if (inputs.continueFinalMessage === "content") {
        params.generationPrompt += "</think>" + renderContent(msg);
      }
      params.prompt += params.generationPrompt;
    }
    const parser = buildChatParser((p) => {
      const reasoning = extractReasoning
        ? p.optional(
          p.seq(
            "<think>",
            p.reasoning(p.until("</think>", SECTION_BEGIN, CALL_BEGIN)),
            p.optional(p.literal("</think>")),
          ),
        )
        : p.eps();
      const generation = p.literal(GEN_PROMPT);
      if (!hasTools || inputs.toolChoice === "none") {
        return p.seq(generation, reasoning, p.content(p.rest()), p.end());
      }
      let choice = p.choice();
      for (const tool of tools) {
        const name = tool.function.name;
        const id = p.toolId(p.seq("functions.", p.toolName(name), ":", p.chars("[0-9]", 1, -1)));
        const call = p.tool(
          p.seq(
            p.toolOpen(p.seq(id, ARGS_BEGIN)),
            p.toolArgs(p.schema(p.json(), `tool-${name}-schema`, toolParameters(tool.function))),
            p.toolClose(p.optional(p.literal(CALL_END))),
          ),
        );
        choice = p.choice(choice, p.rule(`tool-${name}`, call));
      }
      const minCalls = inputs.toolChoice === "required" ? 1 : 0;
      const maxCalls = inputs.parallelToolCalls ? -1 : 1;
      const toolCalls = p.rule(
        "tool-calls",
        p.seq(
          p.optional(p.literal(SECTION_BEGIN)),
          p.triggerRule(
            "tool-call",
            p.seq(
              p.repeat(p.seq(CALL_BEGIN, choice), minCalls, maxCalls),
              p.optional(p.literal(SECTION_END)),
            ),
          ),
        ),
      );
      return p.seq(
        generation,
        reasoning,
        contentBeforeCalls(inputs, p.content(p.until(SECTION_BEGIN, CALL_BEGIN)), p.eps()),
        toolCalls,
        p.end(),
      );
    });
    params.parser = parser;
    if (hasTools && inputs.toolChoice !== "none") {
      params.grammarLazy = inputs.toolChoice === "auto";
      params.grammar = parser.grammar(params.grammarLazy);
      params.grammarTriggers = [{ type: "word", value: CALL_BEGIN }];
    }
    return params;
  },
};
