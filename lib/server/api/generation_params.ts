/**
 * The generation fields every completion endpoint shares, validated and mapped to
 * the scheduler's request: sampling (OpenAI names plus llama.cpp's extras), length,
 * stop strings, grammar from `grammar` / `json_schema` / `response_format`,
 * log-probabilities, prompt caching and slot choice.
 *
 * @module
 */
import { JSON_GRAMMAR, jsonSchemaToGrammar } from "../../engine/json_schema_to_grammar.ts";
import type { SamplingOptions } from "../../engine/sampler.ts";
import { invalidRequest } from "./errors.ts";
import {
  type Body,
  isObject,
  kind,
  logitBias,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  stopStrings,
} from "./validate.ts";

/** Which API's conventions a body follows. */
export type ApiFlavor = "chat" | "completions" | "native";

/** Server-wide defaults a request may override (from the command line). */
export interface GenerationDefaults extends SamplingOptions {
  /** Tokens to generate when the request names no limit; -1 = until EOG or a full slot. */
  maxTokens: number;
}

/** What the vocabulary offers to validation. */
export interface VocabInfo {
  vocabSize: number;
  /** Tokenizes plain text (no BOS, no special parsing). */
  tokenize(text: string): ArrayLike<number>;
}

/** The validated generation settings of one request. */
export interface GenerationParams {
  sampling: SamplingOptions;
  /** -1 = no limit; 0 = evaluate the prompt only. */
  maxTokens: number;
  stop: string[];
  logprobs: boolean;
  topLogprobs: number;
  cachePrompt: boolean;
  slot: number;
  stream: boolean;
  includeUsage: boolean;
}

const MAX_TOP_LOGPROBS = 20;

function grammarOf(body: Body): string | undefined {
  const grammar = optionalString(body, "grammar");
  let schema: unknown = body.json_schema ?? undefined;
  const format = optionalObject(body, "response_format");
  if (format !== undefined) {
    const type = format.type;
    if (type === "json_object") {
      schema = format.schema ?? schema ?? {};
    } else if (type === "json_schema") {
      const wrapper = format.json_schema;
      if (!isObject(wrapper)) {
        throw invalidRequest(
          "response_format.json_schema must be an object with a schema",
          "response_format",
        );
      }
      schema = wrapper.schema ?? {};
    } else if (type !== undefined && type !== "text") {
      throw invalidRequest(
        `response_format.type must be "text", "json_object" or "json_schema", got ${
          JSON.stringify(type)
        }`,
        "response_format",
      );
    }
  }
  if (schema !== undefined && grammar !== undefined && grammar.trim() !== "") {
    throw invalidRequest(
      "grammar cannot be combined with json_schema or response_format",
      "grammar",
    );
  }
  if (schema !== undefined) {
    if (!isObject(schema) && typeof schema !== "boolean") {
      throw invalidRequest(
        `json_schema must be a JSON Schema object, got ${kind(schema)}`,
        "json_schema",
      );
    }
    if (isObject(schema) && Object.keys(schema).length === 0) return JSON_GRAMMAR;
    try {
      return jsonSchemaToGrammar(schema);
    } catch (error) {
      const param = body.response_format !== undefined ? "response_format" : "json_schema";
      throw invalidRequest(`${param} has an unusable schema: ${(error as Error).message}`, param);
    }
  }
  return grammar;
}

function maxTokensOf(body: Body, defaults: GenerationDefaults): number {
  const names = ["n_predict", "max_completion_tokens", "max_tokens"] as const;
  for (const name of names) {
    const value = optionalNumber(body, name, { integer: true });
    if (value === undefined) continue;
    if (value < -1) {
      throw invalidRequest(
        `${name} must be -1 (no limit) or a non-negative integer, got ${value}`,
        name,
      );
    }
    return value;
  }
  return defaults.maxTokens;
}

function logprobsOf(body: Body, flavor: ApiFlavor): { logprobs: boolean; topLogprobs: number } {
  if (flavor === "native") {
    const n = optionalNumber(body, "n_probs", { integer: true, min: 0, max: MAX_TOP_LOGPROBS }) ??
      0;
    return { logprobs: n > 0, topLogprobs: n };
  }
  if (flavor === "completions") {
    const n = optionalNumber(body, "logprobs", { integer: true, min: 0, max: MAX_TOP_LOGPROBS });
    return { logprobs: n !== undefined, topLogprobs: n ?? 0 };
  }
  const on = optionalBoolean(body, "logprobs") ?? false;
  const top = optionalNumber(body, "top_logprobs", {
    integer: true,
    min: 0,
    max: MAX_TOP_LOGPROBS,
  });
  if (top !== undefined && !on) {
    throw invalidRequest("top_logprobs requires logprobs to be true", "top_logprobs");
  }
  return { logprobs: on, topLogprobs: top ?? 0 };
}

/** Validates and maps the generation fields of `body`. */
export function parseGenerationParams(
  body: Body,
  flavor: ApiFlavor,
  vocab: VocabInfo,
  defaults: GenerationDefaults,
): GenerationParams {
  const openai = flavor !== "native";
  const n = optionalNumber(body, "n", { integer: true });
  if (n !== undefined && n !== 1) {
    throw invalidRequest(`n must be 1: only one choice per request is supported, got ${n}`, "n");
  }
  const temperature = optionalNumber(body, "temperature", openai ? { min: 0, max: 2 } : { min: 0 });
  const penalty = openai ? { min: -2, max: 2 } : {};
  const mirostat = optionalNumber(body, "mirostat", { integer: true, min: 0, max: 2 }) as
    | 0
    | 1
    | 2
    | undefined;
  const seed = optionalNumber(body, "seed", { integer: true });
  const grammar = grammarOf(body);
  const sampling: SamplingOptions = {
    ...stripUndefined({ ...defaults, maxTokens: undefined }),
    ...stripUndefined({
      temperature,
      topP: optionalNumber(body, "top_p", { min: 0, max: 1 }),
      topK: optionalNumber(body, "top_k", { integer: true, min: 0 }),
      minP: optionalNumber(body, "min_p", { min: 0, max: 1 }),
      typicalP: optionalNumber(body, "typical_p", { min: 0, max: 1 }),
      repeatPenalty: optionalNumber(body, "repeat_penalty", { min: 0 }),
      repeatLastN: optionalNumber(body, "repeat_last_n", { integer: true, min: -1 }),
      presencePenalty: optionalNumber(body, "presence_penalty", penalty),
      frequencyPenalty: optionalNumber(body, "frequency_penalty", penalty),
      mirostat,
      mirostatTau: optionalNumber(body, "mirostat_tau", { min: 0 }),
      mirostatEta: optionalNumber(body, "mirostat_eta", { min: 0 }),
      seed,
      ignoreEos: optionalBoolean(body, "ignore_eos"),
      grammar,
    }),
  };
  const bias = logitBias(body, vocab.vocabSize, vocab.tokenize, openai ? { limit: 100 } : {});
  if (bias.length > 0) sampling.logitBias = [...(defaults.logitBias ?? []), ...bias];
  const streamOptions = optionalObject(body, "stream_options");
  let includeUsage = false;
  if (streamOptions !== undefined) {
    const value = streamOptions.include_usage;
    if (value !== undefined && value !== null && typeof value !== "boolean") {
      throw invalidRequest(
        `stream_options.include_usage must be a boolean, got ${kind(value)}`,
        "stream_options",
      );
    }
    includeUsage = value === true;
  }
  return {
    sampling,
    maxTokens: maxTokensOf(body, defaults),
    stop: stopStrings(body),
    ...logprobsOf(body, flavor),
    cachePrompt: optionalBoolean(body, "cache_prompt") ?? true,
    slot: optionalNumber(body, "id_slot", { integer: true, min: -1 }) ?? -1,
    stream: optionalBoolean(body, "stream") ?? false,
    includeUsage,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
