/**
 * Struct layouts of `llama.h` (llama.cpp release v0.5.0) for Deno FFI, and the
 * ABI guard that refuses to run on a library whose defaults do not sit where
 * these layouts say.
 *
 * Structs cross the FFI boundary by value as `Uint8Array`s; fields are read and
 * written with a `DataView` at the byte offsets below.
 *
 * @module
 */

/** `struct llama_model_params`, 80 bytes. */
export const MODEL_PARAMS_STRUCT = {
  struct: [
    "pointer", // devices @0
    "pointer", // tensor_buft_overrides @8
    "i32", // n_gpu_layers @16
    "i32", // split_mode @20
    "i32", // load_mode @24
    "i32", // lazy_mode @28
    "i32", // main_gpu @32
    "pointer", // tensor_split @40
    "pointer", // progress_callback @48
    "pointer", // progress_callback_user_data @56
    "pointer", // kv_overrides @64
    "u8", // vocab_only @72
    "u8", // check_tensors @73
    "u8", // use_extra_bufts @74
    "u8", // no_host @75
    "u8", // no_alloc @76
    "u8", // load_mtp @77
  ],
} as const;

/** Byte offsets in `struct llama_model_params`. */
export const MODEL_PARAMS = {
  size: 80,
  devices: 0,
  tensor_buft_overrides: 8,
  n_gpu_layers: 16,
  split_mode: 20,
  load_mode: 24,
  lazy_mode: 28,
  main_gpu: 32,
  tensor_split: 40,
  progress_callback: 48,
  progress_callback_user_data: 56,
  vocab_only: 72,
  check_tensors: 73,
  use_extra_bufts: 74,
  no_alloc: 76,
} as const;

/** `struct llama_model_tensor_buft_override` (`pattern` @0, `buft` @8), 16 bytes. */
export const TENSOR_BUFT_OVERRIDE = { size: 16, pattern: 0, buft: 8 } as const;

/** `enum llama_load_mode`. */
export const LOAD_MODE = {
  auto: -1,
  none: 0,
  mmap: 1,
  mlock: 2,
  mmapMlock: 3,
  directIo: 4,
} as const;

/** `struct llama_context_params`, 160 bytes. */
export const CONTEXT_PARAMS_STRUCT = {
  struct: [
    "u32", // n_ctx @0
    "u32", // n_batch @4
    "u32", // n_ubatch @8
    "u32", // n_seq_max @12
    "u32", // n_rs_seq @16
    "u32", // n_outputs_max @20
    "u32", // n_outputs_max_per_seq @24
    "i32", // n_threads @28
    "i32", // n_threads_batch @32
    "i32", // ctx_type @36
    "i32", // rope_scaling_type @40
    "i32", // pooling_type @44
    "i32", // attention_type @48
    "i32", // flash_attn_type @52
    "f32", // rope_freq_base @56
    "f32", // rope_freq_scale @60
    "f32", // yarn_ext_factor @64
    "f32", // yarn_attn_factor @68
    "f32", // yarn_beta_fast @72
    "f32", // yarn_beta_slow @76
    "u32", // yarn_orig_ctx @80
    "f32", // defrag_thold @84
    "pointer", // cb_eval @88
    "pointer", // cb_eval_user_data @96
    "i32", // type_k @104
    "i32", // type_v @108
    "pointer", // abort_callback @112
    "pointer", // abort_callback_data @120
    "u8", // embeddings @128
    "u8", // offload_kqv @129
    "u8", // no_perf @130
    "u8", // op_offload @131
    "u8", // swa_full @132
    "u8", // kv_unified @133
    "pointer", // samplers @136
    "usize", // n_samplers @144
    "pointer", // ctx_other @152
  ],
} as const;

/** Byte offsets in `struct llama_context_params`. */
export const CONTEXT_PARAMS = {
  size: 160,
  n_ctx: 0,
  n_batch: 4,
  n_ubatch: 8,
  n_seq_max: 12,
  n_threads: 28,
  n_threads_batch: 32,
  rope_scaling_type: 40,
  pooling_type: 44,
  flash_attn_type: 52,
  rope_freq_base: 56,
  rope_freq_scale: 60,
  yarn_ext_factor: 64,
  yarn_attn_factor: 68,
  yarn_beta_fast: 72,
  yarn_beta_slow: 76,
  yarn_orig_ctx: 80,
  type_k: 104,
  type_v: 108,
  embeddings: 128,
  offload_kqv: 129,
  no_perf: 130,
  swa_full: 132,
  kv_unified: 133,
} as const;

/** `struct llama_batch`, 56 bytes. */
export const BATCH_STRUCT = {
  struct: [
    "i32", // n_tokens @0
    "pointer", // token @8
    "pointer", // embd @16
    "pointer", // pos @24
    "pointer", // n_seq_id @32
    "pointer", // seq_id @40
    "pointer", // logits @48
  ],
} as const;

/** Byte offsets in `struct llama_batch`. */
export const BATCH = {
  size: 56,
  n_tokens: 0,
  token: 8,
  embd: 16,
  pos: 24,
  n_seq_id: 32,
  seq_id: 40,
  logits: 48,
} as const;

/** `struct llama_perf_context_data`, 48 bytes. */
export const PERF_CONTEXT_STRUCT = {
  struct: ["f64", "f64", "f64", "f64", "i32", "i32", "i32"],
} as const;

/** Byte offsets in `struct llama_perf_context_data`. */
export const PERF_CONTEXT = {
  t_start_ms: 0,
  t_load_ms: 8,
  t_p_eval_ms: 16,
  t_eval_ms: 24,
  n_p_eval: 32,
  n_eval: 36,
  n_reused: 40,
} as const;

/** `struct ggml_threadpool_params`, 528 bytes (cpumask[512] then the scalars). */
export const THREADPOOL_PARAMS = {
  size: 528,
  n_threads: 512,
  prio: 516,
  poll: 520,
  strict_cpu: 524,
  paused: 525,
} as const;

/** `struct mtmd_context_params` (tools/mtmd/mtmd.h), 96 bytes. */
export const MTMD_CONTEXT_PARAMS_STRUCT = {
  struct: [
    "u8", // use_gpu @0
    "pointer", // device @8
    "u8", // print_timings @16
    "i32", // n_threads @20
    "pointer", // image_marker @24 (deprecated, must be NULL)
    "pointer", // media_marker @32
    "i32", // flash_attn_type @40
    "u8", // warmup @44
    "i32", // image_min_tokens @48
    "i32", // image_max_tokens @52
    "pointer", // cb_eval @56
    "pointer", // cb_eval_user_data @64
    "i32", // batch_max_tokens @72
    "pointer", // progress_callback @80
    "pointer", // progress_callback_user_data @88
  ],
} as const;

/** Byte offsets in `struct mtmd_context_params`. */
export const MTMD_CONTEXT_PARAMS = {
  size: 96,
  use_gpu: 0,
  print_timings: 16,
  n_threads: 20,
  image_marker: 24,
  media_marker: 32,
  flash_attn_type: 40,
  warmup: 44,
  image_min_tokens: 48,
  image_max_tokens: 52,
  batch_max_tokens: 72,
} as const;

/**
 * `struct mtmd_helper_init_opt` (tools/mtmd/mtmd-helper.h), 24 bytes: one
 * `struct mtmd_helper_video_init_params` (fps_target @0 float, ffmpeg_bin_dir @8,
 * timestamp_interval_ms @16 int64), passed by value.
 */
export const MTMD_HELPER_INIT_OPT_STRUCT = { struct: ["f32", "pointer", "i64"] } as const;

/** Byte offsets in `struct mtmd_helper_init_opt`. */
export const MTMD_HELPER_INIT_OPT = {
  size: 24,
  fps_target: 0,
  ffmpeg_bin_dir: 8,
  timestamp_interval_ms: 16,
} as const;

/** `struct mtmd_helper_bitmap_wrapper`, 16 bytes, returned by value: bitmap @0, video_ctx @8. */
export const MTMD_BITMAP_WRAPPER_STRUCT = { struct: ["pointer", "pointer"] } as const;

/** `struct mtmd_input_text`, 24 bytes: text @0, text_len @8, add_special @16, parse_special @17. */
export const MTMD_INPUT_TEXT = {
  size: 24,
  text: 0,
  text_len: 8,
  add_special: 16,
  parse_special: 17,
} as const;

/** A mismatch between these layouts and the loaded library. */
export class AbiMismatchError extends Error {
  override name = "AbiMismatchError";
}

/** One expected default value at a byte offset. */
interface Expectation {
  readonly field: string;
  readonly offset: number;
  readonly kind: "i32" | "u32" | "u8" | "f32" | "i64";
  readonly value: number;
}

const MODEL_EXPECTED: readonly Expectation[] = [
  { field: "n_gpu_layers", offset: MODEL_PARAMS.n_gpu_layers, kind: "i32", value: -1 },
  { field: "load_mode", offset: MODEL_PARAMS.load_mode, kind: "i32", value: -1 },
  { field: "lazy_mode", offset: MODEL_PARAMS.lazy_mode, kind: "i32", value: 1 },
  { field: "use_extra_bufts", offset: MODEL_PARAMS.use_extra_bufts, kind: "u8", value: 1 },
];

const CONTEXT_EXPECTED: readonly Expectation[] = [
  { field: "n_ctx", offset: CONTEXT_PARAMS.n_ctx, kind: "u32", value: 512 },
  { field: "n_batch", offset: CONTEXT_PARAMS.n_batch, kind: "u32", value: 2048 },
  { field: "n_ubatch", offset: CONTEXT_PARAMS.n_ubatch, kind: "u32", value: 512 },
  { field: "n_seq_max", offset: CONTEXT_PARAMS.n_seq_max, kind: "u32", value: 1 },
  { field: "type_k", offset: CONTEXT_PARAMS.type_k, kind: "i32", value: 1 },
];

function readField(view: DataView, e: Expectation): number {
  if (e.offset + 4 > view.byteLength) return NaN;
  switch (e.kind) {
    case "i32":
      return view.getInt32(e.offset, true);
    case "u32":
      return view.getUint32(e.offset, true);
    case "u8":
      return view.getUint8(e.offset);
    case "f32":
      return view.getFloat32(e.offset, true);
    case "i64":
      return e.offset + 8 > view.byteLength ? NaN : Number(view.getBigInt64(e.offset, true));
  }
}

function check(
  name: string,
  bytes: Uint8Array,
  size: number,
  expected: readonly Expectation[],
  library = "libllama",
): void {
  if (bytes.byteLength !== size) {
    throw new AbiMismatchError(
      `Cannot use ${library}: struct ${name} is ${bytes.byteLength} bytes, expected ${size} (llama.cpp v0.5.0)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const e of expected) {
    const got = readField(view, e);
    if (got !== e.value) {
      throw new AbiMismatchError(
        `Cannot use ${library}: ${name}.${e.field} at byte ${e.offset} is ${got}, expected ${e.value}; ` +
          `the library is not llama.cpp v0.5.0`,
      );
    }
  }
}

/**
 * Checks the default parameter structs returned by the library against our
 * layouts; throws {@linkcode AbiMismatchError} when they disagree.
 */
export function assertAbi(modelDefaults: Uint8Array, contextDefaults: Uint8Array): void {
  check("llama_model_params", modelDefaults, MODEL_PARAMS.size, MODEL_EXPECTED);
  check("llama_context_params", contextDefaults, CONTEXT_PARAMS.size, CONTEXT_EXPECTED);
}

const MTMD_PARAMS_EXPECTED: readonly Expectation[] = [
  { field: "use_gpu", offset: MTMD_CONTEXT_PARAMS.use_gpu, kind: "u8", value: 1 },
  { field: "print_timings", offset: MTMD_CONTEXT_PARAMS.print_timings, kind: "u8", value: 1 },
  { field: "n_threads", offset: MTMD_CONTEXT_PARAMS.n_threads, kind: "i32", value: 4 },
  { field: "flash_attn_type", offset: MTMD_CONTEXT_PARAMS.flash_attn_type, kind: "i32", value: -1 },
  { field: "warmup", offset: MTMD_CONTEXT_PARAMS.warmup, kind: "u8", value: 1 },
  {
    field: "image_min_tokens",
    offset: MTMD_CONTEXT_PARAMS.image_min_tokens,
    kind: "i32",
    value: -1,
  },
  {
    field: "image_max_tokens",
    offset: MTMD_CONTEXT_PARAMS.image_max_tokens,
    kind: "i32",
    value: -1,
  },
  {
    field: "batch_max_tokens",
    offset: MTMD_CONTEXT_PARAMS.batch_max_tokens,
    kind: "i32",
    value: 1024,
  },
];

const MTMD_INIT_OPT_EXPECTED: readonly Expectation[] = [
  { field: "fps_target", offset: MTMD_HELPER_INIT_OPT.fps_target, kind: "f32", value: 4 },
  {
    field: "timestamp_interval_ms",
    offset: MTMD_HELPER_INIT_OPT.timestamp_interval_ms,
    kind: "i64",
    value: 5000,
  },
];

/**
 * Checks libmtmd's default `mtmd_context_params` and `mtmd_helper_init_opt` against our
 * layouts (and that the media marker field points at `mediaMarker`, the default
 * `<__media__>`); throws {@linkcode AbiMismatchError} when they disagree.
 */
export function assertMtmdAbi(
  paramsDefaults: Uint8Array,
  initOptDefaults: Uint8Array,
  mediaMarker: string | null,
): void {
  check(
    "mtmd_context_params",
    paramsDefaults,
    MTMD_CONTEXT_PARAMS.size,
    MTMD_PARAMS_EXPECTED,
    "libmtmd",
  );
  check(
    "mtmd_helper_init_opt",
    initOptDefaults,
    MTMD_HELPER_INIT_OPT.size,
    MTMD_INIT_OPT_EXPECTED,
    "libmtmd",
  );
  if (mediaMarker !== "<__media__>") {
    throw new AbiMismatchError(
      `Cannot use libmtmd: mtmd_context_params.media_marker at byte ${MTMD_CONTEXT_PARAMS.media_marker} ` +
        `is ${
          JSON.stringify(mediaMarker)
        }, expected "<__media__>"; the library is not llama.cpp v0.5.0`,
    );
  }
}
