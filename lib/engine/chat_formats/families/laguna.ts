/**
 * Poolside Laguna: the template renders its tags with whitespace the model does not write, and
 * the model may spell its end token out as text (upstream workaround "Laguna").
 *
 * @module
 */
import { trimWhitespace } from "../diff_split.ts";
import type { TemplatePatch } from "../template_analysis.ts";

/** Laguna's bare tags and `</assistant>` stop. */
export const LAGUNA: TemplatePatch = {
  matches: (src) => src.includes("laguna_glm_thinking"),
  patch(a) {
    a.reasoning.start = trimWhitespace(a.reasoning.start);
    a.reasoning.end = trimWhitespace(a.reasoning.end);
    a.tools.argValuePrefix = trimWhitespace(a.tools.argValuePrefix);
    a.tools.argValueSuffix = trimWhitespace(a.tools.argValueSuffix);
    a.tools.argSeparator = trimWhitespace(a.tools.argSeparator);
    a.tools.tolerateIntertagWhitespace = true;
    a.additionalStops.push("</assistant>");
  },
};
