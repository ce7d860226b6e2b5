/**
 * Fireworks FireFunction v2 (Llama 3 based): calls are ` functools[{...}]`, found by the
 * analysis; only its turn markers need stating (upstream workaround "Fireworks v2").
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** FireFunction v2's turn markers. */
export const FIREFUNCTION_V2: TemplatePatch = {
  matches: (src) =>
    src.includes(
      "{%- set system_prompt = '<|start_header_id|>' + 'system' + '<|end_header_id|>\\n\\n' + message['content'] | trim + '\\n' + system_prompt_suffix + '<|eot_id|>' -%}",
    ),
  patch(a) {
    a.assistantStart = "<|start_header_id|>assistant<|end_header_id|>";
    a.userStart = "<|start_header_id|>user<|end_header_id|>";
  },
};
