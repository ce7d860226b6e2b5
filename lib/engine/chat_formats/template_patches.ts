/**
 * The families whose template analysis needs correcting, in upstream's order (the workarounds
 * list of `chat-diff-analyzer.cpp`).
 *
 * @module
 */
import { APRIEL_1_6 } from "./families/apriel.ts";
import { BAILING_V3 } from "./families/bailing_v3.ts";
import { COMMAND_R_PLUS } from "./families/command_r.ts";
import { DEEPSEEK_R1 } from "./families/deepseek_r1.ts";
import { FIREFUNCTION_V2 } from "./families/firefunction_v2.ts";
import { FUNCTIONARY_V3_1 } from "./families/functionary_v3_1.ts";
import { GRANITE_3_3 } from "./families/granite.ts";
import { LAGUNA } from "./families/laguna.ts";
import { LLAMA_3 } from "./families/llama_3.ts";
import { NEMOTRON_NANO_V2 } from "./families/nemotron.ts";
import { QWEN_THINKING } from "./families/qwen_thinking.ts";
import { SOLAR_OPEN } from "./families/solar_open.ts";
import type { TemplatePatch } from "./template_analysis.ts";

/** Every patch, applied in this order to the templates each matches. */
export const TEMPLATE_PATCHES: readonly TemplatePatch[] = [
  QWEN_THINKING,
  GRANITE_3_3,
  COMMAND_R_PLUS,
  FUNCTIONARY_V3_1,
  DEEPSEEK_R1,
  NEMOTRON_NANO_V2,
  FIREFUNCTION_V2,
  SOLAR_OPEN,
  APRIEL_1_6,
  LLAMA_3,
  LAGUNA,
  BAILING_V3,
];
