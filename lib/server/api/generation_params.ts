/**
 * The generation fields every completion endpoint shares, declared once per API flavor
 * ({@linkcode GENERATION_FIELDS}: OpenAI names with OpenAI's ranges, or llama.cpp's native ones
 * with what libllama's C types hold), and their mapping to the scheduler's request
 * ({@linkcode toGenerationParams}): sampling, length, stop strings, grammar from `grammar` /
 * `json_schema` / `response_format`, log-probabilities, prompt caching and slot choice.
 *
 * @module
 */
import type { ReasoningBudgetOptions } from "../../engine/reasoning_budget.ts";
import * as z from "zod/mini";
import { JSON_GRAMMAR, jsonSchemaToGrammar } from "../../engine/json_schema_to_grammar.ts";
import type { SamplingOptions } from "../../engine/sampler.ts";
import { invalidRequest } from "./errors.ts";
import {
  boolean,
  float32,
  INT32_MAX,
  integer,
  isObject,
  kind,
  type LogitBiasField,
  logitBiasField,
  number,
  type NumberSchema,
  oneOf,
  optional,
  stopStrings,
  string,
  toLogitBias,
  UINT32_MAX,
} from "./validate.ts";

/** Which API's conventions a body follows. */
export type ApiFlavor = "chat" | "completions" | "native";

/** Server-wide defaults a request may override (from the command line). */
export interface GenerationDefaults extends SamplingOptions {
  /** Tokens to generate when the request names no limit; -1 = until EOG or a full slot. */
  maxTokens: number;
  /** `cache_prompt` when the request does not say (`--no-cache-prompt`; default true). */
  cachePrompt?: boolean;
  /** `n_keep` when the request does not say (`--keep`; default 0). */
  keep?: number;
  /** `verbose` when the request does not say (`--verbose`: answers carry `__verbose`). */
  verbose?: boolean;
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
  /** Choices to generate (`n`). */
  n: number;
  /** Probabilities after the sampler chain (`post_sampling_probs`). */
  postSampling: boolean;
  /** Prompt-progress events in a stream (`return_progress`). */
  progress: boolean;
  /** Timings in every streamed event (`timings_per_token`). */
  timingsPerToken: boolean;
  /** Tokens kept when the context shifts (`n_keep`; -1 = the prompt). */
  keep?: number;
  /** Tokens dropped per shift (`n_discard`; 0 = half). */
  discard?: number;
  /** LoRA scales by adapter id (`lora: [{id, scale}]`); unset: the server's. */
  lora?: number[];
  /** The request's `lora` as given, resolved against the adapters by the endpoint. */
  loraRequest?: { id: number; scale: number }[];
  /** Add llama.cpp's `__verbose` object to the answer. */
  verbose: boolean;
  /** What a chat format asks of the slot (see chat_turn.ts). */
  chat?: {
    preservedTokens: ReadonlySet<number>;
    generationPrompt: readonly number[];
    reasoningBudget?: ReasoningBudgetOptions;
  };
}

/** Most alternatives per token a request may ask log-probabilities for. */
export const MAX_TOP_LOGPROBS = 20;

/** A token limit: -1 (no limit) or a count a 32-bit `n_predict` holds. */
export function tokenLimit(): NumberSchema {
  const error = (issue: { input?: unknown }) => {
    const value = issue.input;
    if (value === undefined) return "is required";
    const got = typeof value === "number" ? String(value) : kind(value);
    return typeof value === "number" && value > INT32_MAX
      ? `must be -1 (no limit) or an integer of at most ${INT32_MAX}, got ${got}`
      : `must be -1 (no limit) or a non-negative integer, got ${got}`;
  };
  return z.int({ error }).check(z.minimum(-1, { error }), z.maximum(INT32_MAX, { error }));
}

/** `response_format`: text, any JSON object, or JSON matching a schema. */
export const RESPONSE_FORMAT = z.object({
  type: oneOf(["text", "json_object", "json_schema"]),
  json_schema: optional(
    z.object({ schema: z.optional(z.unknown()) }, {
      error: () => "must be an object with a schema",
    }),
  ),
  schema: z.optional(z.unknown()),
});

/** The fields of all flavors. */
/** Most choices (`n`) one request may ask for. */
export const MAX_CHOICES = 16;

/** `lora`: the scale of each adapter by id, for this request. */
export const LORA_REQUEST = z.array(
  z.object({ id: integer(0, 1024), scale: number({ min: -100, max: 100 }) }),
);

const COMMON = {
  model: optional(string()),
  n: optional(
    number(
      { integer: true, min: 1, max: MAX_CHOICES },
      `must be an integer from 1 to ${MAX_CHOICES}`,
    ),
  ),
  return_progress: optional(boolean()),
  post_sampling_probs: optional(boolean()),
  timings_per_token: optional(boolean()),
  n_keep: optional(integer(-1)),
  n_discard: optional(integer(0)),
  lora: optional(LORA_REQUEST),
  verbose: optional(boolean()),
  top_p: optional(number({ min: 0, max: 1 })),
  top_k: optional(integer(0)),
  min_p: optional(number({ min: 0, max: 1 })),
  typical_p: optional(number({ min: 0, max: 1 })),
  repeat_penalty: optional(float32(0)),
  repeat_last_n: optional(integer(-1)),
  mirostat: optional(integer(0, 2)),
  mirostat_tau: optional(float32(0)),
  mirostat_eta: optional(float32(0)),
  seed: optional(integer(-1, UINT32_MAX)),
  ignore_eos: optional(boolean()),
  grammar: optional(string()),
  json_schema: optional(z.unknown()),
  response_format: optional(RESPONSE_FORMAT),
  n_predict: optional(tokenLimit()),
  max_completion_tokens: optional(tokenLimit()),
  max_tokens: optional(tokenLimit()),
  stop: optional(stopStrings()),
  cache_prompt: optional(boolean()),
  id_slot: optional(integer(-1)),
  stream: optional(boolean()),
  stream_options: optional(z.object({ include_usage: optional(boolean()) })),
};

const OPENAI = {
  ...COMMON,
  temperature: optional(number({ min: 0, max: 2 })),
  presence_penalty: optional(number({ min: -2, max: 2 })),
  frequency_penalty: optional(number({ min: -2, max: 2 })),
  logit_bias: optional(logitBiasField(100)),
};

const TOP_LOGPROBS = optional(integer(0, MAX_TOP_LOGPROBS));

/**
 * llama.cpp's sampling knobs that the Anthropic and Responses APIs lack, accepted there too
 * (llama.cpp passes them through), with the ranges of the OpenAI flavor.
 */
export const SAMPLING_EXTRAS = {
  top_k: COMMON.top_k,
  min_p: COMMON.min_p,
  typical_p: COMMON.typical_p,
  repeat_penalty: COMMON.repeat_penalty,
  repeat_last_n: COMMON.repeat_last_n,
  presence_penalty: OPENAI.presence_penalty,
  frequency_penalty: OPENAI.frequency_penalty,
  mirostat: COMMON.mirostat,
  mirostat_tau: COMMON.mirostat_tau,
  mirostat_eta: COMMON.mirostat_eta,
  seed: COMMON.seed,
  ignore_eos: COMMON.ignore_eos,
  cache_prompt: COMMON.cache_prompt,
  id_slot: COMMON.id_slot,
  return_progress: COMMON.return_progress,
  timings_per_token: COMMON.timings_per_token,
  n_keep: COMMON.n_keep,
  lora: COMMON.lora,
};

/** The generation fields of each flavor's requests, for endpoint schemas to spread. */
export const GENERATION_FIELDS = {
  chat: { ...OPENAI, logprobs: optional(boolean()), top_logprobs: TOP_LOGPROBS },
  completions: { ...OPENAI, logprobs: TOP_LOGPROBS },
  native: {
    ...COMMON,
    temperature: optional(float32(0)),
    presence_penalty: optional(float32()),
    frequency_penalty: optional(float32()),
    logit_bias: optional(logitBiasField()),
    n_probs: TOP_LOGPROBS,
  },
};

/** The generation fields of each flavor as a request schema of their own. */
export const GENERATION_REQUEST = {
  chat: z.object(GENERATION_FIELDS.chat),
  completions: z.object(GENERATION_FIELDS.completions),
  native: z.object(GENERATION_FIELDS.native),
};

/** Parsed generation fields of any flavor. */
export interface GenerationInput {
  model?: string | undefined;
  temperature?: number | undefined;
  top_p?: number | undefined;
  top_k?: number | undefined;
  min_p?: number | undefined;
  typical_p?: number | undefined;
  repeat_penalty?: number | undefined;
  repeat_last_n?: number | undefined;
  presence_penalty?: number | undefined;
  frequency_penalty?: number | undefined;
  mirostat?: number | undefined;
  mirostat_tau?: number | undefined;
  mirostat_eta?: number | undefined;
  seed?: number | undefined;
  ignore_eos?: boolean | undefined;
  grammar?: string | undefined;
  json_schema?: unknown;
  response_format?: z.output<typeof RESPONSE_FORMAT> | undefined;
  n_predict?: number | undefined;
  max_completion_tokens?: number | undefined;
  max_tokens?: number | undefined;
  stop?: string[] | undefined;
  cache_prompt?: boolean | undefined;
  id_slot?: number | undefined;
  stream?: boolean | undefined;
  stream_options?: { include_usage?: boolean | undefined } | undefined;
  logit_bias?: LogitBiasField | undefined;
  n?: number | undefined;
  return_progress?: boolean | undefined;
  post_sampling_probs?: boolean | undefined;
  timings_per_token?: boolean | undefined;
  n_keep?: number | undefined;
  n_discard?: number | undefined;
  lora?: { id: number; scale: number }[] | undefined;
  verbose?: boolean | undefined;
  /** Chat: a boolean; legacy completions: how many alternatives. */
  logprobs?: boolean | number | undefined;
  top_logprobs?: number | undefined;
  n_probs?: number | undefined;
}

/**
 * The grammar of a request: `grammar`, or one made from `json_schema` / `response_format`
 * (`param` names the field a schema came from, for messages).
 */
export function grammarOf(fields: GenerationInput): string | undefined {
  const grammar = fields.grammar;
  let schema: unknown = fields.json_schema;
  let param = "json_schema";
  const format = fields.response_format;
  if (format !== undefined) {
    param = "response_format";
    if (format.type === "json_object") {
      schema = format.schema ?? schema ?? {};
    } else if (format.type === "json_schema") {
      if (format.json_schema === undefined) {
        throw invalidRequest(
          "response_format.json_schema must be an object with a schema",
          "response_format",
        );
      }
      schema = format.json_schema.schema ?? {};
    }
  }
  if (schema !== undefined && grammar !== undefined && grammar.trim() !== "") {
    throw invalidRequest(
      "grammar cannot be combined with json_schema or response_format",
      "grammar",
    );
  }
  if (schema === undefined) return grammar;
  return schemaGrammar(schema, param);
}

/** The grammar for JSON matching `schema`; a schema that cannot be converted is a 400 on `param`. */
export function schemaGrammar(schema: unknown, param: string): string {
  if (!isObject(schema) && typeof schema !== "boolean") {
    throw invalidRequest(`${param} must be a JSON Schema object, got ${kind(schema)}`, param);
  }
  if (isObject(schema) && Object.keys(schema).length === 0) return JSON_GRAMMAR;
  try {
    return jsonSchemaToGrammar(schema);
  } catch (error) {
    throw invalidRequest(`${param} has an unusable schema: ${(error as Error).message}`, param);
  }
}

function logprobsOf(
  fields: GenerationInput,
  flavor: ApiFlavor,
): { logprobs: boolean; topLogprobs: number } {
  if (flavor === "native") {
    const n = fields.n_probs ?? 0;
    return { logprobs: n > 0, topLogprobs: n };
  }
  if (flavor === "completions") {
    const n = typeof fields.logprobs === "number" ? fields.logprobs : undefined;
    return { logprobs: n !== undefined, topLogprobs: n ?? 0 };
  }
  const on = fields.logprobs === true;
  const top = fields.top_logprobs;
  if (top !== undefined && !on) {
    throw invalidRequest("top_logprobs requires logprobs to be true", "top_logprobs");
  }
  return { logprobs: on, topLogprobs: top ?? 0 };
}

/**
 * Maps parsed generation fields over the server defaults: the checks that span fields or need
 * the model (logit bias token ids) are made here.
 */
export function toGenerationParams(
  fields: GenerationInput,
  flavor: ApiFlavor,
  vocab: VocabInfo,
  defaults: GenerationDefaults,
): GenerationParams {
  const sampling: SamplingOptions = {
    ...stripUndefined({
      ...defaults,
      maxTokens: undefined,
      cachePrompt: undefined,
      keep: undefined,
      verbose: undefined,
    }),
    ...stripUndefined({
      temperature: fields.temperature,
      topP: fields.top_p,
      topK: fields.top_k,
      minP: fields.min_p,
      typicalP: fields.typical_p,
      repeatPenalty: fields.repeat_penalty,
      repeatLastN: fields.repeat_last_n,
      presencePenalty: fields.presence_penalty,
      frequencyPenalty: fields.frequency_penalty,
      mirostat: fields.mirostat as 0 | 1 | 2 | undefined,
      mirostatTau: fields.mirostat_tau,
      mirostatEta: fields.mirostat_eta,
      seed: fields.seed,
      ignoreEos: fields.ignore_eos,
      grammar: grammarOf(fields),
    }),
  };
  const bias = toLogitBias(fields.logit_bias, vocab.vocabSize, vocab.tokenize);
  if (bias.length > 0) sampling.logitBias = [...(defaults.logitBias ?? []), ...bias];
  return {
    sampling,
    maxTokens: fields.n_predict ?? fields.max_completion_tokens ?? fields.max_tokens ??
      defaults.maxTokens,
    stop: fields.stop ?? [],
    ...logprobsOf(fields, flavor),
    cachePrompt: fields.cache_prompt ?? defaults.cachePrompt ?? true,
    slot: fields.id_slot ?? -1,
    stream: fields.stream ?? false,
    includeUsage: fields.stream_options?.include_usage === true,
    n: fields.n ?? 1,
    postSampling: fields.post_sampling_probs ?? false,
    progress: fields.return_progress ?? false,
    timingsPerToken: fields.timings_per_token ?? false,
    ...((fields.n_keep ?? defaults.keep) !== undefined && { keep: fields.n_keep ?? defaults.keep }),
    ...(fields.n_discard !== undefined && { discard: fields.n_discard }),
    ...(fields.lora !== undefined && { loraRequest: fields.lora }),
    verbose: fields.verbose ?? defaults.verbose ?? false,
  };
}

/**
 * The LoRA scales of a request's `lora` over the server's current ones (`current`, by adapter
 * id); a 400 on an id that does not exist.
 */
export function loraScales(
  request: readonly { id: number; scale: number }[],
  current: readonly number[],
): number[] {
  const scales = [...current];
  for (const [i, entry] of request.entries()) {
    if (entry.id >= current.length) {
      throw invalidRequest(
        `lora[${i}].id is ${entry.id}: this server has ${current.length} LoRA adapter(s)`,
        "lora",
      );
    }
    scales[entry.id] = entry.scale;
  }
  return scales;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
