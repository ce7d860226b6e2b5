/**
 * Sampling options (llama.cpp's "sampling params"), under the names and with the defaults of
 * the engine's {@linkcode SamplingOptions}: the command line sets the same fields a server
 * request does.
 *
 * @module
 */
import { SAMPLING_DEFAULTS, type SamplingOptions } from "../../engine/sampler.ts";
import { type OptionSection, UsageError } from "../option_table.ts";

/** What the sampling options set. */
export interface SamplingCliOptions extends
  Required<
    Omit<SamplingOptions, "grammar" | "logitBias" | "mirostat" | "ignoreEos">
  > {
  mirostat: 0 | 1 | 2;
  logitBias: { token: number; bias: number }[];
  ignoreEos: boolean;
  grammar?: string;
  grammarFile?: string;
  jsonSchema?: string;
  jsonSchemaFile?: string;
}

/** One logit bias entry from `-l TOKEN(+|-)BIAS`. */
export function parseLogitBias(text: string): { token: number; bias: number } {
  const match = /^\s*(\d+)\s*([+-])\s*(inf|\d+(?:\.\d*)?|\.\d+)\s*$/i.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid value "${text}" for --logit-bias: expected TOKEN(+|-)BIAS, e.g. 15043+1`,
    );
  }
  const magnitude = match[3]!.toLowerCase() === "inf" ? Infinity : Number(match[3]);
  return { token: Number(match[1]), bias: match[2] === "-" ? -magnitude : magnitude };
}

/** The sampling options. */
export const SAMPLING_SECTION: OptionSection<SamplingCliOptions> = {
  title: "Sampling",
  defaults: { ...SAMPLING_DEFAULTS, logitBias: [], ignoreEos: false },
  specs: [
    {
      names: ["-s", "--seed"],
      key: "seed",
      kind: "int",
      arg: "N",
      min: -1,
      max: 0xffffffff,
      help: "random seed, -1 = random",
    },
    {
      names: ["--temp", "--temperature"],
      env: "LLAMA_ARG_TEMPERATURE",
      key: "temperature",
      kind: "float",
      arg: "N",
      min: 0,
      help: "temperature; 0 is greedy and deterministic",
    },
    {
      names: ["--top-k"],
      env: "LLAMA_ARG_TOP_K",
      key: "topK",
      kind: "int",
      arg: "N",
      min: 0,
      help: "top-k sampling, 0 = off",
    },
    {
      names: ["--top-p"],
      env: "LLAMA_ARG_TOP_P",
      key: "topP",
      kind: "float",
      arg: "N",
      min: 0,
      max: 1,
      help: "top-p sampling, 1.0 = off",
    },
    {
      names: ["--min-p"],
      env: "LLAMA_ARG_MIN_P",
      key: "minP",
      kind: "float",
      arg: "N",
      min: 0,
      max: 1,
      help: "min-p sampling, 0.0 = off",
    },
    {
      names: ["--typical", "--typical-p"],
      key: "typicalP",
      kind: "float",
      arg: "N",
      min: 0,
      max: 1,
      help: "locally typical sampling p, 1.0 = off",
    },
    {
      names: ["--repeat-penalty"],
      env: "LLAMA_ARG_REPEAT_PENALTY",
      key: "repeatPenalty",
      kind: "float",
      arg: "N",
      min: 0,
      help: "penalize repeated tokens, 1.0 = off",
    },
    {
      names: ["--repeat-last-n"],
      key: "repeatLastN",
      kind: "int",
      arg: "N",
      min: -1,
      help: "tokens the penalties look back over, -1 = context size",
    },
    {
      names: ["--presence-penalty"],
      env: "LLAMA_ARG_PRESENCE_PENALTY",
      key: "presencePenalty",
      kind: "float",
      arg: "N",
      help: "presence penalty, 0.0 = off",
    },
    {
      names: ["--frequency-penalty"],
      env: "LLAMA_ARG_FREQUENCY_PENALTY",
      key: "frequencyPenalty",
      kind: "float",
      arg: "N",
      help: "frequency penalty, 0.0 = off",
    },
    {
      names: ["--mirostat"],
      key: "mirostat",
      kind: "int",
      arg: "N",
      choices: [0, 1, 2],
      help: "Mirostat sampling: 0 off, 1 Mirostat, 2 Mirostat 2.0",
    },
    {
      names: ["--mirostat-lr"],
      key: "mirostatEta",
      kind: "float",
      arg: "N",
      min: 0,
      help: "Mirostat learning rate eta",
    },
    {
      names: ["--mirostat-ent"],
      key: "mirostatTau",
      kind: "float",
      arg: "N",
      min: 0,
      help: "Mirostat target entropy tau",
    },
    {
      names: ["-l", "--logit-bias"],
      key: "logitBias",
      kind: "list",
      arg: "TOKEN(+|-)BIAS",
      parse: parseLogitBias,
      help: "change a token's likelihood, e.g. 15043+1 or 15043-inf (repeatable)",
    },
    {
      names: ["--ignore-eos"],
      key: "ignoreEos",
      kind: "flag",
      help: "never stop at end of text; generate until -n",
    },
    {
      names: ["--grammar"],
      key: "grammar",
      kind: "string",
      arg: "GBNF",
      help: "constrain output with a GBNF grammar (root rule: root)",
    },
    {
      names: ["--grammar-file"],
      key: "grammarFile",
      kind: "string",
      arg: "FNAME",
      help: "read the GBNF grammar from a file",
    },
    {
      names: ["-j", "--json-schema"],
      key: "jsonSchema",
      kind: "string",
      arg: "SCHEMA",
      help: "constrain output to JSON matching a JSON Schema (e.g. '{}' for any object)",
    },
    {
      names: ["-jf", "--json-schema-file"],
      key: "jsonSchemaFile",
      kind: "string",
      arg: "FNAME",
      help: "read the JSON Schema from a file",
    },
  ],
};
