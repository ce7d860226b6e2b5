/**
 * Functionary v3.1 (Llama 3.1 based): calls are `<function=name>{...}</function>` with no
 * section around them (upstream workaround "Functionary 3.1").
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Functionary v3.1's per-call markers. */
export const FUNCTIONARY_V3_1: TemplatePatch = {
  matches: (src) =>
    src.includes(
      'set has_code_interpreter = tools | selectattr("type", "equalto", "code_interpreter") | list | length > 0',
    ),
  patch(a) {
    a.content = { ...a.content, mode: "PLAIN", end: "" };
    a.tools.namePrefix = "";
    a.tools.sectionStart = "";
    a.tools.sectionEnd = "";
    a.tools.perCallStart = "<function=";
    a.tools.perCallEnd = "</function>";
    a.tools.close = "";
    a.preservedTokens = ["<|eot_id|>", "<|eom_id|>", "<function=", ">", "</function>"];
  },
};
