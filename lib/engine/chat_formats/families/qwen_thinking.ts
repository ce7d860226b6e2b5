/**
 * Older Qwen and DeepSeek reasoning templates (QwQ, DeepSeek R1 distills): they cut `<think>...`
 * out of past assistant messages (`content.split('</think>')`) instead of rendering
 * `reasoning_content`, so the diffs see no reasoning; it is `<think>...</think>` (upstream
 * workaround "old Qwen/Deepseek thinking template").
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** `<think>` reasoning for templates that split it out of past messages. */
export const QWEN_THINKING: TemplatePatch = {
  matches: (src) =>
    src.includes("content.split('</think>')") && !src.includes("reasoning_content") &&
    !src.includes("<SPECIAL_12>"),
  patch(a) {
    if (a.reasoning.mode !== "NONE") return;
    a.reasoning = { mode: "TAG_BASED", start: "<think>", end: "</think>" };
    a.preservedTokens.push("<think>", "</think>");
  },
};
