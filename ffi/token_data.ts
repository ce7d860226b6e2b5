/**
 * `llama_token_data_array`: the candidates a sampler chain works on. Filled from a batch row's
 * logits and run through `llama_sampler_apply`, it shows which token the chain selected and
 * with what logit, before anything is accepted: a chain with a grammar that allows no token
 * selects one with a logit of -inf, and accepting it makes libllama's grammar throw.
 *
 * @module
 */
import type { LlamaLibrary } from "./library.ts";

/** `sizeof(llama_token_data)`: id (i32), logit (f32), p (f32). */
const ENTRY = 12;
/** `sizeof(llama_token_data_array)` on 64-bit: data pointer, size, selected (i64), sorted (bool). */
const HEADER = 32;

/** A candidate left by a sampler chain, with its probability. */
export interface Candidate {
  token: number;
  logit: number;
  p: number;
}

/** A candidate array for a vocabulary of `n` tokens, reused across calls. */
export class TokenDataArray {
  readonly #n: number;
  readonly #data: Uint8Array<ArrayBuffer>;
  readonly #floats: Float32Array;
  readonly #header = new Uint8Array(HEADER);
  #last: { data: Deno.PointerValue; size: number } = { data: null, size: 0 };

  constructor(vocabSize: number) {
    this.#n = vocabSize;
    this.#data = new Uint8Array(vocabSize * ENTRY);
    this.#floats = new Float32Array(this.#data.buffer);
    const ids = new Int32Array(this.#data.buffer);
    for (let i = 0; i < vocabSize; i++) ids[i * 3] = i;
  }

  /**
   * Fills the candidates from the logits at `logits` and runs `samplers` on them in order (a
   * grammar, then the chain). Returns the selected token and its logit, or `null` when the
   * last sampler selected none.
   */
  select(
    lib: LlamaLibrary,
    samplers: Deno.PointerObject | readonly Deno.PointerObject[],
    logits: Deno.PointerObject,
  ): { token: number; logit: number } | null {
    const source = new Float32Array(
      Deno.UnsafePointerView.getArrayBuffer(logits, this.#n * 4),
    );
    const floats = this.#floats;
    const ids = new Int32Array(this.#data.buffer);
    for (let i = 0; i < this.#n; i++) {
      ids[i * 3] = i;
      floats[i * 3 + 1] = source[i]!;
      floats[i * 3 + 2] = 0;
    }
    const header = new DataView(this.#header.buffer);
    header.setBigUint64(
      0,
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#data))),
      true,
    );
    header.setBigUint64(8, BigInt(this.#n), true);
    header.setBigInt64(16, -1n, true);
    header.setUint8(24, 0);
    for (const sampler of Array.isArray(samplers) ? samplers : [samplers]) {
      lib.llama.llama_sampler_apply(sampler, this.#header);
    }
    const data = Deno.UnsafePointer.create(header.getBigUint64(0, true));
    const size = Number(header.getBigUint64(8, true));
    const selected = Number(header.getBigInt64(16, true));
    this.#last = { data, size };
    if (data === null || selected < 0 || selected >= size) return null;
    const view = new Deno.UnsafePointerView(data);
    return {
      token: view.getInt32(selected * ENTRY),
      logit: view.getFloat32(selected * ENTRY + 4),
    };
  }

  /** The candidates the last {@linkcode select} left, with their probabilities. */
  lastCandidates(): Candidate[] {
    const { data, size } = this.#last;
    if (data === null || size === 0) return [];
    const view = new Deno.UnsafePointerView(data);
    const out: Candidate[] = [];
    for (let i = 0; i < size; i++) {
      out.push({
        token: view.getInt32(i * ENTRY),
        logit: view.getFloat32(i * ENTRY + 4),
        p: view.getFloat32(i * ENTRY + 8),
      });
    }
    return out;
  }

  /**
   * Whether `sampler` (a grammar) leaves `token` possible: it is run on that one candidate,
   * nothing is accepted. Feeding a grammar a token it refuses aborts the process, so tokens
   * that were not sampled through it (a prefill, a forced sequence) are checked first.
   */
  static allows(lib: LlamaLibrary, sampler: Deno.PointerObject, token: number): boolean {
    const entry = new Uint8Array(ENTRY);
    const fields = new DataView(entry.buffer);
    fields.setInt32(0, token, true);
    fields.setFloat32(4, 0, true);
    fields.setFloat32(8, 0, true);
    const header = new Uint8Array(HEADER);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(entry))), true);
    view.setBigUint64(8, 1n, true);
    view.setBigInt64(16, -1n, true);
    view.setUint8(24, 0);
    lib.llama.llama_sampler_apply(sampler, header);
    return Number.isFinite(fields.getFloat32(4, true));
  }
}
