/**
 * Parallel slots on one context: each slot is a sequence id; a scheduler puts
 * one token of every generating slot (and prompt chunks of the others) into
 * each `llama_decode` (continuous batching). Prompt prefixes are reused per slot.
 *
 * As llama.cpp's server: each slot holds its share of the context, or the whole of it when
 * the KV cache is unified (then a full cache first evicts idle slots' prefixes, and fails the
 * running requests when that is not enough); a full slot stops generating, or shifts its
 * context (`contextShift`: the oldest tokens after `keep` are dropped); requests may ask for
 * prompt-progress events, post-sampling probabilities and their own LoRA scales (slots whose
 * scales differ never share a batch); and slot actions (save, restore, erase) wait for their
 * slot to be idle.
 *
 * @module
 */
import type { ReasoningBudgetOptions } from "./reasoning_budget.ts";
import { TokenBatch } from "../../ffi/batch.ts";
import { AsyncQueue } from "./async_queue.ts";
import { commonPrefix } from "./common_prefix.ts";
import type { LlamaContext } from "./context.ts";
import { ContextFullError, NativeError } from "./errors.ts";
import { checkPromptEnd, type FinishReason } from "./generate.ts";
import type { LoraAdapters } from "./lora.ts";
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
  /** Report probabilities after the sampler chain instead of the model's (`post_sampling_probs`). */
  postSampling?: boolean;
  /** Reuse the slot's cached prefix (default true). */
  cachePrompt?: boolean;
  /** Aborting frees the slot before its next token. */
  signal?: AbortSignal;
  /**
   * Prefer this slot id (llama.cpp's `id_slot`); -1 = any. An id past the last slot wraps
   * around (id modulo the slot count), as llama-server's `get_slot_by_id` does.
   */
  slot?: number;
  /** Send {@linkcode PromptProgress} events while the prompt is evaluated (`return_progress`). */
  progress?: boolean;
  /** Tokens kept at the start when the context shifts; -1 = the whole prompt (default 0). */
  keep?: number;
  /** Tokens dropped by one shift; 0 = half of those after `keep` (default). */
  discard?: number;
  /** LoRA scales by adapter id for this request (default: the scheduler's). */
  lora?: readonly number[];
  /** Control tokens whose text stays in the output (a chat format's markers). */
  preservedTokens?: ReadonlySet<number>;
  /** The prompt's last tokens the grammar describes first (a chat format's generation prompt). */
  generationPrompt?: readonly number[];
  /** A thinking budget. */
  reasoningBudget?: ReasoningBudgetOptions;
}

export type { TokenLogprob };

/** How far a prompt's evaluation is (llama.cpp's `prompt_progress`). */
export interface PromptProgress {
  /** Prompt tokens. */
  total: number;
  /** Of which reused from the slot's cache. */
  cache: number;
  /** Evaluated so far, cache included. */
  processed: number;
  /** Since the request started on its slot. */
  timeMs: number;
}

/** One generated token (or, with `progress`, a prompt-progress report), as streamed. */
export interface TokenEvent {
  /** The token, or -1 for an event that carries none (held-back text, progress). */
  token: number;
  /** Text to emit now (UTF-8-safe, with stop strings held back); may be empty. */
  text: string;
  logprob?: TokenLogprob;
  top?: TokenLogprob[];
  /** Set on prompt-progress events. */
  progress?: PromptProgress;
  /** The request's timings so far. */
  timings?: SlotTimings;
}

/** A request's counts and times (llama.cpp's slot stats). */
export interface SlotTimings {
  promptTokens: number;
  /** Prompt tokens reused from the slot's cache. */
  cachedTokens: number;
  completionTokens: number;
  /** From the request's start on its slot to its last prompt token evaluated. */
  promptMs: number;
  /** From the last prompt token to the last generated token. */
  generateMs: number;
}

/** The outcome of a finished request. */
export interface SlotResult extends SlotTimings {
  finishReason: FinishReason;
  stopString: string | null;
  slot: number;
  /** The context filled: generation stopped early, or shifted away the oldest tokens. */
  truncated: boolean;
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
    truncated: false,
  };
}

/** The scheduler's wait queue is full. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
}

/** A slot id that does not exist. */
export class SlotIdError extends RangeError {
  override name = "SlotIdError";
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
  lastTokenAt: number;
  lastToken: number;
  /** LoRA scales this request decodes with. */
  lora: readonly number[];
}

/** A slot action waiting for its slot to be idle. */
interface SlotAction {
  slot: number;
  run: () => Promise<void> | void;
}

/** Live numbers for `/metrics` and `/slots`. */
export interface SchedulerStats {
  slots: number;
  busy: number;
  queued: number;
  /** Prompt tokens evaluated (cached ones not counted). */
  promptTokensTotal: number;
  /** Prompt tokens reused from slot caches. */
  promptTokensCachedTotal: number;
  generatedTokensTotal: number;
  /** Decode steps of generation (each request's first token is free: it comes from its prompt). */
  generateStepsTotal: number;
  promptMsTotal: number;
  generateMsTotal: number;
  requestsTotal: number;
  decodeCalls: number;
  /** The most tokens a slot has held. */
  tokensMax: number;
  /** Busy slots summed over decode calls (divide by `decodeCalls` for the mean). */
  busySlotsTotal: number;
}

/** One slot's state for `/slots`. */
export interface SlotInfo {
  id: number;
  busy: boolean;
  /** Tokens in the slot's cache. */
  cachedTokens: number;
  /** The running request's generated tokens (0 when idle). */
  generated: number;
  /** The running request's token budget (-1 when idle or unlimited). */
  remaining: number;
  /** The running request's sampling (null when idle). */
  sampling: SamplingOptions | null;
  /** The running request's prompt tokens (0 when idle). */
  promptTokens: number;
}

/** Options for {@linkcode SlotScheduler}. */
export interface SchedulerOptions {
  /** Requests that may wait for a free slot (default 64). */
  queueLimit?: number;
  /**
   * One KV cache for all slots: each may use the whole context (llama.cpp's `--kv-unified`,
   * its default with automatic `-np`). Otherwise each slot has its share.
   */
  unified?: boolean;
  /** Tokens one slot may use at most (`--kv-unified-per-slot`; 0 = no cap beyond its share). */
  perSlotLimit?: number;
  /** When a slot's context fills, drop its oldest tokens and go on (`--context-shift`). */
  contextShift?: boolean;
  /** LoRA adapters requests may scale. */
  lora?: LoraAdapters;
}

/** Runs requests on the slots of one context. */
export class SlotScheduler {
  readonly context: LlamaContext;
  readonly slotCount: number;
  /** Tokens each slot can hold. */
  readonly slotContext: number;
  /** Whether the slots share one KV cache. */
  readonly unified: boolean;
  readonly contextShift: boolean;
  readonly lora: LoraAdapters | null;
  /** The LoRA scales requests get unless they name theirs (POST /lora-adapters sets them). */
  loraScales: number[];
  readonly #queueLimit: number;
  readonly #waiting: Job[] = [];
  readonly #actions: SlotAction[] = [];
  readonly #active: (Active | null)[];
  readonly #cached: number[][];
  readonly #batch: TokenBatch;
  #appliedLora: string | null = null;
  #running = false;
  #closed = false;
  #stats: SchedulerStats;

  constructor(context: LlamaContext, options: SchedulerOptions = {}) {
    this.context = context;
    this.slotCount = context.sequences;
    this.unified = options.unified ?? false;
    this.contextShift = options.contextShift ?? false;
    let slotContext = this.unified ? context.size : Math.floor(context.size / this.slotCount);
    if ((options.perSlotLimit ?? 0) > 0) slotContext = Math.min(slotContext, options.perSlotLimit!);
    const trained = context.model.trainedContext;
    this.slotContext = trained > 0 ? Math.min(slotContext, trained) : slotContext;
    this.lora = options.lora ?? null;
    this.loraScales = (this.lora?.list ?? []).map((a) => a.scale);
    this.#queueLimit = options.queueLimit ?? 64;
    this.#active = Array.from({ length: this.slotCount }, () => null);
    this.#cached = Array.from({ length: this.slotCount }, () => []);
    this.#batch = new TokenBatch(context.batchSize);
    this.#stats = {
      slots: this.slotCount,
      busy: 0,
      queued: 0,
      promptTokensTotal: 0,
      promptTokensCachedTotal: 0,
      generatedTokensTotal: 0,
      generateStepsTotal: 0,
      promptMsTotal: 0,
      generateMsTotal: 0,
      requestsTotal: 0,
      decodeCalls: 0,
      tokensMax: 0,
      busySlotsTotal: 0,
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
  slots(): SlotInfo[] {
    return this.#active.map((a, id) => ({
      id,
      busy: a !== null,
      cachedTokens: this.#cached[id]!.length,
      generated: a?.result.completionTokens ?? 0,
      remaining: a === null || a.job.request.maxTokens < 0
        ? -1
        : Math.max(0, a.job.request.maxTokens - a.result.completionTokens),
      sampling: a?.job.request.sampling ?? null,
      promptTokens: a?.result.promptTokens ?? 0,
    }));
  }

  /** The tokens slot `id` holds in its cache (a copy). */
  cachedTokens(id: number): number[] {
    this.#checkSlot(id);
    return [...this.#cached[id]!];
  }

  #checkSlot(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.slotCount) {
      throw new SlotIdError(
        `Invalid slot id ${id}: this server has slots 0 to ${this.slotCount - 1}`,
      );
    }
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
    if (request.slot !== undefined && request.slot >= 0) {
      // Past the last slot, the id wraps around (llama-server's get_slot_by_id).
      const slot = request.slot % this.slotCount;
      this.#checkSlot(slot);
      request = { ...request, slot };
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

  /**
   * Runs `action` on slot `id` once that slot is idle (before the next decode), and resolves
   * with what it returns. Throws {@linkcode SlotIdError} for an unknown slot.
   */
  whenIdle<T>(id: number, action: (context: LlamaContext) => T | Promise<T>): Promise<T> {
    this.#checkSlot(id);
    if (this.#closed) {
      return Promise.reject(new Error("Cannot run the slot action: the server is shutting down"));
    }
    return new Promise<T>((resolve, reject) => {
      this.#actions.push({
        slot: id,
        run: async () => {
          try {
            resolve(await action(this.context));
          } catch (error) {
            reject(error);
          }
        },
      });
      this.#kick();
    });
  }

  /** The state of idle slot `id`: its tokens and KV cache (see {@linkcode whenIdle}). */
  saveSlot(id: number): Promise<{ tokens: number[]; state: Uint8Array }> {
    return this.whenIdle(id, (context) => ({
      tokens: [...this.#cached[id]!],
      state: context.sequenceState(id),
    }));
  }

  /**
   * Loads `tokens` and their KV `state` into idle slot `id`; throws when they do not fit in
   * the slot or libllama refuses the state (the slot is then left empty).
   */
  restoreSlot(id: number, tokens: readonly number[], state: Uint8Array): Promise<number> {
    return this.whenIdle(id, (context) => {
      context.forget(id);
      this.#cached[id] = [];
      if (tokens.length > this.slotContext) {
        throw new ContextFullError(
          `Cannot restore ${tokens.length} tokens: a slot's context holds ${this.slotContext}`,
        );
      }
      const vocab = context.model.vocabSize;
      if (tokens.some((t) => !Number.isInteger(t) || t < 0 || t >= vocab)) {
        throw new RangeError(
          "Cannot restore the slot: its file holds tokens outside the vocabulary",
        );
      }
      if (!context.setSequenceState(id, state)) {
        throw new NativeError(
          "Cannot restore the slot: libllama refused its state (another model, or no room in the KV cache)",
        );
      }
      this.#cached[id] = [...tokens];
      return tokens.length;
    });
  }

  /** Empties idle slot `id`'s cache; resolves with the tokens it held. */
  eraseSlot(id: number): Promise<number> {
    return this.whenIdle(id, (context) => {
      const n = this.#cached[id]!.length;
      context.forget(id);
      this.#cached[id] = [];
      return n;
    });
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
    for (const action of this.#actions.splice(0)) await action.run();
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
      if ((this.#waiting.length > 0 || this.#actions.length > 0) && !this.#closed) this.#kick();
    });
  }

  /** Runs the slot actions whose slots are idle. */
  async #runActions(): Promise<void> {
    for (let i = 0; i < this.#actions.length;) {
      const action = this.#actions[i]!;
      if (this.#active[action.slot] !== null) {
        i++;
        continue;
      }
      this.#actions.splice(i, 1);
      await action.run();
    }
  }

  #admit(): void {
    for (let i = 0; i < this.#waiting.length;) {
      const job = this.#waiting[i]!;
      if (job.request.signal?.aborted) {
        this.#waiting.splice(i, 1);
        const result = emptySlotResult(-1, job.request.tokens.length);
        result.finishReason = "abort";
        job.queue.end();
        job.resolve(result);
        continue;
      }
      const slot = this.#pickSlot(job.request);
      if (slot < 0) {
        // A request for a given slot waits for it without holding up the others.
        if ((job.request.slot ?? -1) >= 0) {
          i++;
          continue;
        }
        return;
      }
      this.#waiting.splice(i, 1);
      this.#start(slot, job);
    }
  }

  #pickSlot(request: SlotRequest): number {
    const wanted = request.slot ?? -1;
    if (wanted >= 0) {
      const busy = this.#active[wanted] !== null ||
        this.#actions.some((action) => action.slot === wanted);
      return busy ? -1 : wanted;
    }
    let best = -1;
    let bestShared = -1;
    for (let i = 0; i < this.slotCount; i++) {
      if (this.#active[i] !== null || this.#actions.some((action) => action.slot === i)) continue;
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
        positions: this.contextShift ? Infinity : this.slotContext,
        topLogprobs: request.topLogprobs ?? 0,
        logprobs: request.logprobs ?? false,
        postSampling: request.postSampling ?? false,
        ...(request.preservedTokens && { preservedTokens: request.preservedTokens }),
        ...(request.generationPrompt && { generationPrompt: request.generationPrompt }),
        ...(request.reasoningBudget && { reasoningBudget: request.reasoningBudget }),
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
    const a: Active = {
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
      lastTokenAt: 0,
      lastToken: -1,
      lora: request.lora ?? this.loraScales,
    };
    this.#active[slot] = a;
    this.#stats.requestsTotal++;
    this.#stats.promptTokensCachedTotal += keep;
    if (request.progress) this.#progress(a);
  }

  /** Sends a prompt-progress event for `a`. */
  #progress(a: Active): void {
    const r = a.result;
    a.job.queue.push({
      token: -1,
      text: "",
      progress: {
        total: r.promptTokens,
        cache: r.cachedTokens,
        processed: r.promptTokens - a.pending.length,
        timeMs: performance.now() - a.startedAt,
      },
      timings: this.#timings(a),
    });
  }

  #timings(a: Active): SlotTimings {
    const r = a.result;
    return {
      promptTokens: r.promptTokens,
      cachedTokens: r.cachedTokens,
      completionTokens: r.completionTokens,
      promptMs: r.promptMs,
      generateMs: r.generateMs,
    };
  }

  /** The LoRA scales as a batch key (slots with other scales wait for another decode). */
  #loraKey(scales: readonly number[]): string {
    return this.lora === null || this.lora.list.length === 0 ? "" : scales.join(",");
  }

  /** Drops the oldest tokens after `keep` of a full slot (llama.cpp's context shift). */
  #shift(slot: number, a: Active): void {
    const request = a.job.request;
    let keep = (request.keep ?? 0) < 0 ? a.result.promptTokens : (request.keep ?? 0);
    if (this.context.model.addsBos) keep += 1;
    keep = Math.max(0, Math.min(this.slotContext - 4, keep));
    const left = a.pos - keep;
    const wanted = (request.discard ?? 0) > 0 ? request.discard! : Math.floor(left / 2);
    const discard = Math.max(0, Math.min(wanted, left - 1));
    if (discard === 0) return;
    this.context.forget(slot, keep, keep + discard);
    this.context.shift(slot, keep + discard, a.pos, -discard);
    const cached = this.#cached[slot]!;
    cached.splice(keep, discard);
    a.pos -= discard;
    a.result.truncated = true;
  }

  async #loop(): Promise<void> {
    // Started from idle: requests that arrive together (their bodies still being read) join the
    // first batch, one turn of the event loop later, as llama-server's queue gathers them.
    let gather = true;
    while (true) {
      // No await unless there is an action: a request submitted now is admitted before
      // submit() returns, so the next submit sees its slot taken.
      if (this.#actions.length > 0) await this.#runActions();
      this.#admit();
      if (gather) {
        gather = false;
        await new Promise((r) => setTimeout(r, 0));
        this.#admit();
      }
      this.#dropAborted();
      // Images first, each on its own (encoder, then its embeddings into the slot's sequence).
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (a && a.spans[0]?.start === a.length - a.pending.length) await this.#decodeMedia(i, a);
      }
      const batch = this.#batch;
      batch.clear();
      // The LoRA scales of this decode: those of the first slot with work.
      let loraKey: string | null = null;
      let loraScales: readonly number[] = this.loraScales;
      const joins = (a: Active) => {
        const key = this.#loraKey(a.lora);
        if (loraKey === null) {
          loraKey = key;
          loraScales = a.lora;
        }
        return key === loraKey;
      };
      // One token for every generating slot first, so decode speed is shared fairly.
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (!a || a.pending.length > 0 || a.lastToken < 0 || !joins(a)) continue;
        if (this.contextShift && a.pos + 1 >= this.slotContext) this.#shift(i, a);
        a.row = batch.add(a.lastToken, a.pos++, i, true);
        this.#cached[i]!.push(a.lastToken);
      }
      // Then prompt chunks into the room that is left.
      for (let i = 0; i < this.slotCount && batch.length < batch.capacity; i++) {
        const a = this.#active[i];
        if (!a || a.pending.length === 0 || !joins(a)) continue;
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
        if (this.#waiting.length === 0 && this.#actions.length === 0 && !images) return;
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      try {
        if (this.lora !== null && this.lora.list.length > 0 && this.#appliedLora !== loraKey) {
          const active = this.lora.handles.filter((_, i) => (loraScales[i] ?? 0) !== 0);
          const scales = loraScales.filter((s) => (s ?? 0) !== 0);
          this.context.setLora(active, scales);
          this.#appliedLora = loraKey;
        }
        this.#stats.decodeCalls++;
        this.#stats.busySlotsTotal += this.#active.filter((a) => a !== null).length;
        await this.#decode(batch);
      } catch (error) {
        for (let i = 0; i < this.slotCount; i++) if (this.#active[i]) this.#fail(i, error);
        continue;
      }
      for (let i = 0; i < this.slotCount; i++) {
        const a = this.#active[i];
        if (!a) continue;
        this.#stats.tokensMax = Math.max(this.#stats.tokensMax, this.#cached[i]!.length);
        if (a.row < 0) {
          // A prompt chunk that did not end the prompt.
          if (a.job.request.progress && a.pending.length > 0 && a.promptDoneAt === 0) {
            a.result.promptMs = performance.now() - a.startedAt;
            this.#progress(a);
          }
          continue;
        }
        if (a.pending.length > 0) continue;
        if (a.promptDoneAt === 0) {
          a.promptDoneAt = performance.now();
          a.result.promptMs = a.promptDoneAt - a.startedAt;
          this.#stats.promptTokensTotal += a.result.promptTokens - a.result.cachedTokens;
          this.#stats.promptMsTotal += a.result.promptMs;
          if (a.job.request.progress) this.#progress(a);
        }
        this.#step(i, a);
      }
    }
  }

  /**
   * Decodes `batch`. With a unified cache that is full, the idle slots' cached prefixes are
   * evicted and the decode tried again; when that is not enough the running requests fail, as
   * llama.cpp's do ("context size has been exceeded").
   */
  async #decode(batch: TokenBatch): Promise<void> {
    try {
      await this.context.decode(batch);
    } catch (error) {
      if (!(error instanceof ContextFullError)) throw error;
      let evicted = false;
      for (let i = 0; i < this.slotCount; i++) {
        if (this.#active[i] === null && this.#cached[i]!.length > 0) {
          this.context.forget(i);
          this.#cached[i] = [];
          evicted = true;
        }
      }
      if (!evicted) {
        throw new ContextFullError(
          "Context size has been exceeded: the slots' tokens do not fit in the shared KV cache",
        );
      }
      await this.context.decode(batch);
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
      a.lastTokenAt = performance.now();
      a.result.generateMs = a.lastTokenAt - a.promptDoneAt;
      this.#stats.generatedTokensTotal++;
      if (a.loop.tokens.length > 1) this.#stats.generateStepsTotal++;
      const { finish: _, ...event } = step;
      a.job.queue.push({ ...event, timings: this.#timings(a) });
    }
    if (step.finish !== null) {
      a.result.stopString = a.loop.stopString;
      if (step.finish === "context") a.result.truncated = true;
      this.#finish(slot, a, step.finish);
      return;
    }
    a.lastToken = step.token;
  }

  #finish(slot: number, a: Active, reason: FinishReason): void {
    a.result.finishReason = reason;
    if (a.lastTokenAt === 0 && a.promptDoneAt > 0 && reason !== "abort") a.result.generateMs = 0;
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
