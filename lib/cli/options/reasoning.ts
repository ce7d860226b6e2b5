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
  /** `--chat-template-kwargs`: template variables every chat gets unless it names its own. */
  chatTemplateKwargs?: Record<string, unknown>;
  /** `--reasoning-effort`: the template's `reasoning_effort` (`default` leaves it unset). */
  reasoningEffort?: string;
  /** `--reasoning-preserve` / `--no-reasoning-preserve`: the template's `preserve_reasoning`. */
  reasoningPreserve?: boolean;
  /** `--skip-chat-parsing`: answers are content only, reasoning and tool calls included. */
  skipChatParsing: boolean;
}

function parseKwargs(raw: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new UsageError(`${name} must be a JSON object: ${(cause as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`${name} must be a JSON object, got ${JSON.stringify(raw)}`);
  }
  return value as Record<string, unknown>;
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
    skipChatParsing: false,
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
    {
      names: ["--reasoning-effort"],
      key: "reasoningEffort",
      kind: "string",
      arg: "LEVEL",
      env: "LLAMA_ARG_REASONING_EFFORT",
      help: "reasoning_effort given to the chat template (low, medium, high, ...); default: " +
        "the template's",
    },
    {
      names: ["--reasoning-preserve"],
      key: "reasoningPreserve",
      kind: "flag",
      env: "LLAMA_ARG_REASONING_PRESERVE",
      help: "ask templates to keep every turn's reasoning (preserve_reasoning)",
    },
    {
      names: ["--no-reasoning-preserve"],
      key: "reasoningPreserve",
      kind: "flag",
      value: false,
      help: "ask templates to keep only the last turn's reasoning",
    },
    {
      names: ["--chat-template-kwargs"],
      key: "chatTemplateKwargs",
      kind: "string",
      arg: "JSON",
      env: "LLAMA_ARG_CHAT_TEMPLATE_KWARGS",
      help: "template variables for every chat, a JSON object (a request's own win)",
      parse: parseKwargs,
    },
    {
      names: ["--skip-chat-parsing"],
      key: "skipChatParsing",
      kind: "flag",
      env: "LLAMA_ARG_SKIP_CHAT_PARSING",
      help: "answer in content only: reasoning and tool calls are not parsed out",
    },
    {
      names: ["--no-skip-chat-parsing"],
      key: "skipChatParsing",
      kind: "flag",
      value: false,
      help: "parse reasoning and tool calls out of answers (default)",
    },
  ],
};
