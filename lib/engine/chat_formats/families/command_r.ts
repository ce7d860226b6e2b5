/**
 * Cohere Command R+ (tool use): content wrapped in `<|CHATBOT_TOKEN|>...<|END_OF_TURN_TOKEN|>`
 * (upstream workaround "Cohere Command R+"). Command R7B needs no patch: its
 * `<|START_THINKING|>`, `<|START_RESPONSE|>` and `<|START_ACTION|>` blocks are found by the
 * analysis.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Command R+'s content markers. */
export const COMMAND_R_PLUS: TemplatePatch = {
  matches: (src) => src.includes("<|CHATBOT_TOKEN|>") && src.includes("<|END_OF_TURN_TOKEN|>"),
  patch(a) {
    if (a.content.start !== "") return;
    a.content = {
      ...a.content,
      mode: "ALWAYS_WRAPPED",
      start: "<|CHATBOT_TOKEN|>",
      end: "<|END_OF_TURN_TOKEN|>",
    };
    a.preservedTokens.push("<|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>");
    a.userStart = "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>";
  },
};
