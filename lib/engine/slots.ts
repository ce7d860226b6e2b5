/**
 * Parallel slots on one context: each slot is a sequence id; a scheduler puts
 * one token of every generating slot (and prompt chunks of the others) into
 * each `llama_decode` (continuous batching). Prompt prefixes are reused per slot.
 *
 * @module
 */
import { TokenBatch } from "../../ffi/batch.ts";
import { AsyncQueue } from "./async_queue.ts";
import { commonPrefix } from "./common_prefix.ts";
import type { LlamaContext } from "./context.ts";
import { ContextFullError } from "./errors.ts";
import { checkPromptEnd, type FinishReason } from "./generate.ts";
import type { MediaSpan } from "./media_prompt.ts";
import type { SamplingOptions } from "./sampler.ts";
import { type TokenLogprob, TokenLoop } from "./token_loop.ts";

/** A completion request for a slot. */
export interface SlotRequest {
  /** Prompt tokens (BOS included when wanted); an image chunk's positions hold placeholder ids. */
  tokens: ArrayLike<number>;
  /**
   * The image chunks among `tokens`, in order (a `MediaPrompt`'s spans): each is encoded and
   * decoded into the slot's sequence on its own, between the batched decodes of all slots.
   */
  media?: readonly MediaSpan[];
  /** True when the images' positions are M-RoPE positions (not token indices). */
  mrope?: boolean;
  sampling: SamplingOptions;
  /** Tokens to generate at most; -1 = until EOG or the slot's context is full. */
  maxTokens: number;
  stop?: readonly string[];
  /** Report the top N alternatives with log-probabilities for each token (0 = none). */
  topLogprobs?: number;
  /** Report the chosen token's log-probability. */
  logprobs?: boolean;
  /** Reuse the slot's cached prefix (default true). */
  cachePrompt?: boolean;
  /** Aborting frees the slot before its next token. */
  signal?: AbortSignal;
  /** Prefer this slot id (llama.cpp's `id_slot`); -1 = any. */
  slot?: number;
}

export type { TokenLogprob };

/** One generated token, as streamed. */
export interface TokenEvent {
  token: number;
  /** Text to emit now (UTF-8-safe, with stop strings held back); may be empty. */
  text: string;
  logprob?: TokenLogprob;
  top?: TokenLogprob[];
}

/** The outcome of a finished request. */
export interface SlotResult {
  finishReason: FinishReason;
  stopString: string | null;
  promptTokens: number;
  /** Prompt tokens reused from the slot's cache. */
  cachedTokens: number;
  completionTokens: number;
  promptMs: number;
  generateMs: number;
  slot: number;
}

/** The result of a request before (or without) any work: no tokens, no time. */
export function emptySlotResult(slot: number, promptTokens: number): SlotResult {
  return {
    finishReason: "length",
    stopString: null,
    promptTokens,
    cachedTokens: 0,
    completionTokens: 0,
    promptMs: 0,
    generateMs: 0,
    slot,
  };
}

/** The scheduler's wait queue is full. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
}

/** A running request: iterate its tokens, await its result. */
export interface SlotStream extends AsyncIterable<TokenEvent> {
  readonly result: Promise<SlotResult>;
}

interface Job {
  request: SlotRequest;
  queue: AsyncQueue<TokenEvent>;
  resolve: (result: SlotResult) => void;
  reject: (error: unknown) => void;
  enqueuedAt: number;
}

interface Active {
  job: Job;
  loop: TokenLoop;
  /** Prompt tokens still to decode. */
  pending: number[];
  /** Image chunks still to decode, by their index in the whole prompt. */
  spans: MediaSpan[];
  /** Prompt length, so that `length - pending.length` is the index of `pending[0]`. */
  length: number;
  /** Next position in the sequence. */
  pos: number;
  /** Row in the current batch whose logits this slot samples from, or -1. */
  row: number;
  result: SlotResult;
  startedAt: number;
  promptDoneAt: number;
  lastToken: number;
}

/** Live numbers for `/metrics` and `/slots`. */
export interface SchedulerStats {
  slots: number;
  busy: number;
  queued: number;
  promptTokensTotal: number;
  generatedTokensTotal: number;
  promptMsTotal: number;
  generateMsTotal: number;
  requestsTotal: number;
  decodeCalls: number;
}

/** Options for {@linkcode SlotScheduler}. */
export interface SchedulerOptions {
  /** Requests that may wait for a free slot (default 64). */
  queueLimit?: number;
}

/** Runs requests on the slots of one context. */
export class SlotScheduler {
  readonly context: LlamaContext;
  readonly slotCount: number;
  /** Tokens each slot can hold. */
  readonly slotContext: number;
  readonly #queueLimit: number;
  readonly #waiting: Job[] = [];
  readonly #active: (Active | null)[];
  readonly #cached: number[][];
  readonly #batch: TokenBatch;
  #running = false;
  #closed = false;
  #stats: SchedulerStats;

  constructor(context: LlamaContext, options: SchedulerOptions = {}) {
    this.context = context;
    this.slotCount = context.sequences;
    this.slotContext = Math.floor(context.size / this.slotCount);
    this.#queueLimit = options.queueLimit ?? 64;
    this.#active = Array.from({ length: this.slotCount }, () => null);
    this.#cached = Array.from({ length: this.slotCount }, () => []);
    this.#batch = new TokenBatch(context.batchSize);
    this.#stats = {
      slots: this.slotCount,
      busy: 0,
      queued: 0,
      promptTokensTotal: 0,
      generatedTokensTotal: 0,
      promptMsTotal: 0,
      generateMsTotal: 0,
      requestsTotal: 0,
      decodeCalls: 0,
    };
  }

  /** A snapshot of the counters. */
  stats(): SchedulerStats {
    return {
      ...this.#stats,
      busy: this.#active.filter((a) => a !== null).length,
      queued: this.#waiting.length,
    };
  }

  /** Per-slot state for `/slots`. */
  slots(): { id: number; busy: boolean; cachedTokens: number; generated: number }[] {
    return this.#active.map((a, id) => ({
      id,
      busy: a !== null,
      cachedTokens: this.#cached[id]!.length,
      generated: a?.result.completionTokens ?? 0,
    }));
  }

  /** Starts a request; throws {@linkcode QueueFullError} when no slot is free and the queue is full. */
  submit(request: SlotRequest): SlotStream {
    if (this.#closed) throw new Error("Cannot accept the request: the server is shutting down");
    if (request.tokens.length === 0) throw new RangeError("Cannot complete an empty prompt");
    if (request.tokens.length >= this.slotContext) {
      throw new ContextFullError(
        `Cannot fit the prompt: it is ${request.tokens.length} tokens and a slot's context holds ${this.slotContext}`,
      );
    }
    checkPromptEnd(request.tokens, request.media ?? []);
    const free = this.#active.some((a) => a === null);
    if (!free && this.#waiting.length >= this.#queueLimit) {
      throw new QueueFullError(
        `Cannot queue the request: all ${this.slotCount} slots are busy and the queue is full`,
      );
    }
    const queue = new AsyncQueue<TokenEvent>();
    let resolve!: (result: SlotResult) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<SlotResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {});
    this.#waiting.push({ request, queue, resolve, reject, enqueuedAt: performance.now() });
    this.#kick();
    return { result, [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator]() };
  }

  /** Stops accepting work, aborts what runs, and waits for the loop to settle. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#waiting.splice(0)) {
      const error = new Error("The server is shutting down");
      job.queue.fail(error);
      job.reject(error);
    }
    while (this.#running) await new Promise((r) => setTimeout(r, 5));
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop().catch((error) => {
      for (let i = 0; i < this.#active.length; i++) {
        const a = this.#active[i];
        if (a) this.#fail(i, error);
      }
    }).finally(() => {
      this.#running = false;
      if (this.#waiting.length > 0 && !this.#closed) this.#kick();
    });
  }

  #admit(): void {
    while (this.#waiting.length > 0) {
      const job = this.#waiting[0]!;
      if (job.request.signal?.aborted) {
        this.#waiting.shift();
        const result = emptySlotResult(-1, job.request.tokens.length);
        result.finishReason = "abort";
        job.queue.end();
        job.resolve(result);
        continue;
      }
      const slot = this.#pickSlot(job.request);
      if (slot < 0) return;
      this.#waiting.shift();
      this.#start(slot, job);
    }
  }

  #pickSlot(request: SlotRequest): number {
    const wanted = request.slot ?? -1;
    if (wanted >= 0 && wanted < this.slotCount) return this.#active[wanted] === null ? wanted : -1;
    let best = -1;
    let bestShared = -1;
    for (let i = 0; i < this.slotCount; i++) {
      if (this.#active[i] !== null) continue;
      const shared = request.cachePrompt === false
        ? 0
        : commonPrefix(this.#cached[i]!, request.tokens);
      if (shared > bestShared) {
        best = i;
        bestShared = shared;
      }
    }
    return best;
  }

  #start(slot: number, job: Job): void {
    const tokens = Array.from(job.request.tokens);
    const request = job.request;
    let loop: TokenLoop;
    try {
      loop = new TokenLoop(this.context, {
        sampling: request.sampling,
        maxTokens: request.maxTokens,
        stop: request.stop ?? [],
        positions: this.slotContext,
        topLogprobs: request.topLogprobs ?? 0,
        logprobs: request.logprobs ?? false,
      }, this.slotContext);
    } catch (error) {
      job.queue.fail(error);
      job.reject(error);
      return;
    }
    loop.acceptPrompt(tokens);
    const cached = this.#cached[slot]!;
    const spans = request.media ?? [];
    let keep = job.request.cachePrompt === false ? 0 : commonPrefix(cached, tokens);
    if (keep >= tokens.length) keep = tokens.length - 1; // always decode at least one token for logits
    // An image is reused whole or decoded again, and past an M-RoPE image positions are no
    // longer token indices: keep only up to it.
    for (const span of spans) {
      if (span.start < keep && keep < span.start + span.chunk.tokens) keep = span.start;
    }
    if (request.mrope && spans.length > 0) keep = Math.min(keep, spans[0]!.start);
    this.context.forget(slot, keep, -1);
    this.#cached[slot] = tokens.slice(0, keep);
    const result = emptySlotResult(slot, tokens.length);
    result.cachedTokens = keep;
    this.#active[slot] = {
      job,
      loop,
      pending: tokens.slice(keep),
      spans: spans.filter((span) => span.start >= keep),
      length: tokens.length,
      pos: keep,
      row: -1,
      result,
      startedAt: performance.now(),
      promptDoneAt: 0,
      lastToken: -1,
    };
    this.#stats.requestsTotal++;
  }

  async #loop(): Promise<void> {
    while (true) {
      this.#admit();
      this.#dropAborted();
      // Images first, each on its own (encoder, then its embeddings into the slot's sequence).
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (a && a.spans[0]?.start === a.length - a.pending.length) await this.#decodeMedia(i, a);
      }
      const batch = this.#batch;
      batch.clear();
      // One token for every generating slot first, so decode speed is shared fairly.
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (!a || a.pending.length > 0 || a.lastToken < 0) continue;
        a.row = batch.add(a.lastToken, a.pos++, i, true);
        this.#cached[i]!.push(a.lastToken);
      }
      // Then prompt chunks into the room that is left.
      for (let i = 0; i < this.slotCount && batch.length < batch.capacity; i++) {
        const a = this.#active[i];
        if (!a || a.pending.length === 0) continue;
        const room = batch.capacity - batch.length;
        // Text up to the next image at most.
        const next = (a.spans[0]?.start ?? a.length) - (a.length - a.pending.length);
        const take = Math.min(room, a.pending.length, next);
        if (take <= 0) continue;
        const chunk = a.pending.splice(0, take);
        for (let j = 0; j < chunk.length; j++) {
          const last = a.pending.length === 0 && j === chunk.length - 1;
          const row = batch.add(chunk[j]!, a.pos++, i, last);
          if (last) a.row = row;
        }
        this.#cached[i]!.push(...chunk);
      }
      if (batch.length === 0) {
        const images = this.#active.some((a) => a !== null && a.spans.length > 0);
        if (this.#waiting.length === 0 && !images) return;
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      try {
        this.#stats.decodeCalls++;
        await this.context.decode(batch);
      } catch (error) {
        for (let i = 0; i < this.slotCount; i++) if (this.#active[i]) this.#fail(i, error);
        continue;
      }
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (!a || a.row < 0 || a.pending.length > 0) continue;
        if (a.promptDoneAt === 0) {
          a.promptDoneAt = performance.now();
          a.result.promptMs = a.promptDoneAt - a.startedAt;
          this.#stats.promptTokensTotal += a.result.promptTokens - a.result.cachedTokens;
          this.#stats.promptMsTotal += a.result.promptMs;
        }
        this.#step(i, a);
      }
    }
  }

  /** Decodes the image chunk that comes next in slot `slot`'s prompt. */
  async #decodeMedia(slot: number, a: Active): Promise<void> {
    const span = a.spans[0]!;
    try {
      a.pos = await span.chunk.evaluate(this.context, slot, a.pos);
    } catch (error) {
      this.#fail(slot, error);
      return;
    }
    a.spans.shift();
    const placeholders = a.pending.splice(0, span.chunk.tokens);
    this.#cached[slot]!.push(...placeholders);
  }

  #dropAborted(): void {
    for (let i = 0; i < this.slotCount; i++) {
      const a = this.#active[i];
      if (a && (this.#closed || a.job.request.signal?.aborted)) this.#finish(i, a, "abort");
    }
  }

  #step(slot: number, a: Active): void {
    const row = a.row;
    a.row = -1;
    let step;
    try {
      step = a.loop.next(row, a.pos);
    } catch (error) {
      this.#fail(slot, error);
      return;
    }
    a.result.completionTokens = a.loop.tokens.length;
    if (step.token >= 0) {
      this.#stats.generatedTokensTotal++;
      const { finish: _, ...event } = step;
      a.job.queue.push(event);
    }
    if (step.finish !== null) {
      a.result.stopString = a.loop.stopString;
      this.#finish(slot, a, step.finish);
      return;
    }
    a.lastToken = step.token;
  }

  #finish(slot: number, a: Active, reason: FinishReason): void {
    a.result.finishReason = reason;
    const now = performance.now();
    a.result.generateMs = a.promptDoneAt > 0 ? now - a.promptDoneAt : 0;
    this.#stats.generateMsTotal += a.result.generateMs;
    if (reason !== "stop") {
      const tail = a.loop.flush();
      if (tail) a.job.queue.push({ token: -1, text: tail });
    }
    a.loop.close();
    this.#active[slot] = null;
    a.job.queue.end();
    a.job.resolve(a.result);
  }

  #fail(slot: number, error: unknown): void {
    const a = this.#active[slot];
    if (!a) return;
    a.loop.close();
    this.#active[slot] = null;
    this.context.forget(slot);
    this.#cached[slot] = [];
    a.job.queue.fail(error);
    a.job.reject(error);
  }
}
