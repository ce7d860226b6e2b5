/**
 * A GGUF writer, for the benchmark's synthetic models and the tests' crafted files: metadata
 * of every type, tensors streamed in chunks, the layout of llama.cpp's own writer. The product
 * only reads GGUF (`lib/engine/gguf_reader.ts`).
 *
 * @module
 */
import {
  alignUp,
  ggmlTensorBytes,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_MAX_NAME,
  GGUF_SCALAR_SIZE,
  type GgufKv,
  type GgufScalar,
  type GgufScalarTypeId,
  GgufType,
  ggufTypeName,
} from "../lib/engine/gguf_reader.ts";

/** Tensor data: the bytes, or a function producing them in chunks (streamed to the file). */
export type GgufTensorData =
  | Uint8Array
  | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);

/** A tensor to write. */
export interface GgufTensorSpec {
  /** Tensor name (at most 63 bytes). */
  name: string;
  /** Shape, innermost first. */
  dims: number[];
  /** ggml type id. */
  type: number;
  /** The tensor's bytes; must add up to exactly its size for `type` and `dims`. */
  data: GgufTensorData;
}

/** What {@linkcode writeGguf} writes. */
export interface GgufWriteSpec {
  /** Metadata in the order to write (a `Map` or entries). */
  metadata: Map<string, GgufKv> | Iterable<readonly [string, GgufKv]>;
  /** Tensors in the order to write. */
  tensors: GgufTensorSpec[];
  /** GGUF version to write (default 3). */
  version?: 2 | 3;
}

/** Result of {@linkcode writeGguf}. */
export interface GgufWriteResult {
  /** Total bytes written. */
  size: number;
  /** Offset of the data section. */
  dataOffset: number;
}

/**
 * Encodes the header (magic, counts, metadata, tensor infos, padding) of a GGUF, and returns it
 * with the data offset of every tensor.
 *
 * @throws {TypeError} When a metadata value does not match its type.
 * @throws {RangeError} When a tensor has an unknown type or a shape its type cannot hold.
 */
export function encodeGgufHeader(spec: GgufWriteSpec): {
  header: Uint8Array;
  offsets: number[];
  sizes: number[];
  alignment: number;
} {
  const metadata = spec.metadata instanceof Map ? [...spec.metadata] : [...spec.metadata];
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [key, kv] of metadata) {
    if (key === "general.alignment") {
      if (kv.type !== GgufType.UINT32 || typeof kv.value !== "number") {
        throw new TypeError(`Cannot write general.alignment: it must be a u32`);
      }
      alignment = kv.value;
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
        throw new RangeError(`Cannot write alignment ${alignment}: not a power of 2`);
      }
    }
  }
  const w = new _ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(spec.version ?? 3);
  w.u64(BigInt(spec.tensors.length));
  w.u64(BigInt(metadata.length));
  for (const [key, kv] of metadata) {
    w.string(key);
    w.u32(kv.type);
    if (kv.type === GgufType.ARRAY) {
      w.u32(kv.itemType);
      w.u64(BigInt(kv.value.length));
      for (const item of kv.value) w.scalar(kv.itemType, item, key);
    } else {
      w.scalar(kv.type, kv.value, key);
    }
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    if (_utf8Encoder.encode(t.name).length >= GGUF_MAX_NAME) {
      throw new RangeError(`Cannot write tensor "${t.name}": name longer than 63 bytes`);
    }
    if (t.dims.length > GGUF_MAX_DIMS) {
      throw new RangeError(`Cannot write tensor "${t.name}": more than 4 dimensions`);
    }
    const size = ggmlTensorBytes(t.type, t.dims);
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(BigInt(d));
    w.u32(t.type);
    w.u64(BigInt(offset));
    offsets.push(offset);
    sizes.push(size);
    offset += alignUp(size, alignment);
  }
  w.zeros(alignUp(w.length, alignment) - w.length);
  return { header: w.bytes(), offsets, sizes, alignment };
}

/**
 * Writes a GGUF file, streaming each tensor's data from its callback. Writes to a temporary
 * file beside `path` and renames it into place, so a reader never sees a half-written model.
 *
 * @throws {TypeError} When metadata values do not match their types.
 * @throws {RangeError} When a tensor's data is not exactly its size.
 */
export async function writeGguf(path: string, spec: GgufWriteSpec): Promise<GgufWriteResult> {
  const { header, sizes, alignment } = encodeGgufHeader(spec);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  let ok = false;
  try {
    const out = new _FileWriter(file);
    await out.write(header);
    for (const [i, t] of spec.tensors.entries()) {
      const size = sizes[i]!;
      let written = 0;
      const chunks = t.data instanceof Uint8Array ? [t.data] : t.data();
      for await (const chunk of chunks) {
        written += chunk.length;
        if (written > size) break;
        await out.write(chunk);
      }
      if (written !== size) {
        throw new RangeError(
          `Cannot write tensor "${t.name}": its data has ${written > size ? "more than " : ""}` +
            `${written} bytes, expected ${size}`,
        );
      }
      if (i < spec.tensors.length - 1) {
        await out.write(new Uint8Array(alignUp(size, alignment) - size));
      }
    }
    await out.flush();
    ok = true;
    return { size: out.position, dataOffset: header.length };
  } finally {
    file.close();
    if (ok) await Deno.rename(tmp, path);
    else await Deno.remove(tmp).catch(() => {});
  }
}

const _utf8Encoder = new TextEncoder();

class _ByteWriter {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #grow(n: number): number {
    if (this.length + n > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.length + n));
      next.set(this.#buf.subarray(0, this.length));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u32(v: number) {
    const at = this.#grow(4);
    this.#view.setUint32(at, v, true);
  }
  u64(v: bigint) {
    const at = this.#grow(8);
    this.#view.setBigUint64(at, v, true);
  }
  zeros(n: number) {
    const at = this.#grow(n);
    this.#buf.fill(0, at, at + n);
  }
  string(s: string) {
    const b = _utf8Encoder.encode(s);
    this.u64(BigInt(b.length));
    const at = this.#grow(b.length);
    this.#buf.set(b, at);
  }
  scalar(type: GgufScalarTypeId, v: GgufScalar, key: string) {
    const bad = (want: string) =>
      new TypeError(`Cannot write metadata "${key}": value ${String(v)} is not ${want}`);
    if (type === GgufType.STRING) {
      if (typeof v !== "string") throw bad("a string");
      return this.string(v);
    }
    if (type === GgufType.BOOL) {
      if (typeof v !== "boolean") throw bad("a boolean");
      const at = this.#grow(1);
      return this.#view.setUint8(at, v ? 1 : 0);
    }
    if (type === GgufType.UINT64 || type === GgufType.INT64) {
      if (typeof v !== "bigint" && !Number.isSafeInteger(v)) throw bad("an integer");
      const b = BigInt(v as bigint | number);
      if (type === GgufType.UINT64) {
        if (b < 0n || b >= 1n << 64n) throw bad("a u64");
        const at = this.#grow(8);
        return this.#view.setBigUint64(at, b, true);
      }
      if (b < -(1n << 63n) || b >= 1n << 63n) throw bad("an i64");
      const at = this.#grow(8);
      return this.#view.setBigInt64(at, b, true);
    }
    if (typeof v !== "number") throw bad("a number");
    const at = this.#grow(GGUF_SCALAR_SIZE[type]);
    const int = (lo: number, hi: number) => {
      if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`in ${ggufTypeName(type)} range`);
    };
    switch (type) {
      case 0:
        int(0, 0xff);
        return this.#view.setUint8(at, v);
      case 1:
        int(-0x80, 0x7f);
        return this.#view.setInt8(at, v);
      case 2:
        int(0, 0xffff);
        return this.#view.setUint16(at, v, true);
      case 3:
        int(-0x8000, 0x7fff);
        return this.#view.setInt16(at, v, true);
      case 4:
        int(0, 0xffffffff);
        return this.#view.setUint32(at, v, true);
      case 5:
        int(-0x80000000, 0x7fffffff);
        return this.#view.setInt32(at, v, true);
      case 6:
        return this.#view.setFloat32(at, v, true);
      case 12:
        return this.#view.setFloat64(at, v, true);
    }
  }
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

/** Buffers small writes into 4 MiB blocks. */
class _FileWriter {
  #file: Deno.FsFile;
  #buf = new Uint8Array(4 << 20);
  #used = 0;
  position = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }
  async write(chunk: Uint8Array): Promise<void> {
    this.position += chunk.length;
    if (this.#used + chunk.length > this.#buf.length) await this.flush();
    if (chunk.length >= this.#buf.length) return await _writeAll(this.#file, chunk);
    this.#buf.set(chunk, this.#used);
    this.#used += chunk.length;
  }
  async flush(): Promise<void> {
    if (this.#used > 0) await _writeAll(this.#file, this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}
