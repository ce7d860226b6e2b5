/**
 * A bounded reader and a streaming writer for GGUF files (versions 2 and 3, little-endian).
 *
 * The reader parses the header, every metadata key/value and every tensor info, and finds the
 * data section, reading in buffered chunks: it never loads the tensor data. It works on a path,
 * an open `Deno.FsFile` or a `Uint8Array`, at any offset (a GGUF stored inside a llamafile's
 * ZIP archive starts at the entry's data offset). Anything malformed or absurd throws a
 * {@linkcode GgufError} with one sentence naming the file and what is wrong.
 *
 * The writer streams tensor data from callbacks, so a multi-GB model never sits in memory.
 *
 * @example Read a model's summary
 * ```ts ignore
 * import { ggufSummary, readGguf } from "./gguf_reader.ts";
 * const gguf = await readGguf("model.gguf");
 * const info = ggufSummary(gguf);
 * console.log(info.architecture, info.parameterCount, info.fileTypeName);
 * ```
 *
 * @module
 */

/** Metadata value type ids (`enum gguf_type` in `gguf.h`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** A metadata value type id. */
export type GgufTypeId = typeof GgufType[keyof typeof GgufType];

/** A metadata type id other than `ARRAY` (GGUF arrays cannot nest). */
export type GgufScalarTypeId = Exclude<GgufTypeId, 9>;

/** A scalar metadata value: 64-bit integers are bigints, other numbers are numbers. */
export type GgufScalar = number | bigint | boolean | string;

/** One metadata value together with its GGUF type, as read or as to be written. */
export type GgufKv =
  | { type: GgufScalarTypeId; value: GgufScalar }
  | { type: typeof GgufType.ARRAY; itemType: GgufScalarTypeId; value: GgufScalar[] }
  | { type: typeof GgufType.ARRAY; itemType: typeof GgufType.STRING; value: GgufStrings };

/**
 * The items of an array of strings read with `lazyStrings` (see {@linkcode ReadGgufOptions}):
 * their bytes as stored, each decoded when it is read. A vocabulary of 150k tokens, and as many
 * merges, then costs one copy of their bytes instead of 300k strings made at every start.
 */
export class GgufStrings implements Iterable<string> {
  /** Number of items. */
  readonly length: number;
  /** The array as stored: each item's u64 length, then its bytes. */
  readonly #raw: Uint8Array;
  /** Where each item ends in `#raw` (doubles only for headers allowed past 4 GiB). */
  readonly #ends: Uint32Array | Float64Array;

  /** @internal Built by the reader. */
  constructor(raw: Uint8Array, ends: Uint32Array | Float64Array) {
    this.#raw = raw;
    this.#ends = ends;
    this.length = ends.length;
  }

  #start(i: number): number {
    return (i === 0 ? 0 : this.#ends[i - 1]!) + 8;
  }

  /** The bytes of item `i`. */
  bytesAt(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`Cannot read item ${i} of ${this.length} strings`);
    }
    return this.#raw.subarray(this.#start(i), this.#ends[i]!);
  }

  /** Item `i` as text (invalid UTF-8 as U+FFFD, as the eager read makes it); undefined past the end. */
  at(i: number): string | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return undefined;
    return _utf8.decode(this.#raw.subarray(this.#start(i), this.#ends[i]!));
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  /**
   * The first item that repeats an earlier one as a key of libllama's token map, as `[index,
   * earlier index]`; null when every key differs. libllama reads a token's text as a C string
   * (`gguf_get_arr_str`), so its key is the bytes before the first NUL, and an item whose key
   * is then empty becomes `[EMPTY_<index>]` (a repeat only of an item spelling that out). Bytes
   * are compared (two invalid sequences that both read as U+FFFD differ). A table of byte hashes
   * finds it without making a string per item. Should a crafted file make the probes long (more
   * than `maxProbes`, a parameter for tests) or the bytes compared many (more than twice all the
   * items' bytes), a map of the items as one-character-per-byte text finishes the job in the
   * time a map takes.
   */
  firstRepeat(maxProbes = 64): [number, number] | null {
    const n = this.length;
    if (n < 2) return null;
    let size = 1;
    while (size < n * 2) size *= 2;
    const mask = size - 1;
    const table = new Int32Array(size).fill(-1);
    const raw = this.#raw;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const ends = this.#ends;
    let budget = 2 * raw.length;
    // Whole items are hashed and compared. An item holding a NUL byte (never in a real
    // vocabulary), or two empty items found alike, send the search to the map, which keys
    // items as libllama does. (Code in the probe loop runs only on collisions: what it adds
    // there can leave V8's optimized loop without type feedback, deoptimizing it at each one.)
    let wordZero = 0;
    let byteZero = 0;
    const empties: number[] = [];
    let start = 8;
    for (let i = 0; i < n; i++) {
      const end = ends[i]!;
      const length = end - start;
      if (length === 0) empties.push(i);
      // itemHash(), inline, with the NUL test.
      let hash = 0x811c9dc5 ^ length;
      let b = start;
      for (; b + 4 <= end; b += 4) {
        const word = view.getUint32(b, true);
        wordZero |= (word - 0x01010101) & ~word; // bit 7 of a byte: that byte is zero
        hash = Math.imul(hash ^ word, 0x01000193);
      }
      for (; b < end; b++) {
        const byte = raw[b]!;
        if (byte === 0) byteZero = 1;
        hash = Math.imul(hash ^ byte, 0x01000193);
      }
      hash ^= hash >>> 15;
      let slot = hash & mask;
      for (let probes = 0; table[slot] !== -1; probes++) {
        const other = table[slot]!;
        budget -= end - start;
        if (probes >= maxProbes || budget < 0) return this.#firstRepeatByMap();
        if (this.#same(other, i)) return this.#sameKey(i, other);
        slot = (slot + 1) & mask;
      }
      table[slot] = i;
      start = end + 8;
    }
    if ((wordZero & 0x80808080) !== 0 || byteZero !== 0) return this.#firstRepeatByMap();
    for (const i of empties) {
      // libllama's name for it, looked up in the table.
      const name = new TextEncoder().encode(`[EMPTY_${i}]`);
      const hash = itemHash(new DataView(name.buffer), name, 0, name.length);
      for (let slot = hash & mask; table[slot] !== -1; slot = (slot + 1) & mask) {
        const j = table[slot]!;
        const bytes = this.bytesAt(j);
        if (bytes.length === name.length && bytes.every((byte, k) => byte === name[k])) {
          return [Math.max(i, j), Math.min(i, j)];
        }
      }
    }
    return null;
  }

  /** `[a, b]` for items `a` and `b` of the same bytes, when that makes them one key. */
  #sameKey(a: number, b: number): [number, number] | null {
    const bytes = this.bytesAt(a);
    // Empty, or with a NUL byte: the map keys them as libllama does.
    return bytes.length === 0 || bytes.includes(0) ? this.#firstRepeatByMap() : [a, b];
  }

  #same(a: number, b: number): boolean {
    const sa = this.#start(a);
    const sb = this.#start(b);
    const length = this.#ends[a]! - sa;
    if (this.#ends[b]! - sb !== length) return false;
    const raw = this.#raw;
    for (let k = 0; k < length; k++) if (raw[sa + k] !== raw[sb + k]) return false;
    return true;
  }

  #firstRepeatByMap(): [number, number] | null {
    // windows-1252 ("latin1" to TextDecoder) gives every byte its own character, so bytes that
    // UTF-8 decoding would merge into U+FFFD stay apart.
    const latin1 = new TextDecoder("latin1");
    const seen = new Map<string, number>();
    const empties: number[] = [];
    for (let i = 0; i < this.length; i++) {
      const bytes = this.bytesAt(i);
      const nul = bytes.indexOf(0);
      const key = nul === -1 ? bytes : bytes.subarray(0, nul);
      if (key.length === 0) {
        empties.push(i);
        continue;
      }
      const text = latin1.decode(key);
      const first = seen.get(text);
      if (first !== undefined) return [i, first];
      seen.set(text, i);
    }
    for (const i of empties) {
      const j = seen.get(`[EMPTY_${i}]`);
      if (j !== undefined) return [Math.max(i, j), Math.min(i, j)];
    }
    return null;
  }
}

/** FNV-1a over the 4-byte words of `bytes[start, end)`, then the tail's bytes, and the length. */
function itemHash(view: DataView, bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  let b = start;
  for (; b + 4 <= end; b += 4) hash = Math.imul(hash ^ view.getUint32(b, true), 0x01000193);
  for (; b < end; b++) hash = Math.imul(hash ^ bytes[b]!, 0x01000193);
  return hash ^ (hash >>> 15);
}

/** One tensor info of a GGUF file. */
export interface GgufTensorInfo {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Shape, innermost (row length) first, as stored in the file. */
  dims: number[];
  /** ggml type id (`enum ggml_type`). */
  type: number;
  /** Offset of the tensor's data from the start of the data section. */
  offset: number;
  /** Number of elements (product of `dims`). */
  elements: number;
  /** Size of the tensor's data in bytes. */
  byteSize: number;
}

/** A parsed GGUF header: everything but the tensor data. */
export interface GgufFile {
  /** GGUF version (2 or 3). */
  version: number;
  /** Metadata in file order. */
  metadata: Map<string, GgufKv>;
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  /** Data alignment (`general.alignment`, default 32). */
  alignment: number;
  /** Where the GGUF starts in the file or buffer it was read from. */
  baseOffset: number;
  /** Start of the data section, relative to `baseOffset`. */
  dataOffset: number;
  /** Size of the data section (tensors with padding), in bytes. */
  dataSize: number;
}

/** Limits that keep a hostile or broken file from exhausting memory. */
export interface GgufLimits {
  /** Longest accepted string (keys, values, tensor names), in bytes. Default 1 MiB. */
  maxStringBytes?: number;
  /** Most bytes of header (metadata + tensor infos) accepted. Default 256 MiB. */
  maxMetadataBytes?: number;
}

/** Options of {@linkcode readGguf}. */
export interface ReadGgufOptions extends GgufLimits {
  /** Where the GGUF starts in the file or buffer. Default 0. */
  offset?: number;
  /** Name used in error messages (default: the path, or `<file>` / `<buffer>`). */
  name?: string;
  /**
   * Arrays of strings come back as {@linkcode GgufStrings} (their bytes, decoded on use)
   * instead of arrays of strings. Default false.
   */
  lazyStrings?: boolean;
}

/** Thrown when a GGUF file cannot be read: bad magic, unsupported version, truncated, absurd. */
export class GgufError extends Error {
  /** The file (or the name given) that could not be read. */
  readonly file: string;
  /** Why, without the file (`file is truncated: ...`). */
  readonly reason: string;

  /** Builds `Cannot read GGUF "<file>": <reason>`. */
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`Cannot read GGUF "${file}": ${reason}`, options);
    this.name = "GgufError";
    this.file = file;
    this.reason = reason;
  }
}

/** The GGUF magic, `"GGUF"` read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** The alignment used when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Most dimensions a tensor has (`GGML_MAX_DIMS`). */
export const GGUF_MAX_DIMS = 4;
/** Longest tensor name, the terminating NUL included (`GGML_MAX_NAME`). */
export const GGUF_MAX_NAME = 64;
const MAX_COUNT = 1 << 24;
const DEFAULT_MAX_STRING = 1 << 20;
const DEFAULT_MAX_METADATA = 256 << 20;
/** The largest read of the header; the first is FIRST_CHUNK, each next one twice the last. */
const CHUNK = 1 << 20;
const FIRST_CHUNK = 1 << 16;

// ---------------------------------------------------------------------------------------------
// ggml types and file types

/** [name, block size (elements), type size (bytes per block)] by ggml type id. */
const GGML_TYPES: Record<number, readonly [string, number, number]> = {
  0: ["F32", 1, 4],
  1: ["F16", 1, 2],
  2: ["Q4_0", 32, 18],
  3: ["Q4_1", 32, 20],
  6: ["Q5_0", 32, 22],
  7: ["Q5_1", 32, 24],
  8: ["Q8_0", 32, 34],
  9: ["Q8_1", 32, 36],
  10: ["Q2_K", 256, 84],
  11: ["Q3_K", 256, 110],
  12: ["Q4_K", 256, 144],
  13: ["Q5_K", 256, 176],
  14: ["Q6_K", 256, 210],
  15: ["Q8_K", 256, 292],
  16: ["IQ2_XXS", 256, 66],
  17: ["IQ2_XS", 256, 74],
  18: ["IQ3_XXS", 256, 98],
  19: ["IQ1_S", 256, 50],
  20: ["IQ4_NL", 32, 18],
  21: ["IQ3_S", 256, 110],
  22: ["IQ2_S", 256, 82],
  23: ["IQ4_XS", 256, 136],
  24: ["I8", 1, 1],
  25: ["I16", 1, 2],
  26: ["I32", 1, 4],
  27: ["I64", 1, 8],
  28: ["F64", 1, 8],
  29: ["IQ1_M", 256, 56],
  30: ["BF16", 1, 2],
  34: ["TQ1_0", 256, 54],
  35: ["TQ2_0", 256, 66],
  39: ["MXFP4", 32, 17],
  40: ["NVFP4", 64, 36],
  41: ["Q1_0", 128, 18],
  42: ["Q2_0", 64, 18],
};

/** ggml type ids by name, for the types the synthetic models and tests use. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
} as const;

/** Name of a ggml type id (`Q8_0`), or `type <id>` when unknown. */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.[0] ?? `type ${type}`;
}

/**
 * Block size (elements per block) and type size (bytes per block) of a ggml type.
 *
 * @throws {RangeError} When the type id is not a ggml type of this release.
 */
export function ggmlTypeLayout(type: number): { blockSize: number; typeSize: number } {
  const t = GGML_TYPES[type];
  if (!t) throw new RangeError(`Cannot size ggml type ${type}: unknown type id`);
  return { blockSize: t[1], typeSize: t[2] };
}

/** `llama_ftype` names (without `LLAMA_FTYPE_MOSTLY_`), by `general.file_type`. */
const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

/** Name of a `general.file_type` value (`Q4_K_M`), or `file type <n>` when unknown. */
export function fileTypeName(fileType: number): string {
  return FILE_TYPES[fileType] ?? `file type ${fileType}`;
}

/** `general.file_type` values by name, for writers. */
export const FileType = { ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q8_0: 7 } as const;

/**
 * Number of bytes of a tensor of `type` and shape `dims`.
 *
 * @throws {RangeError} When the type is unknown or the row length is not a whole number of
 *   blocks.
 */
export function ggmlTensorBytes(type: number, dims: readonly number[]): number {
  const { blockSize, typeSize } = ggmlTypeLayout(type);
  const row = dims[0] ?? 1;
  if (row % blockSize !== 0) {
    throw new RangeError(
      `Cannot size a ${ggmlTypeName(type)} tensor with rows of ${row}: ` +
        `not a multiple of its block size ${blockSize}`,
    );
  }
  let n = 1;
  for (const d of dims) n *= d;
  return (n / blockSize) * typeSize;
}

// ---------------------------------------------------------------------------------------------
// reading

interface _Source {
  /** Reads into `buf` at absolute position `pos`; returns bytes read (0 at end). */
  readAt(buf: Uint8Array, pos: number): Promise<number>;
  /** Total size, when known. */
  size: number | undefined;
}

function _bufferSource(bytes: Uint8Array): _Source {
  return {
    size: bytes.length,
    readAt(buf, pos) {
      const n = Math.max(0, Math.min(buf.length, bytes.length - pos));
      buf.set(bytes.subarray(pos, pos + n));
      return Promise.resolve(n);
    },
  };
}

/**
 * A file read with synchronous calls: the reads are of one chunk of the header at a time from
 * the page cache, and an asynchronous file call is a hop to another thread and back that costs
 * more (milliseconds each on a busy machine).
 */
function _fileSource(file: Deno.FsFile): _Source {
  const { size } = file.statSync();
  return {
    size,
    readAt(buf, pos) {
      file.seekSync(pos, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = file.readSync(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      return Promise.resolve(got);
    },
  };
}

/** A tensor info's fields as stored. */
interface _TensorFields {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

/** Sequential little-endian reader over a source, in buffered chunks. */
class _Reader {
  #src: _Source;
  #name: string;
  #buf = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  #bufStart = 0;
  /** Bytes of the next read: 64 KiB first (a small model's whole header), doubling to CHUNK. */
  #chunk = FIRST_CHUNK;
  #start: number;
  #maxBytes: number;
  /** Absolute position of the next byte to read. */
  pos: number;

  constructor(src: _Source, name: string, start: number, maxBytes: number) {
    this.#src = src;
    this.#name = name;
    this.#start = start;
    this.pos = start;
    this.#maxBytes = maxBytes;
  }

  fail(reason: string, cause?: unknown): never {
    throw new GgufError(this.#name, reason, cause === undefined ? undefined : { cause });
  }

  /** Bytes left in the source after the current position (Infinity when unknown). */
  get remaining(): number {
    return this.#src.size === undefined ? Infinity : this.#src.size - this.pos;
  }

  /**
   * Where, in the buffer, the reads that need no refill end: at its last byte, or where the
   * metadata size limit falls when that is sooner (the `...Now` reads stop there).
   */
  #readableEnd(): number {
    return Math.min(this.#buf.length, this.#start + this.#maxBytes - this.#bufStart);
  }

  /** Makes `n` bytes at `pos` available in the buffer; returns their index in it. */
  async #need(n: number, what: string): Promise<number> {
    if (this.pos + n - this.#start > this.#maxBytes) {
      this.fail(
        `metadata is larger than the ${this.#maxBytes} bytes allowed (while reading ${what})`,
      );
    }
    const at = this.pos - this.#bufStart;
    if (at >= 0 && at + n <= this.#buf.length) return at;
    const size = Math.max(this.#chunk, n);
    this.#chunk = Math.min(2 * this.#chunk, CHUNK);
    const buf = size === this.#buf.length ? this.#buf : new Uint8Array(size);
    let got: number;
    try {
      got = await this.#src.readAt(buf, this.pos);
    } catch (err) {
      this.fail(`read failed at byte ${this.pos}`, err);
    }
    this.#buf = buf.subarray(0, got);
    this.#view = new DataView(buf.buffer, buf.byteOffset, got);
    this.#bufStart = this.pos;
    if (got < n) {
      this.fail(`file is truncated: ${what} at byte ${this.pos - this.#start} ends past the end`);
    }
    return 0;
  }

  async u8(what: string): Promise<number> {
    const i = await this.#need(1, what);
    this.pos += 1;
    return this.#view.getUint8(i);
  }
  async u32(what: string): Promise<number> {
    const i = await this.#need(4, what);
    this.pos += 4;
    return this.#view.getUint32(i, true);
  }
  async u64(what: string): Promise<bigint> {
    const i = await this.#need(8, what);
    this.pos += 8;
    return this.#view.getBigUint64(i, true);
  }
  /**
   * A u64 count that must be at most `max`, and whose items (each at least `minBytes` long)
   * must fit in the rest of the source.
   */
  async count(what: string, max: number, minBytes = 0): Promise<number> {
    const v = await this.u64(what);
    if (v > BigInt(max)) this.fail(`${what} ${v} is absurd (more than ${max})`);
    const n = Number(v);
    if (n * minBytes > this.remaining) {
      this.fail(
        `file is truncated: ${what} ${n} needs at least ${n * minBytes} bytes ` +
          `but only ${this.remaining} remain`,
      );
    }
    return n;
  }
  async bytes(n: number, what: string): Promise<Uint8Array> {
    const i = await this.#need(n, what);
    this.pos += n;
    return this.#buf.subarray(i, i + n);
  }
  async scalar(type: GgufScalarTypeId, what: string): Promise<GgufScalar> {
    const size = GGUF_SCALAR_SIZE[type];
    if (size === 0) return await this.string(what);
    const i = await this.#need(size, what);
    this.pos += size;
    return _getScalar(this.#view, i, type);
  }
  /**
   * The next string when its bytes are already buffered (and within the limits), else
   * `undefined` without moving: arrays of 100k tokens then cost no await per item.
   */
  stringNow(max: number): string | undefined {
    const at = this.pos - this.#bufStart;
    const limit = this.#readableEnd();
    if (at < 0 || at + 8 > limit) return undefined;
    const len = this.#view.getBigUint64(at, true);
    if (len > BigInt(max)) return undefined;
    const n = Number(len);
    if (at + 8 + n > limit) return undefined;
    this.pos += 8 + n;
    return _utf8.decode(this.#buf.subarray(at + 8, at + 8 + n));
  }
  /**
   * The next tensor info (name, dimensions, type, data offset) when it is wholly buffered and
   * each field is one the field-by-field read would accept (a name of at most `maxName` bytes,
   * at most 4 dimensions, sizes and offset below 2^53), else `undefined` without moving: that
   * read then takes it and says what is wrong. A model's hundreds of tensors then cost no
   * await per field. What the fields say together (a known type, the offsets) the caller
   * checks.
   */
  tensorNow(maxName: number): _TensorFields | undefined {
    const from = this.pos - this.#bufStart;
    if (from < 0) return undefined;
    const limit = this.#readableEnd();
    const view = this.#view;
    if (from + 8 > limit || view.getUint32(from + 4, true) !== 0) return undefined;
    const nameLength = view.getUint32(from, true);
    const nameAt = from + 8;
    let at = nameAt + nameLength;
    if (nameLength > maxName || at + 4 > limit) return undefined;
    const nDims = view.getUint32(at, true);
    at += 4;
    if (nDims > GGUF_MAX_DIMS || at + 8 * nDims + 12 > limit) return undefined;
    const safe = (i: number) => view.getUint32(i + 4, true) < 0x200000; // below 2^53
    const dims: number[] = [];
    for (let j = 0; j < nDims; j++, at += 8) {
      if (!safe(at)) return undefined;
      dims.push(view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true));
    }
    const type = view.getUint32(at, true);
    if (!safe(at + 4)) return undefined;
    const offset = view.getUint32(at + 8, true) * 2 ** 32 + view.getUint32(at + 4, true);
    at += 12;
    this.pos += at - from;
    return {
      name: _utf8.decode(this.#buf.subarray(nameAt, nameAt + nameLength)),
      dims,
      type,
      offset,
    };
  }
  /**
   * Reads into `items` from index `first` as many of the next `count` scalars of `type` as are
   * buffered (one loop per type: a vocabulary's scores and token types are 100k+ each), and
   * returns how many.
   */
  scalarsNow(type: GgufScalarTypeId, items: GgufScalar[], first: number, count: number): number {
    const size = GGUF_SCALAR_SIZE[type];
    const from = this.pos - this.#bufStart;
    if (size === 0 || from < 0) return 0;
    const limit = this.#readableEnd();
    const k = Math.max(0, Math.min(count, Math.floor((limit - from) / size)));
    const view = this.#view;
    if (type === GgufType.FLOAT32) {
      for (let i = 0; i < k; i++) items[first + i] = view.getFloat32(from + 4 * i, true);
    } else if (type === GgufType.INT32) {
      for (let i = 0; i < k; i++) items[first + i] = view.getInt32(from + 4 * i, true);
    } else if (type === GgufType.UINT32) {
      for (let i = 0; i < k; i++) items[first + i] = view.getUint32(from + 4 * i, true);
    } else {
      for (let i = 0; i < k; i++) items[first + i] = _getScalar(view, from + size * i, type);
    }
    this.pos += k * size;
    return k;
  }

  /**
   * Copies into `out` as many of the next `count` strings as are wholly buffered and at most
   * `max` bytes long, each as stored (its u64 length, then its bytes), records where each ends
   * in `ends` from index `first`, and returns how many; 0 when the next one is not buffered or
   * is too long (`stringBytes()` then reads it or says why it cannot).
   */
  stringsNow(
    count: number,
    max: number,
    out: _Bytes,
    ends: Uint32Array | Float64Array,
    first: number,
  ): number {
    const from = this.pos - this.#bufStart;
    if (from < 0) return 0;
    const limit = this.#readableEnd();
    const view = this.#view;
    const base = out.length - from;
    let at = from;
    let k = 0;
    while (k < count && at + 8 <= limit) {
      const length = view.getUint32(at, true);
      if (view.getUint32(at + 4, true) !== 0 || length > max || at + 8 + length > limit) break;
      at += 8 + length;
      ends[first + k] = base + at;
      k++;
    }
    if (k > 0) {
      out.push(this.#buf.subarray(from, at));
      this.pos += at - from;
    }
    return k;
  }
  /** The next string's bytes (valid until the next read), or why they cannot be read. */
  async stringBytes(what: string, max = this.maxString): Promise<Uint8Array> {
    const len = await this.u64(`length of ${what}`);
    if (len > BigInt(max)) {
      this.fail(`${what} is ${len} bytes long, more than the ${max} allowed`);
    }
    return await this.bytes(Number(len), what);
  }
  maxString = DEFAULT_MAX_STRING;
  async string(what: string, max = this.maxString): Promise<string> {
    // Like llama.cpp, accept any bytes: invalid UTF-8 becomes U+FFFD rather than an error.
    return _utf8.decode(await this.stringBytes(what, max));
  }
}

const _utf8 = new TextDecoder("utf-8");

/** Bytes appended in pieces, in a buffer that doubles as it fills. */
class _Bytes {
  #buf = new Uint8Array(1 << 16);
  length = 0;
  push(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.length + bytes.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.length));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  /** Appends `n` as a little-endian u64. */
  pushLength(n: number): void {
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, n % 2 ** 32, true);
    view.setUint32(4, Math.floor(n / 2 ** 32), true);
    this.push(bytes);
  }
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

/** Bytes of each scalar GGUF value type (0 for strings). */
export const GGUF_SCALAR_SIZE: Readonly<Record<GgufScalarTypeId, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  8: 0,
  10: 8,
  11: 8,
  12: 8,
};

function _getScalar(view: DataView, i: number, type: GgufScalarTypeId): GgufScalar {
  switch (type) {
    case 0:
      return view.getUint8(i);
    case 1:
      return view.getInt8(i);
    case 2:
      return view.getUint16(i, true);
    case 3:
      return view.getInt16(i, true);
    case 4:
      return view.getUint32(i, true);
    case 5:
      return view.getInt32(i, true);
    case 6:
      return view.getFloat32(i, true);
    case 7:
      return view.getUint8(i) !== 0;
    case 10:
      return view.getBigUint64(i, true);
    case 11:
      return view.getBigInt64(i, true);
    case 12:
      return view.getFloat64(i, true);
    case 8:
      throw new TypeError("Cannot read a string as a fixed-size scalar");
  }
}

function _isScalarType(t: number): t is GgufScalarTypeId {
  return Number.isInteger(t) && t >= 0 && t <= 12 && t !== 9;
}

/**
 * Reads a GGUF header: metadata, tensor infos, alignment and where the data section starts.
 * Only the header is read (in chunks of 64 KiB, then twice as much each time up to 1 MiB),
 * never the tensor data.
 *
 * @param source A path, an open file (its position is not relied on) or the bytes.
 * @param options `offset` where the GGUF starts, a `name` for messages, and size limits.
 * @throws {GgufError} When the file is not a GGUF, is of an unsupported version, is truncated,
 *   or holds absurd counts, sizes or offsets.
 */
export async function readGguf(
  source: string | URL | Deno.FsFile | Uint8Array,
  options: ReadGgufOptions = {},
): Promise<GgufFile> {
  const offset = options.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Cannot read GGUF at offset ${offset}: not a non-negative integer`);
  }
  if (typeof source === "string" || source instanceof URL) {
    const name = options.name ?? String(source instanceof URL ? source.pathname : source);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(source, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new GgufError(name, "no such file", { cause: err });
      }
      throw err;
    }
    try {
      return await _read(_fileSource(file), name, offset, options);
    } finally {
      file.close();
    }
  }
  if (source instanceof Uint8Array) {
    return await _read(_bufferSource(source), options.name ?? "<buffer>", offset, options);
  }
  return await _read(_fileSource(source), options.name ?? "<file>", offset, options);
}

async function _read(
  src: _Source,
  name: string,
  base: number,
  limits: ReadGgufOptions,
): Promise<GgufFile> {
  const maxString = limits.maxStringBytes ?? DEFAULT_MAX_STRING;
  const maxMetadata = limits.maxMetadataBytes ?? DEFAULT_MAX_METADATA;
  const lazyStrings = limits.lazyStrings ?? false;
  const r: _Reader = new _Reader(src, name, base, maxMetadata);
  r.maxString = maxString;
  if (src.size !== undefined && base > src.size) {
    r.fail(`offset ${base} is past the end of the file (${src.size} bytes)`);
  }

  const magic = await r.bytes(4, "magic");
  if (_magicValue(magic) !== GGUF_MAGIC) {
    const hex = Array.from(magic, (b) => b.toString(16).padStart(2, "0")).join("");
    r.fail(`bad GGUF magic 0x${hex} (expected "GGUF")`);
  }
  const version = await r.u32("version");
  if (version !== 2 && version !== 3) {
    if ((version & 0xffff) === 0 && version !== 0) {
      r.fail(`version ${version} looks like a big-endian GGUF, which is not supported`);
    }
    r.fail(`unsupported GGUF version ${version} (2 and 3 are supported)`);
  }
  // Every tensor info takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes,
  // every key/value at least 8 (key length) + 4 (type) + 1 bytes.
  const tensorCount = await r.count("tensor count", MAX_COUNT, 24);
  const kvCount = await r.count("metadata key count", MAX_COUNT, 13);

  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const key = await r.string(`key ${i}`);
    const qk = _quote(key);
    if (metadata.has(key)) r.fail(`duplicate metadata key ${qk}`);
    const type = await r.u32(`type of ${qk}`);
    if (type === GgufType.ARRAY) {
      const itemType = await r.u32(`item type of ${qk}`);
      if (itemType === GgufType.ARRAY) r.fail(`metadata ${qk} is a nested array`);
      if (!_isScalarType(itemType)) r.fail(`metadata ${qk} has invalid item type ${itemType}`);
      const minItem = GGUF_SCALAR_SIZE[itemType] || 8;
      const n = await r.count(`length of ${qk}`, 2 ** 31, minItem);
      const what = `item of ${qk}`;
      if (itemType === GgufType.STRING && lazyStrings) {
        // Every item takes at least its 8-byte length: more than that cannot fit the header.
        const room = Math.min(n, Math.floor(maxMetadata / 8) + 1);
        const ends = maxMetadata < 2 ** 32 ? new Uint32Array(room) : new Float64Array(room);
        const raw = new _Bytes();
        for (let j = 0; j < n;) {
          const got = r.stringsNow(n - j, maxString, raw, ends, j);
          if (got > 0) {
            j += got;
            continue;
          }
          if (j >= ends.length) r.fail(`metadata ${qk} has more items than the header can hold`);
          const bytes = await r.stringBytes(what, maxString);
          raw.pushLength(bytes.length);
          raw.push(bytes);
          ends[j++] = raw.length;
        }
        metadata.set(key, {
          type: GgufType.ARRAY,
          itemType: GgufType.STRING,
          value: new GgufStrings(raw.bytes(), ends.subarray(0, n)),
        });
        continue;
      }
      const items: GgufScalar[] = new Array(n);
      if (itemType === GgufType.STRING) {
        for (let j = 0; j < n; j++) {
          items[j] = r.stringNow(maxString) ?? await r.string(what, maxString);
        }
      } else {
        for (let j = 0; j < n;) {
          const got = r.scalarsNow(itemType, items, j, n - j);
          if (got > 0) j += got;
          else items[j++] = await r.scalar(itemType, what);
        }
      }
      metadata.set(key, { type: GgufType.ARRAY, itemType, value: items });
    } else if (_isScalarType(type)) {
      const value = type === GgufType.STRING
        ? await r.string(`value of ${qk}`, maxString)
        : await r.scalar(type, `value of ${qk}`);
      metadata.set(key, { type, value });
    } else {
      r.fail(`metadata ${qk} has invalid type ${type}`);
    }
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const align = metadata.get("general.alignment");
  if (align) {
    if (align.type !== GgufType.UINT32) {
      r.fail(`general.alignment has type ${ggufTypeName(align.type)}, expected u32`);
    }
    const a = align.value as number;
    if (a === 0 || (a & (a - 1)) !== 0) r.fail(`alignment ${a} is not a power of 2`);
    alignment = a;
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let expected = 0;
  for (let i = 0; i < tensorCount; i++) {
    // A tensor info wholly buffered and well-formed is read at once; any other is read field
    // by field, and the first field that cannot be read says why.
    const read = r.tensorNow(GGUF_MAX_NAME - 1);
    let tname: string;
    let dims: number[];
    let elements: number;
    let type: number;
    let offset: number;
    if (read !== undefined) {
      ({ name: tname, dims, type, offset } = read);
      _checkTensorName(r, names, tname);
      elements = _tensorElements(r, tname, dims);
      _checkTensorType(r, tname, dims, type);
    } else {
      tname = await r.string(`name of tensor ${i}`, GGUF_MAX_NAME - 1);
      const qt = _quote(tname);
      _checkTensorName(r, names, tname);
      const nDims = await r.u32(`dimension count of ${qt}`);
      if (nDims > GGUF_MAX_DIMS) r.fail(`tensor ${qt} has ${nDims} dimensions (at most 4)`);
      dims = [];
      for (let j = 0; j < nDims; j++) {
        dims.push(await r.count(`dimension ${j} of ${qt}`, Number.MAX_SAFE_INTEGER));
      }
      elements = _tensorElements(r, tname, dims);
      type = await r.u32(`type of ${qt}`);
      _checkTensorType(r, tname, dims, type);
      offset = await r.count(`offset of ${qt}`, Number.MAX_SAFE_INTEGER);
    }
    names.add(tname);
    const layout = GGML_TYPES[type]!;
    const byteSize = (elements / layout[1]) * layout[2];
    if (offset !== expected) {
      r.fail(`tensor ${_quote(tname)} has data offset ${offset}, expected ${expected}`);
    }
    expected += alignUp(byteSize, alignment);
    if (!Number.isSafeInteger(expected)) r.fail(`tensor ${_quote(tname)} has an absurd size`);
    tensors.push({ name: tname, dims, type, offset, elements, byteSize });
  }

  const dataOffset = alignUp(r.pos - base, alignment);
  const dataSize = expected;
  if (src.size !== undefined && tensors.length > 0) {
    const last = tensors[tensors.length - 1]!;
    const end = base + dataOffset + last.offset + last.byteSize;
    if (end > src.size) {
      r.fail(
        `file is truncated: tensor data ends at byte ${end - base} but the file has only ` +
          `${src.size - base} bytes from the GGUF start`,
      );
    }
  }
  return { version, metadata, tensors, alignment, baseOffset: base, dataOffset, dataSize };
}

function _checkTensorName(r: _Reader, names: Set<string>, name: string): void {
  if (names.has(name)) r.fail(`duplicate tensor name ${_quote(name)}`);
}

/** The shape's element count, which must be a safe integer. */
function _tensorElements(r: _Reader, name: string, dims: readonly number[]): number {
  let elements = 1;
  for (const d of dims) elements *= d;
  if (!Number.isSafeInteger(elements)) r.fail(`tensor ${_quote(name)} has an absurd shape`);
  return elements;
}

/** The type is a ggml type, and the rows are whole blocks of it. */
function _checkTensorType(r: _Reader, name: string, dims: readonly number[], type: number): void {
  const layout = GGML_TYPES[type];
  if (!layout) r.fail(`tensor ${_quote(name)} has invalid ggml type ${type}`);
  if ((dims[0] ?? 1) % layout[1] !== 0) {
    r.fail(
      `tensor ${_quote(name)} of type ${layout[0]} has rows of ${dims[0]} elements, ` +
        `not a multiple of its block size ${layout[1]}`,
    );
  }
}

/** A key or name as messages show it: quoted, escaped, at most 64 characters. */
function _quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function _magicValue(b: Uint8Array): number {
  return ((b[0] ?? 0) | (b[1] ?? 0) << 8 | (b[2] ?? 0) << 16 | (b[3] ?? 0) << 24) >>> 0;
}

/** `n` rounded up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

const _TYPE_NAMES = [
  "u8",
  "i8",
  "u16",
  "i16",
  "u32",
  "i32",
  "f32",
  "bool",
  "string",
  "array",
  "u64",
  "i64",
  "f64",
];

/** The name of GGUF value type `t` (`u32`, `string`, ...). */
export function ggufTypeName(t: number): string {
  return _TYPE_NAMES[t] ?? `type ${t}`;
}

// ---------------------------------------------------------------------------------------------
// summary for the `info` command

/** What the `info` command shows about a model. */
export interface GgufSummary {
  /** `general.architecture` (e.g. `llama`), if present. */
  architecture: string | undefined;
  /** `general.name`, if present. */
  name: string | undefined;
  /** GGUF version. */
  version: number;
  /** Sum of the element counts of all tensors. */
  parameterCount: number;
  /** `general.file_type`, if present. */
  fileType: number | undefined;
  /**
   * Name of the file type (`Q4_K_M`); without `general.file_type`, the ggml type holding the
   * most elements (`F32`).
   */
  fileTypeName: string;
  /** Tensor count per ggml type name, e.g. `{ F32: 3, F16: 9 }`. */
  tensorTypes: Record<string, number>;
  /** `<arch>.context_length` (the training context), if present. */
  contextLength: number | undefined;
  /** `<arch>.embedding_length`, if present. */
  embeddingLength: number | undefined;
  /** `<arch>.block_count`, if present. */
  blockCount: number | undefined;
  /** Length of `tokenizer.ggml.tokens`, if present. */
  vocabSize: number | undefined;
  /** `tokenizer.ggml.model` (e.g. `llama`, `gpt2`), if present. */
  tokenizerModel: string | undefined;
  /** True when `tokenizer.chat_template` is a non-empty string. */
  hasChatTemplate: boolean;
  /** Number of tensors. */
  tensorCount: number;
  /** Bytes of tensor data (without padding). */
  tensorBytes: number;
}

/** The value of metadata `key` when it is a string, else undefined. */
export function ggufString(gguf: GgufFile, key: string): string | undefined {
  const kv = gguf.metadata.get(key);
  return kv && kv.type === GgufType.STRING ? kv.value as string : undefined;
}

/** The value of metadata `key` when it is a (safe) integer or float scalar, else undefined. */
export function ggufNumber(gguf: GgufFile, key: string): number | undefined {
  const kv = gguf.metadata.get(key);
  if (!kv || kv.type === GgufType.ARRAY) return undefined;
  if (typeof kv.value === "number") return kv.value;
  if (typeof kv.value === "bigint") {
    const n = Number(kv.value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** The items of metadata `key` when it is an array, else undefined. */
export function ggufArray(gguf: GgufFile, key: string): GgufScalar[] | GgufStrings | undefined {
  const kv = gguf.metadata.get(key);
  return kv && kv.type === GgufType.ARRAY ? kv.value : undefined;
}

/** Summarizes a parsed GGUF for the `info` command. */
export function ggufSummary(gguf: GgufFile): GgufSummary {
  const arch = ggufString(gguf, "general.architecture");
  const fileType = ggufNumber(gguf, "general.file_type");
  const tensorTypes: Record<string, number> = {};
  const elementsByType = new Map<number, number>();
  let parameterCount = 0;
  let tensorBytes = 0;
  for (const t of gguf.tensors) {
    const name = ggmlTypeName(t.type);
    tensorTypes[name] = (tensorTypes[name] ?? 0) + 1;
    elementsByType.set(t.type, (elementsByType.get(t.type) ?? 0) + t.elements);
    parameterCount += t.elements;
    tensorBytes += t.byteSize;
  }
  let fileTypeNameValue: string;
  if (fileType !== undefined) {
    fileTypeNameValue = fileTypeName(fileType);
  } else {
    let best = -1;
    let bestCount = -1;
    for (const [type, count] of elementsByType) {
      if (count > bestCount) [best, bestCount] = [type, count];
    }
    fileTypeNameValue = best === -1 ? "unknown" : ggmlTypeName(best);
  }
  const template = ggufString(gguf, "tokenizer.chat_template");
  const prefix = arch ?? "";
  return {
    architecture: arch,
    name: ggufString(gguf, "general.name"),
    version: gguf.version,
    parameterCount,
    fileType,
    fileTypeName: fileTypeNameValue,
    tensorTypes,
    contextLength: arch ? ggufNumber(gguf, `${prefix}.context_length`) : undefined,
    embeddingLength: arch ? ggufNumber(gguf, `${prefix}.embedding_length`) : undefined,
    blockCount: arch ? ggufNumber(gguf, `${prefix}.block_count`) : undefined,
    vocabSize: ggufArray(gguf, "tokenizer.ggml.tokens")?.length,
    tokenizerModel: ggufString(gguf, "tokenizer.ggml.model"),
    hasChatTemplate: template !== undefined && template.length > 0,
    tensorCount: gguf.tensors.length,
    tensorBytes,
  };
}
