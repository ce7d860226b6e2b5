/**
 * Meta Llama 3.1, 3.2 and 3.3: calls are bare JSON objects `{"name": ..., "parameters": {...}}`,
 * found by the analysis; the models also write OpenAI's wrapper around them
 * (`{"type": "function", ...}`), which becomes a trigger (upstream workaround "JSON
 * name/parameters tool instruction"). This release has no parser for the `<|python_tag|>`
 * built-in tools: they stay content.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Llama 3.x's OpenAI-wrapper trigger. */
export const LLAMA_3: TemplatePatch = {
  matches: (src) =>
    src.includes('Respond in the format {"name": function name') &&
    src.includes("Do not use variables."),
  patch(a) {
    a.tools.openaiWrapperTrigger = true;
  },
};
