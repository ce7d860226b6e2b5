/**
 * Builders for the parameter structs passed by value to libllama.
 *
 * @module
 */
import { cString } from "./cstring.ts";
import type { LlamaLibrary } from "./library.ts";
import {
  CONTEXT_PARAMS,
  LOAD_MODE,
  MODEL_PARAMS,
  PERF_CONTEXT,
  TENSOR_BUFT_OVERRIDE,
  THREADPOOL_PARAMS,
} from "./structs.ts";

/** One `-ot` rule: tensors whose name matches `pattern` (a regex) go to `bufferType`. */
export interface TensorOverride {
  pattern: string;
  /** A `ggml_backend_buffer_type_t` (see `backend_registry.ts`). */
  bufferType: Deno.PointerObject;
}

/** What `llama_model_params` we set; the rest keep libllama's defaults. */
export interface ModelParamsInput {
  /** Layers to offload; negative = all (the output layer included). */
  nGpuLayers?: number;
  mmap?: boolean;
  mlock?: boolean;
  /** Weight repacking into extra buffer types (`use_extra_bufts`). */
  repack?: boolean;
  vocabOnly?: boolean;
  checkTensors?: boolean;
  /** A native `bool (*)(float, void *)` progress callback. */
  progressCallback?: Deno.PointerValue;
  /**
   * The devices (`ggml_backend_dev_t`) to offload to, in order; an empty list keeps every layer
   * on the CPU. Absent: libllama takes every GPU device registered.
   */
  devices?: readonly Deno.PointerObject[];
  /** `enum llama_split_mode`. */
  splitMode?: number;
  /** Index into `devices` of the GPU for the whole model (split mode none). */
  mainGpu?: number;
  /** Proportions of the layers per device (at most `llama_max_devices()`). */
  tensorSplit?: readonly number[];
  /** Tensor buffer overrides, in order. */
  overrides?: readonly TensorOverride[];
  /** Only read the metadata and simulate the allocations (libllama's `no_alloc`). */
  noAlloc?: boolean;
}

/** A `llama_model_params` struct and the buffers its pointers point into. */
export interface ModelParams {
  bytes: Uint8Array<ArrayBuffer>;
  /** Keep these referenced until the call that reads the struct has settled. */
  retained: readonly ArrayBufferView[];
}

function pointerOf(view: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}

/** Returns a `llama_model_params` struct for `input`. */
export function modelParams(lib: LlamaLibrary, input: ModelParamsInput): ModelParams {
  const bytes = lib.modelDefaults();
  const retained: ArrayBufferView[] = [];
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
  if (input.noAlloc !== undefined) view.setUint8(MODEL_PARAMS.no_alloc, input.noAlloc ? 1 : 0);
  if (input.progressCallback) {
    view.setBigUint64(
      MODEL_PARAMS.progress_callback,
      BigInt(Deno.UnsafePointer.value(input.progressCallback)),
      true,
    );
  }
  if (input.devices !== undefined) {
    // A NULL-terminated `ggml_backend_dev_t[]`.
    const devices = new BigUint64Array(input.devices.length + 1);
    input.devices.forEach((device, i) => {
      devices[i] = BigInt(Deno.UnsafePointer.value(device));
    });
    retained.push(devices);
    view.setBigUint64(MODEL_PARAMS.devices, pointerOf(devices), true);
  }
  if (input.splitMode !== undefined) view.setInt32(MODEL_PARAMS.split_mode, input.splitMode, true);
  if (input.mainGpu !== undefined) view.setInt32(MODEL_PARAMS.main_gpu, input.mainGpu, true);
  if (input.tensorSplit !== undefined && input.tensorSplit.length > 0) {
    const max = Number(lib.llama.llama_max_devices());
    if (input.tensorSplit.length > max) {
      throw new RangeError(
        `Cannot split tensors over ${input.tensorSplit.length} devices: libllama takes at most ${max}`,
      );
    }
    const split = new Float32Array(max);
    split.set(input.tensorSplit);
    retained.push(split);
    view.setBigUint64(MODEL_PARAMS.tensor_split, pointerOf(split), true);
  }
  if (input.overrides !== undefined && input.overrides.length > 0) {
    // `struct llama_model_tensor_buft_override[]`, ended by { NULL, NULL }.
    const table = new Uint8Array((input.overrides.length + 1) * TENSOR_BUFT_OVERRIDE.size);
    const entries = new DataView(table.buffer);
    input.overrides.forEach((override, i) => {
      const pattern = cString(override.pattern);
      retained.push(pattern);
      const at = i * TENSOR_BUFT_OVERRIDE.size;
      entries.setBigUint64(at + TENSOR_BUFT_OVERRIDE.pattern, pointerOf(pattern), true);
      entries.setBigUint64(
        at + TENSOR_BUFT_OVERRIDE.buft,
        BigInt(Deno.UnsafePointer.value(override.bufferType)),
        true,
      );
    });
    retained.push(table);
    view.setBigUint64(MODEL_PARAMS.tensor_buft_overrides, pointerOf(table), true);
  }
  return { bytes, retained };
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
  /** Keep the KV cache and its operations on the offloading devices (default true). */
  offloadKqv?: boolean;
  /** KV cache types of K and V (ggml type ids; default F16). */
  typeK?: number;
  typeV?: number;
  /** Full-size sliding-window-attention cache. */
  swaFull?: boolean;
  /** RoPE and YaRN settings; libllama's defaults mean "the model's". */
  rope?: {
    scalingType?: number;
    freqBase?: number;
    freqScale?: number;
    yarnExtFactor?: number;
    yarnAttnFactor?: number;
    yarnBetaFast?: number;
    yarnBetaSlow?: number;
    yarnOrigCtx?: number;
  };
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
  if (input.offloadKqv !== undefined) {
    view.setUint8(CONTEXT_PARAMS.offload_kqv, input.offloadKqv ? 1 : 0);
  }
  if (input.typeK !== undefined) view.setInt32(CONTEXT_PARAMS.type_k, input.typeK, true);
  if (input.typeV !== undefined) view.setInt32(CONTEXT_PARAMS.type_v, input.typeV, true);
  if (input.swaFull !== undefined) view.setUint8(CONTEXT_PARAMS.swa_full, input.swaFull ? 1 : 0);
  const rope = input.rope ?? {};
  if (rope.scalingType !== undefined) {
    view.setInt32(CONTEXT_PARAMS.rope_scaling_type, rope.scalingType, true);
  }
  const floats: [keyof typeof rope, number][] = [
    ["freqBase", CONTEXT_PARAMS.rope_freq_base],
    ["freqScale", CONTEXT_PARAMS.rope_freq_scale],
    ["yarnExtFactor", CONTEXT_PARAMS.yarn_ext_factor],
    ["yarnAttnFactor", CONTEXT_PARAMS.yarn_attn_factor],
    ["yarnBetaFast", CONTEXT_PARAMS.yarn_beta_fast],
    ["yarnBetaSlow", CONTEXT_PARAMS.yarn_beta_slow],
  ];
  for (const [key, offset] of floats) {
    if (rope[key] !== undefined) view.setFloat32(offset, rope[key], true);
  }
  if (rope.yarnOrigCtx !== undefined) {
    view.setUint32(CONTEXT_PARAMS.yarn_orig_ctx, rope.yarnOrigCtx, true);
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
