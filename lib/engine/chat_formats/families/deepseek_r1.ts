/**
 * DeepSeek R1 distills (Qwen base): calls are
 * `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}```<｜tool▁call▁end｜>...`
 * (upstream workaround "DeepSeek-R1-Distill-Qwen"). Their reasoning, `<think>` opened by the
 * generation prompt, comes from {@linkcode QWEN_THINKING}.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** DeepSeek R1's tool-call markers. */
export const DEEPSEEK_R1: TemplatePatch = {
  matches: (src) =>
    src.includes(
      "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>'",
    ),
  patch(a) {
    a.tools.sectionStart = "<｜tool▁calls▁begin｜>";
    a.tools.sectionEnd = "<｜tool▁calls▁end｜>";
    a.tools.perCallStart = "<｜tool▁call▁begin｜>function";
    a.tools.namePrefix = "<｜tool▁sep｜>";
    a.tools.perCallEnd = "<｜tool▁call▁end｜>";
    a.tools.close = "```";
  },
};
