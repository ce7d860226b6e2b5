/**
 * The token loop's step, the one both {@linkcode generate} and the slot scheduler run for each
 * token: sample from a batch row (with log-probabilities when asked), end of generation, the
 * token's text (UTF-8-safe), stop strings, then the length and context limits.
 *
 * @module
 */
import type { LlamaContext } from "./context.ts";
import type { FinishReason } from "./generate.ts";
import { ReasoningBudget, type ReasoningBudgetOptions } from "./reasoning_budget.ts";
import { Sampler, type SamplingOptions } from "./sampler.ts";
import type { Candidate } from "../../ffi/token_data.ts";
import { StopMatcher } from "./stop_matcher.ts";

/** A log-probability of one token. */
export interface TokenLogprob {
  token: number;
  text: string;
  bytes: number[];
  logprob: number;
  /** The probability after the sampler chain (with `postSampling`). */
  prob?: number;
}

/** Options of a {@linkcode TokenLoop}. */
export interface TokenLoopOptions {
  sampling: SamplingOptions;
  /** Tokens to generate at most; -1 = no limit. */
  maxTokens: number;
  /** Stop before any of these strings; they are not part of the output. */
  stop?: readonly string[];
  /** Positions the sequence may use: generation ends once the next one is past them. */
  positions: number;
  /** Report the top N alternatives with log-probabilities for each token (0 = none). */
  topLogprobs?: number;
  /** Report the chosen token's log-probability. */
  logprobs?: boolean;
  /** Report probabilities after the sampler chain (top-k, top-p, temperature...) instead. */
  postSampling?: boolean;
  /** Control tokens whose text stays in the output (a chat format's markers). */
  preservedTokens?: ReadonlySet<number>;
  /**
   * The tokens the prompt ends with that the grammar describes first (a chat format's
   * generation prompt): fed to the grammar, when not lazy, and to the reasoning budget.
   */
  generationPrompt?: readonly number[];
  /** A thinking budget, and the thinking tags it watches for. */
  reasoningBudget?: ReasoningBudgetOptions;
}

/** What one step produced. */
export interface TokenStep {
  /** The token sampled and kept, or -1 when none was (a limit, or end of generation). */
  token: number;
  /** Text to emit now (UTF-8-safe, with stop strings held back); may be empty. */
  text: string;
  logprob?: TokenLogprob;
  top?: TokenLogprob[];
  /** Why generation ends with this step, or `null` to decode the token and go on. */
  finish: FinishReason | null;
}

/** One sequence's generation state: its sampler chain, stop matcher and UTF-8 decoder. */
export class TokenLoop {
  readonly #context: LlamaContext;
  readonly #sampler: Sampler;
  readonly #stops: StopMatcher;
  readonly #decoder = new TextDecoder("utf-8");
  readonly #options: TokenLoopOptions;
  readonly #budget: ReasoningBudget | null;
  /** The tokens generated so far, in order. */
  readonly tokens: number[] = [];
  /** The stop string that ended generation, if one did. */
  stopString: string | null = null;

  /**
   * Builds the sampler chain for `options.sampling` (throws `GrammarError` on a bad grammar).
   * `contextSize` is what a `repeat_last_n` of -1 stands for.
   */
  constructor(context: LlamaContext, options: TokenLoopOptions, contextSize = context.size) {
    this.#context = context;
    this.#options = options;
    this.#sampler = new Sampler(
      context.model,
      options.sampling,
      contextSize,
      options.postSampling ?? false,
    );
    this.#stops = new StopMatcher(options.stop ?? []);
    const prefill = options.generationPrompt ?? [];
    if (this.#sampler.hasGrammar && !options.sampling.grammarLazy) {
      this.#sampler.acceptGrammar(prefill);
    }
    this.#budget = options.reasoningBudget ? new ReasoningBudget(options.reasoningBudget) : null;
    if ((options.reasoningBudget?.initial ?? "idle") === "idle") {
      for (const token of prefill) {
        this.#budget?.accept(token, context.model.tokenBytes(token, true));
      }
    }
  }

  /** Feeds the prompt to the penalties, as llama.cpp does. */
  acceptPrompt(tokens: ArrayLike<number>): void {
    this.#sampler.acceptPrompt(tokens);
  }

  /**
   * Samples the next token from the logits of batch row `row`; `position` is where that token
   * would go in the sequence.
   */
  next(row: number, position: number): TokenStep {
    const { maxTokens } = this.#options;
    if (maxTokens >= 0 && this.tokens.length >= maxTokens) {
      return { token: -1, text: "", finish: "length" };
    }
    const model = this.#context.model;
    const topN = this.#options.topLogprobs ?? 0;
    const post = this.#options.postSampling === true && (topN > 0 || this.#options.logprobs);
    const logits = !post && (topN > 0 || this.#options.logprobs) ? this.#context.logits(row) : null;
    const budget = this.#budget;
    // a lazy grammar waits while a thinking block is open (its trigger may appear in thoughts)
    const grammarApplies = budget === null || !this.#options.sampling.grammarLazy ||
      budget.state === "idle" || budget.state === "done";
    this.#sampler.grammarActive = grammarApplies;
    let token: number;
    const forced = budget?.forcedToken ?? -1;
    if (forced >= 0) {
      token = this.#forceToken(forced);
    } else {
      token = this.#context.sample(this.#sampler, row);
    }
    // -1: the grammar allows no token here; generation ends as if at end of generation.
    if (token < 0) return { token: -1, text: "", finish: "eog" };
    if (budget !== null) {
      budget.accept(token, model.tokenBytes(token, true));
      // a block just closed while the grammar slept: it sees the end tag (it may be a trigger)
      const end = budget.state === "done" && !grammarApplies ? budget.endMatch : null;
      if (end !== null) {
        this.#sampler.grammarActive = true;
        this.#sampler.acceptGrammar(end);
      }
    }
    const grammar = (this.#options.sampling.grammar ?? "").trim() !== "";
    if ((!this.#options.sampling.ignoreEos || grammar) && model.isEndOfGeneration(token)) {
      return { token: -1, text: "", finish: "eog" };
    }
    this.tokens.push(token);
    const special = this.#options.preservedTokens?.has(token) ?? false;
    const step = this.#stops.push(
      this.#decoder.decode(model.tokenBytes(token, special), { stream: true }),
    );
    const out: TokenStep = {
      token,
      text: step.text,
      ...(logits && logprobsOf(this.#context, logits, token, topN)),
      ...(post && postSamplingOf(this.#context, this.#sampler, token, topN)),
      finish: null,
    };
    if (step.stop !== null) {
      this.stopString = step.stop;
      out.finish = "stop";
    } else if (maxTokens >= 0 && this.tokens.length >= maxTokens) {
      out.finish = "length";
    } else if (position + 1 >= this.#options.positions) {
      // As llama.cpp: the slot is full once the next token would leave no room for another.
      out.finish = "context";
    }
    return out;
  }

  /** Takes `token` as the next one without sampling (a reasoning budget's end sequence). */
  #forceToken(token: number): number {
    const sampler = this.#sampler;
    const lib = this.#context.model.library;
    const grammar = sampler.grammar;
    if (grammar !== null && sampler.acceptGrammar([token]) === 0) return -1;
    lib.llama.llama_sampler_accept(sampler.handle, token);
    return token;
  }

  /**
   * The text still held back (a partial UTF-8 character, a prefix of a stop string): emit it
   * when generation ends other than at a stop string.
   */
  flush(): string {
    return this.#stops.push(this.#decoder.decode()).text + this.#stops.flush();
  }

  /** Frees the sampler chain; safe to call twice. */
  close(): void {
    this.#sampler.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function logprobsOf(
  context: LlamaContext,
  logits: Float32Array,
  chosen: number,
  topN: number,
): { logprob: TokenLogprob; top?: TokenLogprob[] } {
  const model = context.model;
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  const entry = (token: number): TokenLogprob => {
    const bytes = model.tokenBytes(token);
    return {
      token,
      text: new TextDecoder().decode(bytes),
      bytes: Array.from(bytes),
      logprob: logits[token]! - logZ,
    };
  };
  const out: { logprob: TokenLogprob; top?: TokenLogprob[] } = { logprob: entry(chosen) };
  if (topN > 0) {
    const best: number[] = [];
    for (let t = 0; t < logits.length; t++) {
      if (best.length < topN) {
        best.push(t);
        best.sort((x, y) => logits[y]! - logits[x]!);
      } else if (logits[t]! > logits[best[best.length - 1]!]!) {
        best[best.length - 1] = t;
        best.sort((x, y) => logits[y]! - logits[x]!);
      }
    }
    out.top = best.map(entry);
  }
  return out;
}

/**
 * The chosen token's probability and the `topN` most likely candidates after the sampler
 * chain (llama.cpp's `post_sampling_probs`): tokens the chain removed are not among them.
 */
function postSamplingOf(
  context: LlamaContext,
  sampler: Sampler,
  chosen: number,
  topN: number,
): { logprob: TokenLogprob; top?: TokenLogprob[] } {
  const model = context.model;
  const candidates: Candidate[] = sampler.candidates?.lastCandidates() ?? [];
  const entry = (token: number, prob: number): TokenLogprob => {
    const bytes = model.tokenBytes(token);
    return {
      token,
      text: new TextDecoder().decode(bytes),
      bytes: Array.from(bytes),
      logprob: prob > 0 ? Math.log(prob) : -Infinity,
      prob,
    };
  };
  const mine = candidates.find((c) => c.token === chosen);
  const out: { logprob: TokenLogprob; top?: TokenLogprob[] } = {
    logprob: entry(chosen, mine?.p ?? 1),
  };
  if (topN > 0) {
    out.top = candidates.filter((c) => c.p > 0).sort((a, b) => b.p - a.p).slice(0, topN).map((c) =>
      entry(c.token, c.p)
    );
  }
  return out;
}
