/**
 * Reasoning options (llama.cpp's `--reasoning-format`, `--reasoning`, `--reasoning-budget`):
 * where a thinking model's thoughts go, whether templates that can think are asked to, and how
 * many tokens they may take.
 *
 * @module
 */
import { UsageError } from "../option_table.ts";
import type { OptionSection } from "../option_table.ts";

/** What the reasoning options set. */
export interface ReasoningCliOptions {
  reasoningFormat: "none" | "auto" | "deepseek" | "deepseek-legacy";
  reasoning: "on" | "off" | "auto";
  reasoningBudget: number;
  reasoningBudgetMessage: string;
}

const FORMATS = ["none", "auto", "deepseek", "deepseek-legacy"];

function parseFormat(raw: string, name: string): ReasoningCliOptions["reasoningFormat"] {
  if (!FORMATS.includes(raw)) {
    throw new UsageError(`${name} must be one of ${FORMATS.join(", ")}, got "${raw}"`);
  }
  return raw as ReasoningCliOptions["reasoningFormat"];
}

/** llama.cpp's spellings of on, off and auto. */
function parseSwitch(raw: string, name: string): ReasoningCliOptions["reasoning"] {
  const v = raw.toLowerCase();
  if (["on", "enabled", "true", "1", "yes"].includes(v)) return "on";
  if (["off", "disabled", "false", "0", "no"].includes(v)) return "off";
  if (v === "auto") return "auto";
  throw new UsageError(`${name} must be on, off or auto, got "${raw}"`);
}

/** The reasoning options. */
export const REASONING_SECTION: OptionSection<ReasoningCliOptions> = {
  title: "Reasoning",
  defaults: {
    reasoningFormat: "deepseek",
    reasoning: "auto",
    reasoningBudget: -1,
    reasoningBudgetMessage: "",
  },
  specs: [
    {
      names: ["--reasoning-format"],
      key: "reasoningFormat",
      kind: "string",
      arg: "FORMAT",
      help: "where thoughts go: none (left in the content), deepseek or auto " +
        "(in reasoning_content), deepseek-legacy (as deepseek)",
      parse: parseFormat,
    },
    {
      names: ["-rea", "--reasoning"],
      key: "reasoning",
      kind: "string",
      arg: "on|off|auto",
      help: "ask templates that can think to (on) or not (off); auto: as the template supports",
      parse: parseSwitch,
    },
    {
      names: ["--reasoning-budget"],
      key: "reasoningBudget",
      kind: "int",
      arg: "N",
      min: -1,
      help: "thinking tokens per answer before the end tag is forced: -1 unlimited, 0 none",
    },
    {
      names: ["--reasoning-budget-message"],
      key: "reasoningBudgetMessage",
      kind: "string",
      arg: "TEXT",
      help: "text forced before the end tag when the budget runs out",
    },
  ],
};
