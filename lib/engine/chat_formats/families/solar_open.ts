/**
 * Upstage Solar Open: its assistant turn marker (upstream workaround "Solar Open").
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Solar Open's assistant marker. */
export const SOLAR_OPEN: TemplatePatch = {
  matches: (src) => src.includes("<|begin|>assistant<|think|><|end|>"),
  patch(a) {
    a.assistantStart = "<|begin|>assistant";
  },
};
