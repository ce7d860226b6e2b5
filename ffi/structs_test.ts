import assert from "node:assert/strict";
import {
  AbiMismatchError,
  assertMtmdAbi,
  MTMD_CONTEXT_PARAMS,
  MTMD_HELPER_INIT_OPT,
} from "./structs.ts";

/** libmtmd's defaults as v0.5.0 lays them out (`mtmd_context_params_default()`). */
function mtmdDefaults(): Uint8Array {
  const bytes = new Uint8Array(MTMD_CONTEXT_PARAMS.size);
  const view = new DataView(bytes.buffer);
  view.setUint8(MTMD_CONTEXT_PARAMS.use_gpu, 1);
  view.setUint8(MTMD_CONTEXT_PARAMS.print_timings, 1);
  view.setInt32(MTMD_CONTEXT_PARAMS.n_threads, 4, true);
  view.setInt32(MTMD_CONTEXT_PARAMS.flash_attn_type, -1, true);
  view.setUint8(MTMD_CONTEXT_PARAMS.warmup, 1);
  view.setInt32(MTMD_CONTEXT_PARAMS.image_min_tokens, -1, true);
  view.setInt32(MTMD_CONTEXT_PARAMS.image_max_tokens, -1, true);
  view.setInt32(MTMD_CONTEXT_PARAMS.batch_max_tokens, 1024, true);
  return bytes;
}

function initOptDefaults(): Uint8Array {
  const bytes = new Uint8Array(MTMD_HELPER_INIT_OPT.size);
  const view = new DataView(bytes.buffer);
  view.setFloat32(MTMD_HELPER_INIT_OPT.fps_target, 4, true);
  view.setBigInt64(MTMD_HELPER_INIT_OPT.timestamp_interval_ms, 5000n, true);
  return bytes;
}

Deno.test("assertMtmdAbi() accepts libmtmd v0.5.0's defaults", () => {
  assert.doesNotThrow(() => assertMtmdAbi(mtmdDefaults(), initOptDefaults(), "<__media__>"));
});

Deno.test("assertMtmdAbi() refuses a libmtmd whose structs moved or changed size", () => {
  const moved = mtmdDefaults();
  new DataView(moved.buffer).setInt32(MTMD_CONTEXT_PARAMS.n_threads, 8, true);
  assert.throws(
    () => assertMtmdAbi(moved, initOptDefaults(), "<__media__>"),
    (error: unknown) =>
      error instanceof AbiMismatchError &&
      error.message ===
        "Cannot use libmtmd: mtmd_context_params.n_threads at byte 20 is 8, expected 4; the library is not llama.cpp v0.5.0",
  );
  assert.throws(
    () => assertMtmdAbi(mtmdDefaults().subarray(0, 88), initOptDefaults(), "<__media__>"),
    /Cannot use libmtmd: struct mtmd_context_params is 88 bytes, expected 96/,
  );
  const opt = initOptDefaults();
  new DataView(opt.buffer).setBigInt64(MTMD_HELPER_INIT_OPT.timestamp_interval_ms, 0n, true);
  assert.throws(
    () => assertMtmdAbi(mtmdDefaults(), opt, "<__media__>"),
    /mtmd_helper_init_opt\.timestamp_interval_ms at byte 16 is 0, expected 5000/,
  );
  assert.throws(
    () => assertMtmdAbi(mtmdDefaults(), initOptDefaults(), null),
    /media_marker at byte 32 is null, expected "<__media__>"/,
  );
});
