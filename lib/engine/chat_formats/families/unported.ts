/**
 * Families that llama.cpp gives dedicated parsers this port does not have yet: Muse Glimmer,
 * Kimi K3, Ling 3, Cohere2 MoE, GigaChat 3, MiniMax-M3, DeepSeek V3.2/V4, Gemma 4 and MiniCPM5.
 * Their templates are recognized as upstream recognizes them, rendered, and their output read as
 * plain content (no tool calls, no grammar), rather than through the generic format, whose
 * analysis does not fit them.
 *
 * @module
 */
import type { ChatFormatFamily } from "../chat_format_family.ts";
import { contentOnlyParams } from "../chat_params.ts";
import { buildChatParser } from "../chat_peg_builder.ts";
import { applyTemplate, templateGenerationPrompt } from "../template_apply.ts";

function contentOnly(name: string, matches: (src: string) => boolean): ChatFormatFamily {
  return {
    name,
    matches,
    params(template, inputs) {
      const generationPrompt = templateGenerationPrompt(template, inputs);
      const params = contentOnlyParams(
        applyTemplate(template, inputs),
        generationPrompt,
        `${name} (content only)`,
      );
      params.parser = buildChatParser((p) =>
        p.seq(p.literal(generationPrompt), p.content(p.rest()))
      );
      return params;
    },
  };
}

/** The unported families, in upstream's detection order. */
export const UNPORTED_FAMILIES: readonly ChatFormatFamily[] = [
  contentOnly(
    "Muse Glimmer",
    (src) => src.includes("<atem:function_calls>") && src.includes("<|eom|>"),
  ),
  contentOnly(
    "Kimi K3",
    (src) =>
      src.includes("<|open|>") && src.includes("<|close|>") && src.includes("<|end_of_msg|>"),
  ),
  contentOnly(
    "Ling 3",
    (src) => src.includes("<role>ASSISTANT</role>") && src.includes("<arg_key>"),
  ),
  contentOnly(
    "Cohere2 MoE",
    (src) => src.includes("<|START_TEXT|>") && src.includes("<|START_ACTION|>"),
  ),
  contentOnly(
    "GigaChat 3",
    (src) =>
      src.includes("<|role_sep|>") && src.includes("<|message_sep|>") &&
      !src.includes("<|function_call|>"),
  ),
  contentOnly(
    "MiniMax-M3",
    (src) =>
      src.includes("]<]minimax[>[") && src.includes("<tool_call>") && src.includes("<invoke name="),
  ),
  contentOnly(
    "DeepSeek V3.2",
    (src) =>
      src.includes("dsml_token") && src.includes("DSML") &&
      (src.includes("function_calls") || src.includes("tool_calls")),
  ),
  contentOnly("Gemma 4", (src) => src.includes("'<|tool_call>call:'")),
  contentOnly(
    "MiniCPM5",
    (src) =>
      src.includes("Tool usage guidelines:") && src.includes('<function name="') &&
      src.includes('<param name="'),
  ),
];
