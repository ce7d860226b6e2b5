/**
 * The sampler chain, built in C: logit bias, grammar, penalties, then either
 * greedy, mirostat, or top-k / typical / top-p / min-p / temperature / dist.
 *
 * @module
 */
import { cString, cStringArray } from "../../ffi/cstring.ts";
import { logitBiasArray } from "../../ffi/params.ts";
import { TokenDataArray } from "../../ffi/token_data.ts";
import { captureStderr } from "../../ffi/stderr_capture.ts";
import { GrammarError, reasonFromLog } from "./errors.ts";
import { checkGrammar, GrammarCheckError } from "./grammar_check.ts";
import type { LlamaModel } from "./model.ts";

/** Sampling settings, with llama.cpp's defaults. */
export interface SamplingOptions {
  /** Temperature; 0 or less is greedy (default 0.8). */
  temperature?: number;
  /** Top-k; 0 disables (default 40). */
  topK?: number;
  /** Top-p; 1 disables (default 0.95). */
  topP?: number;
  /** Min-p; 0 disables (default 0.05). */
  minP?: number;
  /** Locally typical sampling; 1 disables (default 1). */
  typicalP?: number;
  /** Repeat penalty; 1 disables (default 1). */
  repeatPenalty?: number;
  /** Tokens the penalties look back over; -1 = the context size (default 64). */
  repeatLastN?: number;
  /** Presence penalty (default 0). */
  presencePenalty?: number;
  /** Frequency penalty (default 0). */
  frequencyPenalty?: number;
  /** 0 off, 1 Mirostat, 2 Mirostat 2.0 (default 0). */
  mirostat?: 0 | 1 | 2;
  /** Mirostat target entropy tau (default 5). */
  mirostatTau?: number;
  /** Mirostat learning rate eta (default 0.1). */
  mirostatEta?: number;
  /** RNG seed; -1 or undefined picks a random one. */
  seed?: number;
  /** Additive biases on token logits; `-Infinity` bans a token. */
  logitBias?: ReadonlyArray<{ token: number; bias: number }>;
  /** A GBNF grammar constraining the output (root rule `root`). */
  grammar?: string;
  /**
   * The grammar waits for a trigger (lazy): it constrains the output only from the first match
   * of `grammarTriggerPatterns` (regexes over the text generated so far; from their first
   * capture group) or the first of `grammarTriggerTokens`.
   */
  grammarLazy?: boolean;
  grammarTriggerPatterns?: readonly string[];
  grammarTriggerTokens?: readonly number[];
  /** Never end on an end-of-generation token. */
  ignoreEos?: boolean;
}

/**
 * llama.cpp's sampling defaults: the one set, under the names of {@linkcode SamplingOptions},
 * that the command line, `--help` and the server's requests all start from.
 */
export const SAMPLING_DEFAULTS = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  typicalP: 1,
  repeatPenalty: 1,
  repeatLastN: 64,
  presencePenalty: 0,
  frequencyPenalty: 0,
  mirostat: 0,
  mirostatTau: 5,
  mirostatEta: 0.1,
  seed: -1,
} as const;

const SAMPLING_KEYS: readonly (keyof SamplingOptions)[] = [
  ...(Object.keys(SAMPLING_DEFAULTS) as (keyof typeof SAMPLING_DEFAULTS)[]),
  "logitBias",
  "grammar",
  "grammarLazy",
  "grammarTriggerPatterns",
  "grammarTriggerTokens",
  "ignoreEos",
];

/**
 * The sampling fields of `source` (command-line options, server settings): every
 * {@linkcode SamplingOptions} field it sets, and nothing else.
 */
export function pickSampling(source: SamplingOptions): SamplingOptions {
  const out: Record<string, unknown> = {};
  for (const key of SAMPLING_KEYS) if (source[key] !== undefined) out[key] = source[key];
  return out as SamplingOptions;
}

/** A native sampler chain owned by this object. */
export class Sampler {
  readonly #model: LlamaModel;
  #chain: Deno.PointerValue;
  #penalties: Deno.PointerValue = null;
  #grammar: Deno.PointerValue = null;
  /** Whether the grammar constrains the next token (off while a reasoning budget forces). */
  grammarActive = true;
  #penaltyWindow: number;
  /** The seed in use. */
  readonly seed: number;
  /** With a grammar, the candidates {@linkcode LlamaContext.sample} checks before accepting. */
  readonly candidates: TokenDataArray | null = null;

  /**
   * Builds the chain for `options`; `contextSize` is what a `repeatLastN` of -1 stands for.
   * With `keepCandidates`, sampling goes through {@linkcode candidates} so that the
   * candidates the chain leaves (and their probabilities) can be read afterwards.
   */
  constructor(
    model: LlamaModel,
    options: SamplingOptions = {},
    contextSize = 0,
    keepCandidates = false,
  ) {
    this.#model = model;
    const o = { ...SAMPLING_DEFAULTS, ...stripUndefined(options) };
    const lib = model.library;
    const ll = lib.llama;
    this.seed = options.seed === undefined || options.seed < 0
      ? Math.floor(Math.random() * 0xffffffff)
      : options.seed >>> 0;
    const chain = ll.llama_sampler_chain_init(new Uint8Array([1]));
    if (chain === null) throw new RangeError("Cannot create a sampler chain");
    this.#chain = chain;
    const add = (sampler: Deno.PointerValue, what: string) => {
      if (sampler === null) {
        this.close();
        throw new RangeError(`Cannot create the ${what} sampler`);
      }
      ll.llama_sampler_chain_add(chain, sampler);
      return sampler;
    };
    try {
      const bias = [...(options.logitBias ?? [])];
      // With a grammar, end of generation is the only token a completed grammar allows: banning
      // it (ignore_eos) would leave no token to accept, which libllama answers by throwing.
      const hasGrammar = options.grammar !== undefined && options.grammar.trim() !== "";
      if (options.ignoreEos && !hasGrammar) {
        for (let t = 0; t < model.vocabSize; t++) {
          if (model.isEndOfGeneration(t)) bias.push({ token: t, bias: -Infinity });
        }
      }
      if (bias.length > 0) {
        for (const { token } of bias) {
          if (!Number.isInteger(token) || token < 0 || token >= model.vocabSize) {
            throw new RangeError(
              `Cannot bias token ${token}: it is outside the vocabulary (0..${
                model.vocabSize - 1
              })`,
            );
          }
        }
        const bytes = logitBiasArray(bias);
        add(ll.llama_sampler_init_logit_bias(model.vocabSize, bias.length, bytes), "logit bias");
      }
      if (options.grammar !== undefined && options.grammar.trim() !== "") {
        try {
          checkGrammar(options.grammar, { vocabSize: model.vocabSize });
        } catch (error) {
          if (!(error instanceof GrammarCheckError)) throw error;
          throw new GrammarError(`Cannot parse grammar: ${error.message}`, { cause: error });
        }
        const mark = lib.errorMark();
        const source = cString(options.grammar);
        const root = cString("root");
        const patterns = cStringArray(options.grammarTriggerPatterns ?? []);
        const tokens = new Int32Array(Math.max(1, options.grammarTriggerTokens?.length ?? 0));
        tokens.set(options.grammarTriggerTokens ?? []);
        const { value: grammar, text } = captureStderr(
          lib,
          () =>
            options.grammarLazy
              ? ll.llama_sampler_init_grammar_lazy_patterns(
                model.vocab,
                source,
                root,
                patterns.array,
                BigInt(options.grammarTriggerPatterns?.length ?? 0),
                tokens,
                BigInt(options.grammarTriggerTokens?.length ?? 0),
              )
              : ll.llama_sampler_init_grammar(model.vocab, source, root),
        );
        if (grammar === null) {
          const parsed = /error parsing grammar: ([^\n]*)/.exec(text)?.[1]?.trim();
          const reason = parsed ||
            reasonFromLog(lib.errorsSince(mark), "the grammar is invalid");
          throw new GrammarError(`Cannot parse grammar: ${reason}`);
        }
        // kept out of the chain: it runs first, and only while it applies (see grammarActive)
        this.#grammar = grammar;
        this.candidates = new TokenDataArray(model.vocabSize);
      }
      const lastN = o.repeatLastN < 0 ? contextSize : o.repeatLastN;
      this.#penaltyWindow = lastN;
      if (o.repeatPenalty !== 1 || o.presencePenalty !== 0 || o.frequencyPenalty !== 0) {
        this.#penalties = add(
          ll.llama_sampler_init_penalties(
            model.vocabSize,
            lastN,
            o.repeatPenalty,
            o.frequencyPenalty,
            o.presencePenalty,
          ),
          "penalties",
        );
      }
      if (o.temperature <= 0) {
        add(ll.llama_sampler_init_greedy(), "greedy");
      } else if (o.mirostat === 1) {
        add(ll.llama_sampler_init_temp(o.temperature), "temperature");
        add(
          ll.llama_sampler_init_mirostat(
            model.vocabSize,
            this.seed,
            o.mirostatTau,
            o.mirostatEta,
            100,
          ),
          "mirostat",
        );
      } else if (o.mirostat === 2) {
        add(ll.llama_sampler_init_temp(o.temperature), "temperature");
        add(
          ll.llama_sampler_init_mirostat_v2(this.seed, o.mirostatTau, o.mirostatEta),
          "mirostat v2",
        );
      } else {
        if (o.topK > 0) add(ll.llama_sampler_init_top_k(o.topK), "top-k");
        if (o.typicalP < 1) add(ll.llama_sampler_init_typical(o.typicalP, 1n), "typical");
        if (o.topP < 1) add(ll.llama_sampler_init_top_p(o.topP, 1n), "top-p");
        if (o.minP > 0) add(ll.llama_sampler_init_min_p(o.minP, 1n), "min-p");
        add(ll.llama_sampler_init_temp(o.temperature), "temperature");
        add(ll.llama_sampler_init_dist(this.seed), "dist");
      }
      if (keepCandidates && this.candidates === null) {
        this.candidates = new TokenDataArray(model.vocabSize);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** @internal The native chain. */
  get handle(): Deno.PointerObject {
    if (this.#chain === null) throw new RangeError("Cannot use the sampler: it is closed");
    return this.#chain;
  }

  /** The grammar sampler when it applies to the next token, else null. */
  get grammar(): Deno.PointerObject | null {
    return this.grammarActive ? this.#grammar : null;
  }

  /** Whether the sampler has a grammar (active or not). */
  get hasGrammar(): boolean {
    return this.#grammar !== null;
  }

  /**
   * Feeds `tokens` to the grammar as if generated (a generation prompt it starts with, the end
   * of a reasoning block); stops at the first it refuses and returns how many it took.
   */
  acceptGrammar(tokens: readonly number[]): number {
    const grammar = this.#grammar;
    if (grammar === null) return 0;
    const lib = this.#model.library;
    for (let i = 0; i < tokens.length; i++) {
      if (!TokenDataArray.allows(lib, grammar, tokens[i]!)) return i;
      lib.llama.llama_sampler_accept(grammar, tokens[i]!);
    }
    return tokens.length;
  }

  /** Feeds prompt tokens to the penalties (not to the grammar), like llama.cpp does. */
  acceptPrompt(tokens: ArrayLike<number>): void {
    if (this.#penalties === null) return;
    const from = this.#penaltyWindow > 0
      ? Math.max(0, tokens.length - this.#penaltyWindow)
      : tokens.length;
    for (let i = from; i < tokens.length; i++) {
      // Image positions hold placeholder ids (< 0): no token to penalize.
      if (tokens[i]! < 0) continue;
      this.#model.library.llama.llama_sampler_accept(this.#penalties, tokens[i]!);
    }
  }

  /** Forgets accepted tokens (grammar state, penalties, mirostat). */
  reset(): void {
    this.#model.library.llama.llama_sampler_reset(this.handle);
    if (this.#grammar !== null) this.#model.library.llama.llama_sampler_reset(this.#grammar);
  }

  /** Frees the chain; safe to call twice. */
  close(): void {
    if (this.#chain === null) return;
    this.#model.library.llama.llama_sampler_free(this.#chain);
    this.#chain = null;
    if (this.#grammar !== null) this.#model.library.llama.llama_sampler_free(this.#grammar);
    this.#grammar = null;
    this.#penalties = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
