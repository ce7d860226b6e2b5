/**
 * ServiceNow Apriel 1.6: its turn markers (upstream workaround "Apriel 1.6"); reasoning ends at
 * `[BEGIN FINAL RESPONSE]`, found by the analysis.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Apriel 1.6's turn markers. */
export const APRIEL_1_6: TemplatePatch = {
  matches: (src) => src.includes("if not loop.last and '[BEGIN FINAL RESPONSE]' in asst_text"),
  patch(a) {
    a.userStart = "<|begin_user|>";
    a.assistantStart = "<|begin_assistant|>";
  },
};
