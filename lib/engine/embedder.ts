/**
 * Embeddings on a second, small context created with `embeddings: true` on first use
 * (or at once with {@linkcode Embedder.open}). Requests run one at a time (a mutex), so
 * the context never sees two decodes. A model that pools (`pooling_type` mean, cls,
 * last) gives its sequence embedding; one that does not (a generative model such as
 * stories260K) gives the mean of its token embeddings unless pooling `none` is asked for
 * (then every token's embedding, as llama.cpp's `/embeddings` returns them). A reranker
 * (pooling `rank`) gives its classification head's scores. Pooled vectors are normalized as
 * llama.cpp's `--embd-normalize` says (Euclidean by default).
 *
 * @module
 */
import { TokenBatch } from "../../ffi/batch.ts";
import { createContext, type LlamaContext } from "./context.ts";
import { ContextFullError } from "./errors.ts";
import type { LlamaModel } from "./model.ts";

/** Options of {@linkcode Embedder}. */
export interface EmbedderOptions {
  /** Tokens one input may have (default 2048, capped to the trained context). */
  contextSize?: number;
  /**
   * Tokens one decode takes (llama.cpp's `-ub`): an input longer than this cannot be embedded
   * (default: the context size).
   */
  ubatchSize?: number;
  threads?: number;
  poll?: number;
  /** `enum llama_pooling_type`: 0 none, 1 mean, 2 cls, 3 last, 4 rank (default: the model's). */
  pooling?: number;
  /** -1 none, 0 max-abs int16, 1 taxicab, 2 Euclidean (default), >2 p-norm. */
  normalize?: number;
  /** Flash attention (default: libllama's auto). */
  flashAttention?: boolean;
}

/** `enum llama_pooling_type` values. */
export const POOLING = { none: 0, mean: 1, cls: 2, last: 3, rank: 4 } as const;

/** One embedding and the tokens it took. */
export interface Embedding {
  /** The pooled vector, or with pooling `none` the mean of the token vectors (normalized). */
  vector: Float32Array;
  /** With pooling `none`: each token's vector, not normalized. */
  tokenVectors?: Float32Array[];
  /** With pooling `rank`: the classification head's outputs (the first is the score). */
  scores?: Float32Array;
  tokens: number;
}

/** Computes embeddings, one request at a time. */
export class Embedder {
  readonly model: LlamaModel;
  readonly #options: EmbedderOptions;
  #context: Promise<LlamaContext> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Decodes run (for `/metrics`). */
  decodeCalls = 0;
  /** Tokens embedded (for `/metrics`). */
  tokensTotal = 0;

  constructor(model: LlamaModel, options: EmbedderOptions = {}) {
    this.model = model;
    this.#options = options;
  }

  /** Tokens the context holds. */
  get contextSize(): number {
    const trained = this.model.trainedContext;
    const wanted = this.#options.contextSize ?? 2048;
    return trained > 0 ? Math.min(wanted, trained) : wanted;
  }

  /** Tokens one input may have: the context, and one physical batch (inputs are not split). */
  get inputLimit(): number {
    return Math.min(this.contextSize, this.#options.ubatchSize ?? this.contextSize);
  }

  /** The pooling asked for (`undefined`: the model's). */
  get pooling(): number | undefined {
    return this.#options.pooling;
  }

  /** True once the context exists. */
  get opened(): boolean {
    return this.#context !== null;
  }

  /** Creates the context now (before a sandbox forbids it, say). */
  async open(): Promise<void> {
    await this.#ensure();
  }

  /** The pooling the context uses (opens it first). */
  async poolingType(): Promise<number> {
    return (await this.#ensure()).poolingType;
  }

  #ensure(): Promise<LlamaContext> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot compute embeddings: the embedder is closed"));
    }
    if (this.#context === null) {
      const size = this.contextSize;
      const ubatch = Math.min(size, this.#options.ubatchSize ?? size);
      const pending = createContext(this.model, {
        contextSize: size,
        batchSize: ubatch,
        ubatchSize: ubatch,
        embeddings: true,
        ...(this.#options.pooling !== undefined && { poolingType: this.#options.pooling }),
        ...(this.#options.flashAttention !== undefined &&
          { flashAttention: this.#options.flashAttention }),
        ...(this.#options.threads !== undefined && { threads: this.#options.threads }),
        ...(this.#options.poll !== undefined && { poll: this.#options.poll }),
      });
      this.#context = pending;
      pending.catch(() => {
        if (this.#context === pending) this.#context = null;
      });
    }
    return this.#context;
  }

  /** The embedding of `tokens`; waits for earlier requests first. */
  embed(tokens: ArrayLike<number>, signal?: AbortSignal): Promise<Embedding> {
    const run = this.#queue.then(async () => {
      signal?.throwIfAborted();
      const context = await this.#ensure();
      return await this.#embed(context, tokens);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #embed(context: LlamaContext, input: ArrayLike<number>): Promise<Embedding> {
    const count = input.length;
    if (count === 0) throw new RangeError("Cannot embed an empty input");
    if (count > context.batchSize) {
      throw new ContextFullError(
        `Input (${count} tokens) is too large to process: increase the physical batch size (current batch size: ${context.batchSize})`,
      );
    }
    const n = this.model.embeddingSize;
    const batch = new TokenBatch(count);
    for (let i = 0; i < count; i++) batch.add(input[i]!, i, 0, true);
    context.forget(0);
    try {
      await context.decode(batch);
      this.decodeCalls++;
      this.tokensTotal += count;
      const pooling = context.poolingType;
      if (pooling === POOLING.rank) {
        const outputs = Math.max(1, this.model.classifierOutputs);
        const scores = context.embedding(0, count - 1).slice(0, outputs);
        return { vector: scores, scores, tokens: count };
      }
      if (pooling === POOLING.none) {
        const tokenVectors: Float32Array[] = [];
        const mean = new Float32Array(n);
        for (let row = 0; row < count; row++) {
          const e = context.embedding(0, row);
          tokenVectors.push(e);
          for (let j = 0; j < n; j++) mean[j]! += e[j]!;
        }
        for (let j = 0; j < n; j++) mean[j]! /= count;
        return {
          vector: normalize(mean, this.#options.normalize ?? 2),
          tokenVectors,
          tokens: count,
        };
      }
      const vector = context.embedding(0, count - 1);
      return { vector: normalize(vector, this.#options.normalize ?? 2), tokens: count };
    } finally {
      context.forget(0);
    }
  }

  /** Waits for running requests, then frees the context; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    const context = this.#context;
    this.#context = null;
    if (context) await (await context.catch(() => null))?.close();
  }
}

/**
 * Normalizes `v` in place as llama.cpp's `common_embd_normalize` does: `norm` -1 none, 0
 * scaled to the int16 range by its largest magnitude, 1 taxicab, 2 Euclidean (default), above
 * 2 the p-norm. A zero vector stays zero.
 */
export function normalize(v: Float32Array, norm = 2): Float32Array {
  let sum = 0;
  if (norm < 0) return v;
  if (norm === 0) {
    for (const x of v) sum = Math.max(sum, Math.abs(x));
    sum /= 32760;
  } else if (norm === 1) {
    for (const x of v) sum += Math.abs(x);
  } else if (norm === 2) {
    for (const x of v) sum += x * x;
    sum = Math.sqrt(sum);
  } else {
    for (const x of v) sum += Math.abs(x) ** norm;
    sum = sum ** (1 / norm);
  }
  if (sum > 0) { for (let i = 0; i < v.length; i++) v[i]! /= sum; }
  return v;
}
