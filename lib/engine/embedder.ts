/**
 * Embeddings on a second, small context created with `embeddings: true` on first use
 * (or at once with {@linkcode Embedder.open}). Requests run one at a time (a mutex), so
 * the context never sees two decodes. A model that pools (`pooling_type` mean, cls,
 * last) gives its sequence embedding; one that does not (a generative model such as
 * stories260K) gives the mean of its token embeddings. Vectors are L2-normalized, as
 * llama.cpp's server returns them by default.
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
  threads?: number;
  poll?: number;
}

/** `enum llama_pooling_type` value for "none". */
const POOLING_NONE = 0;

/** One embedding and the tokens it took. */
export interface Embedding {
  vector: Float32Array;
  tokens: number;
}

/** Computes embeddings, one request at a time. */
export class Embedder {
  readonly model: LlamaModel;
  readonly #options: EmbedderOptions;
  #context: Promise<LlamaContext> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(model: LlamaModel, options: EmbedderOptions = {}) {
    this.model = model;
    this.#options = options;
  }

  /** Tokens one input may have. */
  get contextSize(): number {
    const trained = this.model.trainedContext;
    const wanted = this.#options.contextSize ?? 2048;
    return trained > 0 ? Math.min(wanted, trained) : wanted;
  }

  /** True once the context exists. */
  get opened(): boolean {
    return this.#context !== null;
  }

  /** Creates the context now (before a sandbox forbids it, say). */
  async open(): Promise<void> {
    await this.#ensure();
  }

  #ensure(): Promise<LlamaContext> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot compute embeddings: the embedder is closed"));
    }
    if (this.#context === null) {
      const size = this.contextSize;
      const pending = createContext(this.model, {
        contextSize: size,
        batchSize: size,
        ubatchSize: size,
        embeddings: true,
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
    if (count > context.size) {
      throw new ContextFullError(
        `Cannot embed ${count} tokens: the embedding context holds ${context.size}`,
      );
    }
    const n = this.model.embeddingSize;
    const batch = new TokenBatch(count);
    for (let i = 0; i < count; i++) batch.add(input[i]!, i, 0, true);
    context.forget(0);
    try {
      await context.decode(batch);
      const pooling = this.model.library.llama.llama_pooling_type(context.handle);
      let vector: Float32Array;
      if (pooling === POOLING_NONE) {
        vector = new Float32Array(n);
        for (let row = 0; row < count; row++) {
          const e = context.embedding(0, row);
          for (let j = 0; j < n; j++) vector[j]! += e[j]!;
        }
        for (let j = 0; j < n; j++) vector[j]! /= count;
      } else {
        vector = context.embedding(0, count - 1);
      }
      return { vector: normalize(vector), tokens: count };
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

/** Scales `v` to unit Euclidean length (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) { for (let i = 0; i < v.length; i++) v[i]! /= norm; }
  return v;
}
