/**
 * An inference context: KV cache, threads, decode. One decode at a time.
 *
 * @module
 */
import { TokenBatch } from "../../ffi/batch.ts";
import { viewFloats } from "../../ffi/cstring.ts";
import type { LlamaLibrary } from "../../ffi/library.ts";
import {
  contextParams,
  type ContextParamsInput,
  decodePerfContext,
  threadpoolParams,
} from "../../ffi/params.ts";
import { setLoraAdapters } from "../../ffi/lora.ts";
import { availableMemory, cpuinfoText } from "../../ffi/proc.ts";
import type { TokenDataArray } from "../../ffi/token_data.ts";
import { ClosedError, ContextFullError, NativeError, reasonFromLog } from "./errors.ts";
import { decodeSessionFile, encodeSessionFile } from "./state_file.ts";
import type { LlamaModel } from "./model.ts";

/** Options for {@linkcode createContext}. */
export interface ContextOptions {
  /** Context size in tokens; 0 = the model's trained context (default 4096, capped to the trained one). */
  contextSize?: number;
  /** Logical batch size (default 2048). */
  batchSize?: number;
  /** Physical batch size (default 512). */
  ubatchSize?: number;
  /** Threads for generation (default {@linkcode defaultThreads}). */
  threads?: number;
  /** Threads for prompt processing (default: `threads`). */
  threadsBatch?: number;
  /** Parallel sequences (slots) sharing this context (default 1). */
  sequences?: number;
  /** Compute embeddings instead of logits. */
  embeddings?: boolean;
  /** ggml threadpool polling level 0..100 (default 50; 0 = sleep between graphs). */
  poll?: number;
  /** Flash attention on or off (default: libllama's auto). */
  flashAttention?: boolean;
  /** Keep the KV cache on the GPU the layers went to (default true; `--no-kv-offload`). */
  offloadKqv?: boolean;
  /** One KV cache shared by the sequences (default: on when there are several). */
  kvUnified?: boolean;
  /** Embedding pooling (`enum llama_pooling_type`); default the model's. */
  poolingType?: number;
  /** KV cache types of K and V (ggml type ids; default F16). */
  typeK?: number;
  typeV?: number;
  /** Full-size sliding-window-attention cache. */
  swaFull?: boolean;
  /** RoPE and YaRN overrides (libllama's defaults mean the model's). */
  rope?: ContextParamsInput["rope"];
}

/** RoPE and YaRN settings as llama.cpp's flags give them: 0 or negative means the model's. */
export interface RopeFlags {
  ropeScaling?: number;
  ropeFreqBase?: number;
  ropeFreqScale?: number;
  yarnOrigCtx?: number;
  yarnExtFactor?: number;
  yarnAttnFactor?: number;
  yarnBetaSlow?: number;
  yarnBetaFast?: number;
}

/** The context's RoPE overrides for `flags` (`undefined` when all are the model's). */
export function ropeFromFlags(flags: RopeFlags): ContextOptions["rope"] | undefined {
  const rope: NonNullable<ContextOptions["rope"]> = {
    ...((flags.ropeScaling ?? -1) >= 0 && { scalingType: flags.ropeScaling! }),
    ...((flags.ropeFreqBase ?? 0) > 0 && { freqBase: flags.ropeFreqBase! }),
    ...((flags.ropeFreqScale ?? 0) > 0 && { freqScale: flags.ropeFreqScale! }),
    ...((flags.yarnOrigCtx ?? 0) > 0 && { yarnOrigCtx: flags.yarnOrigCtx! }),
    ...((flags.yarnExtFactor ?? -1) >= 0 && { yarnExtFactor: flags.yarnExtFactor! }),
    ...((flags.yarnAttnFactor ?? -1) >= 0 && { yarnAttnFactor: flags.yarnAttnFactor! }),
    ...((flags.yarnBetaSlow ?? -1) >= 0 && { yarnBetaSlow: flags.yarnBetaSlow! }),
    ...((flags.yarnBetaFast ?? -1) >= 0 && { yarnBetaFast: flags.yarnBetaFast! }),
  };
  return Object.keys(rope).length > 0 ? rope : undefined;
}

/** llama.cpp's context defaults, under the names of {@linkcode ContextOptions}. */
export const CONTEXT_DEFAULTS = {
  contextSize: 4096,
  batchSize: 2048,
  ubatchSize: 512,
  poll: 50,
} as const;

/** Physical cores, from `/proc/cpuinfo` (logical CPUs when it cannot be read). */
function physicalCores(): number {
  try {
    const info = cpuinfoText() ?? "";
    const cores = new Set<string>();
    let physical = "";
    for (const line of info.split("\n")) {
      const [key, value] = line.split(":").map((s) => s.trim());
      if (key === "physical id") physical = value ?? "";
      if (key === "core id") cores.add(`${physical}/${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // no /proc or no permission: fall through
  }
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/** Cores other processes keep busy: the 1-minute load average, rounded down (0 when unknown). */
function busyCores(): number {
  try {
    const load = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
    return Number.isFinite(load) ? Math.floor(load) : 0;
  } catch {
    return 0;
  }
}

/**
 * Threads that run well here: the physical cores that other processes leave idle, at least 1.
 * ggml's workers spin while they wait, so a thread that has to share a core with another
 * busy process slows every step down (on 2 cores, up to 100x); an idle machine gets all cores.
 */
export function defaultThreads(): number {
  const cores = physicalCores();
  return Math.max(1, Math.min(cores, cores - busyCores()));
}

/** Timings of the prompt and generation since the last reset. */
export interface PerfData {
  loadMs: number;
  promptMs: number;
  promptTokens: number;
  evalMs: number;
  evalTokens: number;
}

/** GiB, one decimal. */
function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Refuses a context whose KV cache cannot fit in the memory this machine has left. */
function checkMemory(model: LlamaModel, nCtx: number): void {
  const need = model.kvBytesPerToken * nCtx;
  const available = availableMemory();
  if (available !== null && need > available) {
    throw new RangeError(
      `Cannot create a context of ${nCtx} tokens: its KV cache needs ${
        gib(need)
      } and this machine has ${gib(available)} of memory left`,
    );
  }
}

/** Creates a context for `model`. */
export async function createContext(
  model: LlamaModel,
  options: ContextOptions = {},
): Promise<LlamaContext> {
  const lib = model.library;
  const trained = model.trainedContext;
  let nCtx = options.contextSize ?? CONTEXT_DEFAULTS.contextSize;
  if (nCtx === 0) nCtx = trained;
  else if (options.contextSize === undefined && trained > 0) nCtx = Math.min(nCtx, trained);
  const threads = options.threads ?? defaultThreads();
  const threadsBatch = options.threadsBatch ?? threads;
  for (
    const [name, value] of [["contextSize", nCtx], ["threads", threads], [
      "threadsBatch",
      threadsBatch,
    ]] as const
  ) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot create a context: ${name} must be a positive integer, got ${value}`,
      );
    }
  }
  checkMemory(model, nCtx);
  const sequences = options.sequences ?? 1;
  const nBatch = Math.max(
    1,
    Math.min(options.batchSize ?? CONTEXT_DEFAULTS.batchSize, nCtx * sequences),
  );
  const nUbatch = Math.max(1, Math.min(options.ubatchSize ?? CONTEXT_DEFAULTS.ubatchSize, nBatch));
  const params = contextParams(lib, {
    nCtx,
    nBatch,
    nUbatch,
    nSeqMax: sequences,
    threads,
    threadsBatch,
    embeddings: options.embeddings ?? false,
    // One KV buffer shared by the slots unless asked otherwise; a single sequence keeps
    // llama.cpp's default.
    kvUnified: options.kvUnified ?? sequences > 1,
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
    ...(options.offloadKqv !== undefined && { offloadKqv: options.offloadKqv }),
    ...(options.poolingType !== undefined && { poolingType: options.poolingType }),
    ...(options.typeK !== undefined && { typeK: options.typeK }),
    ...(options.typeV !== undefined && { typeV: options.typeV }),
    ...(options.swaFull !== undefined && { swaFull: options.swaFull }),
    ...(options.rope !== undefined && { rope: options.rope }),
  });
  // A small model's context is made on this thread (see SMALL_MODEL_BYTES in model.ts).
  let handle = model.small
    ? lib.llama.llama_init_from_model_sync(model.handle, params)
    : await lib.llama.llama_init_from_model(model.handle, params);
  let errors: string[] = [];
  if (handle === null) {
    // Again with the log routed to JS, to hear why (see LlamaLibrary.captureLog).
    const mark = lib.errorMark();
    handle = await lib.captureLog(() => lib.llama.llama_init_from_model(model.handle, params));
    errors = lib.errorsSince(mark);
  }
  if (handle === null) {
    const reason = reasonFromLog(errors, "libllama could not allocate it");
    throw new NativeError(`Cannot create a context of ${nCtx} tokens: ${reason}`);
  }
  const poll = options.poll ?? CONTEXT_DEFAULTS.poll;
  const pool = lib.threadpoolNew.call(threadpoolParams(threads, poll));
  const poolBatch = threadsBatch === threads
    ? null
    : lib.threadpoolNew.call(threadpoolParams(threadsBatch, poll));
  if (pool === null) {
    lib.llama.llama_free(handle);
    throw new NativeError(`Cannot create a threadpool of ${threads} threads`);
  }
  lib.llama.llama_attach_threadpool(handle, pool, poolBatch ?? pool);
  return new LlamaContext(model, handle, pool, poolBatch, { nCtx, nBatch, sequences, threads });
}

/** A context. Close it before its model. */
export class LlamaContext {
  readonly model: LlamaModel;
  readonly #lib: LlamaLibrary;
  #handle: Deno.PointerValue;
  #pool: Deno.PointerValue;
  #poolBatch: Deno.PointerValue;
  #busy: Promise<unknown> = Promise.resolve();
  /** The model's layers are on a GPU: its work is queued, and waited for after each decode. */
  readonly #offloaded: boolean;
  /** Context size in tokens. */
  readonly size: number;
  /** Largest batch one decode takes. */
  readonly batchSize: number;
  /** Number of sequences (slots). */
  readonly sequences: number;
  /** Generation threads. */
  readonly threads: number;

  /** @internal Use {@linkcode createContext}. */
  constructor(
    model: LlamaModel,
    handle: Deno.PointerObject,
    pool: Deno.PointerValue,
    poolBatch: Deno.PointerValue,
    shape: { nCtx: number; nBatch: number; sequences: number; threads: number },
  ) {
    this.model = model;
    this.#lib = model.library;
    this.#handle = handle;
    this.#pool = pool;
    this.#poolBatch = poolBatch;
    this.size = this.#lib.llama.llama_n_ctx(handle);
    this.batchSize = this.#lib.llama.llama_n_batch(handle);
    this.sequences = shape.sequences;
    this.threads = shape.threads;
    this.#offloaded = model.placement !== null;
  }

  get #ctx(): Deno.PointerObject {
    if (this.#handle === null) throw new ClosedError("Cannot use the context: it is closed");
    return this.#handle;
  }

  /** @internal The native handle. */
  get handle(): Deno.PointerObject {
    return this.#ctx;
  }

  /** True once {@linkcode close} has run. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * Decodes a batch off the event loop, and resolves once its results are ready (on a GPU,
   * `llama_decode` returns with the work queued: the wait for it is off the event loop too,
   * instead of in the first read of the logits). Calls are serialized: a second call waits
   * for the first to settle. Keep `batch` alive until this resolves.
   */
  decode(batch: TokenBatch): Promise<void> {
    return this.#serial(async () => {
      const mark = this.#lib.errorMark();
      const code = await this.#lib.llama.llama_decode(this.#ctx, batch.struct());
      this.#check(code, batch.length, mark);
      if (this.#offloaded) await this.#lib.llama.llama_synchronize_nonblocking(this.#ctx);
    });
  }

  /** Decodes a batch on this thread (blocks the event loop; fast for one token). */
  decodeSync(batch: TokenBatch): void {
    const mark = this.#lib.errorMark();
    const code = this.#lib.llama.llama_decode_sync(this.#ctx, batch.struct());
    this.#check(code, batch.length, mark);
    if (this.#offloaded) this.#lib.llama.llama_synchronize(this.#ctx);
  }

  #check(code: number, count: number, mark: number): void {
    if (code === 0) return;
    if (code === 1) {
      throw new ContextFullError(
        `Cannot decode ${count} tokens: the context (${this.size} tokens) is full`,
      );
    }
    if (code === 2) throw new NativeError("Decode was aborted");
    const reason = reasonFromLog(this.#lib.errorsSince(mark), `llama_decode returned ${code}`);
    throw new NativeError(`Cannot decode ${count} tokens: ${reason}`);
  }

  /**
   * Samples a token from the logits of batch row `index` (the sampler accepts it); -1 when a
   * grammar allows no token there. A sampler's grammar, when it has one that applies now, runs
   * before its chain and accepts the token too.
   */
  sample(
    sampler: {
      handle: Deno.PointerObject;
      candidates: TokenDataArray | null;
      grammar?: Deno.PointerObject | null;
    },
    index: number,
  ): number {
    const candidates = sampler.candidates;
    const grammar = sampler.grammar ?? null;
    if (candidates === null) {
      return this.#lib.llama.llama_sampler_sample(sampler.handle, this.#ctx, index);
    }
    // Look at what was selected before accepting it: a grammar that allows no token lets a
    // token at -inf be selected, and accepting that makes libllama throw.
    const logits = this.#lib.llama.llama_get_logits_ith(this.#ctx, index);
    if (logits === null) {
      throw new RangeError(`Cannot sample from batch row ${index}: no logits were computed`);
    }
    const samplers = grammar === null ? [sampler.handle] : [grammar, sampler.handle];
    const picked = candidates.select(this.#lib, samplers, logits);
    if (picked === null || !Number.isFinite(picked.logit)) return -1;
    if (grammar !== null) this.#lib.llama.llama_sampler_accept(grammar, picked.token);
    this.#lib.llama.llama_sampler_accept(sampler.handle, picked.token);
    return picked.token;
  }

  /** The logits of batch row `index` (a copy). */
  logits(index: number): Float32Array {
    const pointer = this.#lib.llama.llama_get_logits_ith(this.#ctx, index);
    if (pointer === null) {
      throw new RangeError(`Cannot read logits of batch row ${index}: none were computed`);
    }
    return viewFloats(pointer, this.model.vocabSize).slice();
  }

  /** The pooled embedding of sequence `seq`, or of batch row `index` when pooling is off. */
  embedding(seq: number, index: number): Float32Array {
    const n = this.model.embeddingSize;
    let pointer = this.#lib.llama.llama_get_embeddings_seq(this.#ctx, seq);
    if (pointer === null) pointer = this.#lib.llama.llama_get_embeddings_ith(this.#ctx, index);
    if (pointer === null) throw new RangeError(`Cannot read the embedding of sequence ${seq}`);
    return viewFloats(pointer, n).slice();
  }

  /** Removes positions [from, to) of sequence `seq` from the KV cache (-1 = all). */
  forget(seq: number, from = -1, to = -1): boolean {
    const memory = this.#lib.llama.llama_get_memory(this.#ctx);
    return this.#lib.llama.llama_memory_seq_rm(memory, seq, from, to);
  }

  /** Moves positions [from, to) of sequence `seq` by `delta` (a context shift). */
  shift(seq: number, from: number, to: number, delta: number): void {
    const memory = this.#lib.llama.llama_get_memory(this.#ctx);
    this.#lib.llama.llama_memory_seq_add(memory, seq, from, to, delta);
  }

  /** Tokens one sequence can hold (the whole context when the KV cache is unified). */
  get sequenceSize(): number {
    return this.#lib.llama.llama_n_ctx_seq(this.#ctx);
  }

  /** The pooling the context uses (`enum llama_pooling_type`). */
  get poolingType(): number {
    return this.#lib.llama.llama_pooling_type(this.#ctx);
  }

  /** The KV state of sequence `seq` (llama.cpp's sequence state, without a file header). */
  sequenceState(seq: number): Uint8Array {
    const size = Number(this.#lib.llama.llama_state_seq_get_size(this.#ctx, seq));
    const bytes = new Uint8Array(size);
    const written = Number(
      this.#lib.llama.llama_state_seq_get_data(this.#ctx, bytes, BigInt(size), seq),
    );
    if (written !== size) {
      throw new NativeError(
        `Cannot save the state of sequence ${seq}: ${written} of ${size} bytes written`,
      );
    }
    return bytes;
  }

  /**
   * Loads `state` (from {@linkcode sequenceState}) into sequence `seq`; false when libllama
   * refuses it (another model, or no room in the cache): the sequence is then left empty.
   */
  setSequenceState(seq: number, state: Uint8Array): boolean {
    const copy = state.slice();
    const read = Number(
      this.#lib.llama.llama_state_seq_set_data(this.#ctx, copy, BigInt(copy.length), seq),
    );
    if (read === 0) this.forget(seq);
    return read !== 0;
  }

  /** Sets the LoRA adapters applied from the next decode on, with their scales. */
  setLora(adapters: readonly Deno.PointerObject[], scales: readonly number[]): void {
    const code = setLoraAdapters(this.#lib, this.#ctx, adapters, scales);
    if (code !== 0) {
      throw new NativeError(`Cannot set the LoRA adapters: libllama returned ${code}`);
    }
  }

  /** Clears the whole KV cache. */
  clear(): void {
    const memory = this.#lib.llama.llama_get_memory(this.#ctx);
    this.#lib.llama.llama_memory_clear(memory, true);
  }

  /** The highest position of sequence `seq` in the KV cache, or -1. */
  lastPosition(seq: number): number {
    const memory = this.#lib.llama.llama_get_memory(this.#ctx);
    return this.#lib.llama.llama_memory_seq_pos_max(memory, seq);
  }

  /**
   * The KV cache and the tokens it holds, as the bytes of llama.cpp's session file (what
   * `--prompt-cache` keeps).
   */
  async saveState(tokens: ArrayLike<number>): Promise<Uint8Array> {
    const state = await this.#serial(async () => {
      const size = Number(this.#lib.llama.llama_state_get_size(this.#ctx));
      const bytes = new Uint8Array(size);
      const written = Number(
        await this.#lib.llama.llama_state_get_data(this.#ctx, bytes, BigInt(size)),
      );
      if (written !== size) {
        throw new NativeError(`Cannot save the context state: ${written} of ${size} bytes written`);
      }
      return bytes;
    });
    return encodeSessionFile(tokens, state);
  }

  /**
   * Restores the KV cache from session file bytes written by {@linkcode saveState} (or by
   * llama.cpp); returns its tokens, or `null` when the bytes are no session file of this model
   * and context (the cache is then left empty).
   */
  async loadState(bytes: Uint8Array): Promise<Int32Array | null> {
    const file = decodeSessionFile(bytes, this.size);
    if (file === null) return null;
    const state = file.state.slice();
    const read = await this.#serial(async () =>
      Number(await this.#lib.llama.llama_state_set_data(this.#ctx, state, BigInt(state.length)))
    );
    if (read !== state.length) {
      this.clear();
      return null;
    }
    return file.tokens;
  }

  /**
   * Runs `call` with the native context after any pending decode and before the next one: for
   * native code that decodes on this context itself (libmtmd's image embeddings).
   */
  exclusive<T>(call: (handle: Deno.PointerObject) => Promise<T>): Promise<T> {
    return this.#serial(() => call(this.#ctx));
  }

  /** Runs a native call after any pending decode, and before the next one. */
  #serial<T>(call: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(call);
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Timings since the last {@linkcode resetPerf}. */
  perf(): PerfData {
    return decodePerfContext(new Uint8Array(this.#lib.llama.llama_perf_context(this.#ctx)));
  }

  /** Resets the timings. */
  resetPerf(): void {
    this.#lib.llama.llama_perf_context_reset(this.#ctx);
  }

  /** Waits for a pending decode, then frees the context and its threadpools. */
  async close(): Promise<void> {
    await this.#busy;
    this.closeSync();
  }

  /** Frees at once; only when no decode is in flight. Safe to call twice. */
  closeSync(): void {
    if (this.#handle === null) return;
    this.#lib.llama.llama_free(this.#handle);
    this.#handle = null;
    if (this.#pool !== null) this.#lib.threadpoolFree.call(this.#pool);
    if (this.#poolBatch !== null) this.#lib.threadpoolFree.call(this.#poolBatch);
    this.#pool = this.#poolBatch = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
