/**
 * LoRA adapters through FFI: loading one from a file (before the sandbox) and setting the
 * adapters a context applies, with their scales (an array of pointers built here).
 *
 * @module
 */
import { cString } from "./cstring.ts";
import type { LlamaLibrary } from "./library.ts";

/** Loads the LoRA adapter at `path` for `model`; `null` when libllama refuses it. */
export function loadLoraAdapter(
  lib: LlamaLibrary,
  model: Deno.PointerObject,
  path: string,
): Deno.PointerObject | null {
  return lib.llama.llama_adapter_lora_init(model, cString(path));
}

/** Frees an adapter (once; the model frees those left). */
export function freeLoraAdapter(lib: LlamaLibrary, adapter: Deno.PointerObject): void {
  lib.llama.llama_adapter_lora_free(adapter);
}

/** Sets `adapters` at `scales` on `context` (`llama_set_adapters_lora`); returns its code. */
export function setLoraAdapters(
  lib: LlamaLibrary,
  context: Deno.PointerObject,
  adapters: readonly Deno.PointerObject[],
  scales: readonly number[],
): number {
  const pointers = new BigUint64Array(Math.max(1, adapters.length));
  adapters.forEach((a, i) => (pointers[i] = BigInt(Deno.UnsafePointer.value(a))));
  const values = new Float32Array(Math.max(1, scales.length));
  scales.forEach((s, i) => (values[i] = s));
  return lib.llama.llama_set_adapters_lora(
    context,
    new Uint8Array(pointers.buffer),
    BigInt(adapters.length),
    new Uint8Array(values.buffer),
  );
}
