/**
 * inclusionAI Ling / Bailing V3: the model may write whitespace between its argument tags
 * (upstream workaround "Bailing V3").
 *
 * @module
 */
import { trimWhitespace } from "../diff_split.ts";
import type { TemplatePatch } from "../template_analysis.ts";

/** Bailing V3's whitespace tolerance. */
export const BAILING_V3: TemplatePatch = {
  matches: (src) => src.includes("Bailing V3 chat template"),
  patch(a) {
    a.tools.argValueSuffix = trimWhitespace(a.tools.argValueSuffix);
    a.tools.tolerateIntertagWhitespace = true;
  },
};
