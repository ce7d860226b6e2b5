/**
 * Builders for the parameter structs passed by value to libllama.
 *
 * @module
 */
import type { LlamaLibrary } from "./library.ts";
import {
  CONTEXT_PARAMS,
  LOAD_MODE,
  MODEL_PARAMS,
  PERF_CONTEXT,
  THREADPOOL_PARAMS,
} from "./structs.ts";

/** What `llama_model_params` we set; the rest keep libllama's defaults. */
export interface ModelParamsInput {
  nGpuLayers?: number;
  mmap?: boolean;
  mlock?: boolean;
  /** Weight repacking into extra buffer types (`use_extra_bufts`). */
  repack?: boolean;
  vocabOnly?: boolean;
  checkTensors?: boolean;
  /** A native `bool (*)(float, void *)` progress callback. */
  progressCallback?: Deno.PointerValue;
}

/** Returns a `llama_model_params` struct for `input`. */
export function modelParams(lib: LlamaLibrary, input: ModelParamsInput): Uint8Array<ArrayBuffer> {
  const bytes = lib.modelDefaults();
  const view = new DataView(bytes.buffer);
  if (input.nGpuLayers !== undefined) {
    view.setInt32(MODEL_PARAMS.n_gpu_layers, input.nGpuLayers, true);
  }
  const mmap = input.mmap ?? true;
  const mlock = input.mlock ?? false;
  const mode = mmap
    ? (mlock ? LOAD_MODE.mmapMlock : LOAD_MODE.mmap)
    : (mlock ? LOAD_MODE.mlock : LOAD_MODE.none);
  view.setInt32(MODEL_PARAMS.load_mode, mode, true);
  if (input.repack !== undefined) view.setUint8(MODEL_PARAMS.use_extra_bufts, input.repack ? 1 : 0);
  if (input.vocabOnly !== undefined) {
    view.setUint8(MODEL_PARAMS.vocab_only, input.vocabOnly ? 1 : 0);
  }
  if (input.checkTensors !== undefined) {
    view.setUint8(MODEL_PARAMS.check_tensors, input.checkTensors ? 1 : 0);
  }
  if (input.progressCallback) {
    view.setBigUint64(
      MODEL_PARAMS.progress_callback,
      BigInt(Deno.UnsafePointer.value(input.progressCallback)),
      true,
    );
  }
  return bytes;
}

/** What `llama_context_params` we set; the rest keep libllama's defaults. */
export interface ContextParamsInput {
  nCtx: number;
  nBatch: number;
  nUbatch: number;
  nSeqMax: number;
  threads: number;
  threadsBatch: number;
  embeddings?: boolean;
  /** `enum llama_pooling_type`; -1 = the model's. */
  poolingType?: number;
  /** Unified KV cache across sequences (needed when slots share one context). */
  kvUnified?: boolean;
  noPerf?: boolean;
  /** Flash attention: true on, false off, undefined = libllama's auto. */
  flashAttention?: boolean;
}

/** Returns a `llama_context_params` struct for `input`. */
export function contextParams(
  lib: LlamaLibrary,
  input: ContextParamsInput,
): Uint8Array<ArrayBuffer> {
  const bytes = lib.contextDefaults();
  const view = new DataView(bytes.buffer);
  view.setUint32(CONTEXT_PARAMS.n_ctx, input.nCtx, true);
  view.setUint32(CONTEXT_PARAMS.n_batch, input.nBatch, true);
  view.setUint32(CONTEXT_PARAMS.n_ubatch, input.nUbatch, true);
  view.setUint32(CONTEXT_PARAMS.n_seq_max, input.nSeqMax, true);
  view.setInt32(CONTEXT_PARAMS.n_threads, input.threads, true);
  view.setInt32(CONTEXT_PARAMS.n_threads_batch, input.threadsBatch, true);
  if (input.embeddings !== undefined) {
    view.setUint8(CONTEXT_PARAMS.embeddings, input.embeddings ? 1 : 0);
  }
  if (input.poolingType !== undefined) {
    view.setInt32(CONTEXT_PARAMS.pooling_type, input.poolingType, true);
  }
  if (input.kvUnified !== undefined) {
    view.setUint8(CONTEXT_PARAMS.kv_unified, input.kvUnified ? 1 : 0);
  }
  if (input.noPerf !== undefined) view.setUint8(CONTEXT_PARAMS.no_perf, input.noPerf ? 1 : 0);
  if (input.flashAttention !== undefined) {
    view.setInt32(CONTEXT_PARAMS.flash_attn_type, input.flashAttention ? 1 : 0, true);
  }
  return bytes;
}

/** Returns a `ggml_threadpool_params` struct (default affinity, normal priority). */
export function threadpoolParams(threads: number, poll: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(THREADPOOL_PARAMS.size);
  const view = new DataView(bytes.buffer);
  view.setInt32(THREADPOOL_PARAMS.n_threads, threads, true);
  view.setInt32(THREADPOOL_PARAMS.prio, 0, true);
  view.setUint32(THREADPOOL_PARAMS.poll, poll, true);
  view.setUint8(THREADPOOL_PARAMS.strict_cpu, 0);
  view.setUint8(THREADPOOL_PARAMS.paused, 0);
  return bytes;
}

/** Timings of a context (`struct llama_perf_context_data`, returned by value). */
export interface PerfContextData {
  loadMs: number;
  promptMs: number;
  promptTokens: number;
  evalMs: number;
  evalTokens: number;
}

/** Decodes the bytes of a `struct llama_perf_context_data`. */
export function decodePerfContext(bytes: Uint8Array): PerfContextData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    loadMs: view.getFloat64(PERF_CONTEXT.t_load_ms, true),
    promptMs: view.getFloat64(PERF_CONTEXT.t_p_eval_ms, true),
    promptTokens: view.getInt32(PERF_CONTEXT.n_p_eval, true),
    evalMs: view.getFloat64(PERF_CONTEXT.t_eval_ms, true),
    evalTokens: view.getInt32(PERF_CONTEXT.n_eval, true),
  };
}

/** One `struct llama_logit_bias`: a token and the bias added to its logit. */
export interface LogitBias {
  token: number;
  bias: number;
}

/** Packs biases as a `struct llama_logit_bias[]` (token i32, bias f32). */
export function logitBiasArray(biases: readonly LogitBias[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(biases.length * 8);
  const view = new DataView(bytes.buffer);
  biases.forEach(({ token, bias }, i) => {
    view.setInt32(i * 8, token, true);
    view.setFloat32(i * 8 + 4, bias, true);
  });
  return bytes;
}
