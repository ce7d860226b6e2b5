/**
 * A reusable `llama_batch` whose arrays live in JS memory (no native
 * allocation): the struct holds pointers to typed arrays this object owns,
 * so keep the object alive until a decode that uses it has settled.
 *
 * @module
 */
import { BATCH } from "./structs.ts";

function address(buffer: ArrayBufferView<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/** One batch of tokens, each in one sequence, for `llama_decode`. */
export class TokenBatch {
  readonly capacity: number;
  #count = 0;
  readonly #tokens: Int32Array<ArrayBuffer>;
  readonly #pos: Int32Array<ArrayBuffer>;
  readonly #nSeqId: Int32Array<ArrayBuffer>;
  readonly #seqIds: Int32Array<ArrayBuffer>;
  readonly #seqIdPtrs: BigUint64Array<ArrayBuffer>;
  readonly #logits: Int8Array<ArrayBuffer>;
  readonly #struct: Uint8Array<ArrayBuffer>;
  readonly #view: DataView<ArrayBuffer>;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create a batch of ${capacity} tokens: capacity must be a positive integer`,
      );
    }
    this.capacity = capacity;
    this.#tokens = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity);
    this.#nSeqId = new Int32Array(capacity).fill(1);
    this.#seqIds = new Int32Array(capacity);
    this.#seqIdPtrs = new BigUint64Array(capacity);
    this.#logits = new Int8Array(capacity);
    const seqBase = address(this.#seqIds);
    for (let i = 0; i < capacity; i++) this.#seqIdPtrs[i] = seqBase + BigInt(i * 4);
    this.#struct = new Uint8Array(BATCH.size);
    this.#view = new DataView(this.#struct.buffer);
    this.#view.setBigUint64(BATCH.token, address(this.#tokens), true);
    this.#view.setBigUint64(BATCH.embd, 0n, true);
    this.#view.setBigUint64(BATCH.pos, address(this.#pos), true);
    this.#view.setBigUint64(BATCH.n_seq_id, address(this.#nSeqId), true);
    this.#view.setBigUint64(BATCH.seq_id, address(this.#seqIdPtrs), true);
    this.#view.setBigUint64(BATCH.logits, address(this.#logits), true);
  }

  /** Number of tokens in the batch. */
  get length(): number {
    return this.#count;
  }

  /** Empties the batch. */
  clear(): void {
    this.#count = 0;
  }

  /** Appends a token; returns its index in the batch (the `idx` for sampling). */
  add(token: number, pos: number, seq: number, logits: boolean): number {
    if (this.#count >= this.capacity) {
      throw new RangeError(`Cannot add a token: the batch is full (${this.capacity})`);
    }
    const i = this.#count++;
    this.#tokens[i] = token;
    this.#pos[i] = pos;
    this.#seqIds[i] = seq;
    this.#logits[i] = logits ? 1 : 0;
    return i;
  }

  /** Marks whether the token at `index` produces logits. */
  setLogits(index: number, logits: boolean): void {
    this.#logits[index] = logits ? 1 : 0;
  }

  /** The `llama_batch` struct, by value, for the current contents. */
  struct(): Uint8Array<ArrayBuffer> {
    this.#view.setInt32(BATCH.n_tokens, this.#count, true);
    return this.#struct;
  }
}
