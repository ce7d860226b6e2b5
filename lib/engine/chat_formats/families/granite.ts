/**
 * IBM Granite 3.3: thoughts in `<think></think>` and the answer in `<response></response>`,
 * which its template asks for in words rather than renders (upstream workaround "Granite 3.3").
 * Granite 4.x needs no patch: its `<tool_call>` JSON calls are found by the analysis.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Granite 3.3's reasoning and response tags. */
export const GRANITE_3_3: TemplatePatch = {
  matches: (src) =>
    src.includes(
      "Write your thoughts between <think></think> and write your response between <response></response>",
    ),
  patch(a) {
    a.reasoning = { mode: "TAG_BASED", start: "<think>", end: "</think>" };
    a.content = {
      ...a.content,
      mode: "WRAPPED_WITH_REASONING",
      start: "<response>",
      end: "</response>",
    };
    a.preservedTokens.push("<think>", "</think>", "<response>", "</response>");
  },
};
