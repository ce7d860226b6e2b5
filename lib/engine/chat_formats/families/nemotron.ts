/**
 * NVIDIA Nemotron Nano v2: `<think>` reasoning and `<TOOLCALL>[{...}]</TOOLCALL>` calls behind
 * its `<SPECIAL_n>` turn markers (upstream workaround "Nemotron Nano v2"). Nemotron 3 Nano uses
 * Qwen3-Coder's XML calls and needs no patch.
 *
 * @module
 */
import type { TemplatePatch } from "../template_analysis.ts";

/** Nemotron Nano v2's structure, stated whole. */
export const NEMOTRON_NANO_V2: TemplatePatch = {
  matches: (src) =>
    src.includes("<SPECIAL_10>") && src.includes("<SPECIAL_11>") && src.includes("<SPECIAL_12>") &&
    src.includes("<TOOL_RESPONSE>"),
  patch(a) {
    Object.assign(a.tools, {
      mode: "JSON_NATIVE",
      sectionStart: "",
      sectionEnd: "",
      perCallStart: "<TOOLCALL>",
      perCallEnd: "</TOOLCALL>",
      toolsArrayWrapped: true,
    });
    a.content = { ...a.content, mode: "PLAIN", start: "", end: "" };
    a.reasoning = { mode: "TAG_BASED", start: "<think>\n", end: "</think>" };
    a.assistantStart = "<SPECIAL_11>Assistant";
    a.userStart = "<SPECIAL_11>User";
    a.preservedTokens = ["<SPECIAL_11>", "</think>", "<TOOLCALL>", "</TOOLCALL>"];
  },
};
