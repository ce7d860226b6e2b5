/**
 * ZIP record layouts, constants and checksums shared by the ZIP reader and writer
 * (`zip_reader.ts`, `zip_writer.ts`).
 *
 * Only what a llamafile needs: one disk, methods STORED (0) and DEFLATE (8), ZIP64 (APPNOTE
 * 4.5.3, 4.3.14, 4.3.15), no encryption. All numbers are little-endian; 64-bit fields are
 * JavaScript numbers and must stay below `Number.MAX_SAFE_INTEGER` (8 PiB).
 *
 * @module
 */

/** A ZIP archive is malformed, truncated, unsafe or uses something we do not support. */
export class ZipError extends Error {
  /** Always `"ZipError"`. */
  override name = "ZipError";
}

/** Signature of a local file header (`PK\x03\x04`). */
export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
/** Signature of a central directory file header (`PK\x01\x02`). */
export const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
/** Signature of the end of central directory record (`PK\x05\x06`). */
export const EOCD_SIGNATURE = 0x06054b50;
/** Signature of the ZIP64 end of central directory record (`PK\x06\x06`). */
export const ZIP64_EOCD_SIGNATURE = 0x06064b50;
/** Signature of the ZIP64 end of central directory locator (`PK\x06\x07`). */
export const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;

/** Fixed size of a local file header, before its name and extra field. */
export const LOCAL_HEADER_SIZE = 30;
/** Fixed size of a central directory header, before its name, extra field and comment. */
export const CENTRAL_HEADER_SIZE = 46;
/** Fixed size of the end of central directory record, before its comment. */
export const EOCD_SIZE = 22;
/** Size of a ZIP64 end of central directory record without extensible data. */
export const ZIP64_EOCD_SIZE = 56;
/** Size of the ZIP64 end of central directory locator. */
export const ZIP64_LOCATOR_SIZE = 20;

/** Compression method STORED (no compression). */
export const METHOD_STORE = 0;
/** Compression method DEFLATE (raw RFC 1951 stream). */
export const METHOD_DEFLATE = 8;

/** Extra field id of the ZIP64 extended information field. */
export const EXTRA_ZIP64 = 0x0001;
/** Extra field id of Android zipalign's alignment padding field (u16 alignment, then zeros). */
export const EXTRA_ALIGNMENT = 0xd935;

/** General purpose flag: the entry is encrypted (not supported). */
export const FLAG_ENCRYPTED = 0x0001;
/** General purpose flag: sizes and CRC follow the data in a data descriptor. */
export const FLAG_DATA_DESCRIPTOR = 0x0008;
/** General purpose flag: the name and comment are UTF-8. */
export const FLAG_UTF8 = 0x0800;

/** The largest value of a 16-bit field; in a count field it means "see ZIP64". */
export const MAX_16 = 0xffff;
/** The largest value of a 32-bit field; in a size or offset field it means "see ZIP64". */
export const MAX_32 = 0xffffffff;

/** "Version needed to extract" for STORED entries (1.0). */
export const VERSION_STORE = 10;
/** "Version needed to extract" for DEFLATE entries (2.0). */
export const VERSION_DEFLATE = 20;
/** "Version needed to extract" for entries or archives that use ZIP64 (4.5). */
export const VERSION_ZIP64 = 45;
/** "Version made by" we write: Unix (3) and spec version 4.5, so Unix modes are honoured. */
export const VERSION_MADE_BY = (3 << 8) | VERSION_ZIP64;

/** The fixed MS-DOS date we write (1980-01-01), so that archives are reproducible. */
export const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** The fixed MS-DOS time we write (00:00:00). */
export const DOS_TIME = 0;

/** Unix file type bits of a regular file (`S_IFREG`), stored in the external attributes. */
export const S_IFREG = 0o100000;

const _MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), slice-by-16.

const _POLY = 0xedb88320;
// The tables are built on first use, not when the module loads, and a few bytes are checked
// without one: a warm start, which reads only the archive's directory and `.args`, builds none.
let _crcTable: Int32Array | null = null;

/** The slice-by-16 table: `[k * 256 + n]` is the CRC of byte `n` followed by `k` zero bytes. */
function _crcTable16(): Int32Array {
  if (_crcTable !== null) return _crcTable;
  const table = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? _POLY ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = table[n]!;
    for (let k = 1; k < 16; k++) {
      c = table[c & 0xff]! ^ (c >>> 8);
      table[k * 256 + n] = c;
    }
  }
  return _crcTable = table;
}

/** Inputs up to this many bytes are checked bit by bit while the table is not built. */
const _BITWISE_MAX = 64;

/** The CRC-32 of a few bytes without a table (8 steps a byte; `.args` is tens of bytes). */
function _crc32Bitwise(bytes: Uint8Array, crc: number): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? _POLY ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

const _LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Updates a CRC-32 with more bytes: `crc32(b, crc32(a)) === crc32(a ++ b)`.
 *
 * Table-driven, 16 bytes per step (about 2 GB/s in V8).
 *
 * @param bytes The bytes to add.
 * @param crc The CRC-32 of everything before `bytes` (0 for the start).
 * @returns The CRC-32 as an unsigned 32-bit number.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (_crcTable === null && bytes.length <= _BITWISE_MAX) return _crc32Bitwise(bytes, crc);
  const t = _crcTable16();
  let c = ~crc;
  let i = 0;
  const n = bytes.length;
  if (_LITTLE_ENDIAN) {
    while (i < n && ((bytes.byteOffset + i) & 3) !== 0) {
      c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
      i++;
    }
    const blocks = (n - i) >>> 4;
    const words = blocks > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + i, blocks * 4) : [];
    for (let w = 0; w < words.length; w += 4) {
      const a = c ^ words[w]!;
      const b = words[w + 1]!;
      const d = words[w + 2]!;
      const e = words[w + 3]!;
      c = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
        t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^
        t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
        t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^
        t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
    i += blocks * 16;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Multiplies two polynomials modulo the CRC polynomial (reflected bit order). */
function _multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ _POLY : b >>> 1;
  }
  return p >>> 0;
}

let _x2n: number[] | null = null;

/** `_x2nTable()[k]` is x^(2^k) modulo the CRC polynomial (built on first use). */
function _x2nTable(): number[] {
  if (_x2n !== null) return _x2n;
  const table = new Array<number>(64);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let k = 1; k < 64; k++) table[k] = p = _multModP(p, p);
  return _x2n = table;
}

/** x^(n * 2^k) modulo the CRC polynomial, for any safe integer n. */
function _x2nModP(n: number, k: number): number {
  const x2n = _x2nTable();
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = _multModP(x2n[k & 63]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * The CRC-32 of `data ++ zeros(length)` given the CRC-32 of `data`, in O(log length)
 * (zlib's `crc32_combine` arithmetic): the CRC of gigabytes of zeros costs microseconds.
 *
 * @param crc The CRC-32 of the bytes before the zeros.
 * @param length How many zero bytes follow.
 */
export function crc32ZeroExtend(crc: number, length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot extend CRC-32 by ${length} bytes: length must be a non-negative safe integer`,
    );
  }
  if (length === 0) return crc >>> 0;
  return ~_multModP(_x2nModP(length, 3), ~crc >>> 0) >>> 0;
}

/**
 * The CRC-32 of `a ++ b` from `crc32(a)`, `crc32(b)` and the length of `b`.
 *
 * @param crcA CRC-32 of the first part.
 * @param crcB CRC-32 of the second part.
 * @param lengthB Length in bytes of the second part.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) {
    throw new RangeError(
      `Cannot combine CRC-32: length ${lengthB} must be a non-negative safe integer`,
    );
  }
  return (_multModP(_x2nModP(lengthB, 3), crcA >>> 0) ^ crcB) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Little-endian field access.

/** Reads an unsigned 64-bit little-endian field as a number, or null when it is not safe. */
export function readU64(view: DataView, offset: number): number | null {
  const value = view.getBigUint64(offset, true);
  return value > BigInt(_MAX_SAFE) ? null : Number(value);
}

/** Writes a number as an unsigned 64-bit little-endian field. */
export function writeU64(view: DataView, offset: number, value: number): void {
  view.setBigUint64(offset, BigInt(value), true);
}

/** A `DataView` over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Extra fields.

/** One field of an extra block: a 16-bit id and its data. */
export interface ExtraField {
  /** Header id (e.g. `0x0001` for ZIP64). */
  id: number;
  /** The field's data, without the 4-byte id/size header. */
  data: Uint8Array;
}

/**
 * Splits an extra block into its fields.
 *
 * @returns The fields, or null when a field's declared size runs past the end of the block.
 *   Up to three trailing bytes (too short for a field header; some aligners pad with zeros)
 *   are ignored.
 */
export function parseExtra(extra: Uint8Array): ExtraField[] | null {
  const fields: ExtraField[] = [];
  const view = viewOf(extra);
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (at + 4 + size > extra.length) return null;
    fields.push({ id, data: extra.subarray(at + 4, at + 4 + size) });
    at += 4 + size;
  }
  return fields;
}

/** Joins extra fields into one extra block. */
export function encodeExtra(fields: readonly ExtraField[]): Uint8Array {
  let length = 0;
  for (const field of fields) length += 4 + field.data.length;
  const out = new Uint8Array(length);
  const view = viewOf(out);
  let at = 0;
  for (const field of fields) {
    view.setUint16(at, field.id, true);
    view.setUint16(at + 2, field.data.length, true);
    out.set(field.data, at + 4);
    at += 4 + field.data.length;
  }
  return out;
}

/** Encodes ZIP64 extended information data from the values that overflow their fields. */
export function encodeZip64Data(values: readonly number[]): Uint8Array {
  const data = new Uint8Array(values.length * 8);
  const view = viewOf(data);
  values.forEach((value, i) => writeU64(view, i * 8, value));
  return data;
}

/**
 * Builds an alignment padding field (id {@linkcode EXTRA_ALIGNMENT}) of exactly `totalSize`
 * bytes, header included. Its data is the alignment as a u16 (0 when it does not fit, e.g.
 * 65536) followed by zeros.
 */
export function alignmentField(alignment: number, totalSize: number): ExtraField {
  if (totalSize < 6 || totalSize > 4 + MAX_16) {
    throw new RangeError(
      `Cannot build an alignment field of ${totalSize} bytes: size must be between 6 and 65539`,
    );
  }
  const data = new Uint8Array(totalSize - 4);
  viewOf(data).setUint16(0, alignment <= MAX_16 ? alignment : 0, true);
  return { id: EXTRA_ALIGNMENT, data };
}

// ---------------------------------------------------------------------------------------------
// Records.

/** The fields of a local file header (APPNOTE 4.3.7). */
export interface LocalHeader {
  /** "Version needed to extract". */
  versionNeeded: number;
  /** General purpose bit flags. */
  flags: number;
  /** Compression method (0 STORED, 8 DEFLATE). */
  method: number;
  /** MS-DOS modification time. */
  dosTime: number;
  /** MS-DOS modification date. */
  dosDate: number;
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** Raw 32-bit field (`MAX_32` when the ZIP64 extra field holds the value). */
  compressedSize32: number;
  /** Raw 32-bit field (`MAX_32` when the ZIP64 extra field holds the value). */
  size32: number;
  /** The entry name as stored. */
  name: Uint8Array;
  /** The extra field block. */
  extra: Uint8Array;
}

/** Encodes a local file header with its name and extra field. */
export function encodeLocalHeader(h: LocalHeader): Uint8Array {
  const out = new Uint8Array(LOCAL_HEADER_SIZE + h.name.length + h.extra.length);
  const view = viewOf(out);
  view.setUint32(0, LOCAL_HEADER_SIGNATURE, true);
  view.setUint16(4, h.versionNeeded, true);
  view.setUint16(6, h.flags, true);
  view.setUint16(8, h.method, true);
  view.setUint16(10, h.dosTime, true);
  view.setUint16(12, h.dosDate, true);
  view.setUint32(14, h.crc32, true);
  view.setUint32(18, h.compressedSize32, true);
  view.setUint32(22, h.size32, true);
  view.setUint16(26, h.name.length, true);
  view.setUint16(28, h.extra.length, true);
  out.set(h.name, LOCAL_HEADER_SIZE);
  out.set(h.extra, LOCAL_HEADER_SIZE + h.name.length);
  return out;
}

/** The fields of a central directory file header (APPNOTE 4.3.12), 64-bit values resolved. */
export interface CentralHeader {
  /** "Version made by" (high byte: host system, 3 = Unix). */
  versionMadeBy: number;
  /** "Version needed to extract". */
  versionNeeded: number;
  /** General purpose bit flags. */
  flags: number;
  /** Compression method (0 STORED, 8 DEFLATE). */
  method: number;
  /** MS-DOS modification time. */
  dosTime: number;
  /** MS-DOS modification date. */
  dosDate: number;
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** Size of the stored data. */
  compressedSize: number;
  /** Size of the uncompressed data. */
  size: number;
  /** Internal file attributes. */
  internalAttributes: number;
  /** External file attributes (Unix mode in the high 16 bits). */
  externalAttributes: number;
  /** Offset of the local header as stored (relative to the archive start). */
  localHeaderOffset: number;
  /** The entry name as stored. */
  name: Uint8Array;
  /** Extra fields other than ZIP64 (which is derived from the values on encoding). */
  extra: Uint8Array;
  /** The entry comment as stored. */
  comment: Uint8Array;
}

/**
 * Encodes a central directory header. Sizes and the offset that do not fit in 32 bits (or all
 * of them when `forceZip64`) go to a ZIP64 extra field placed first in the extra block.
 */
export function encodeCentralHeader(h: CentralHeader, forceZip64 = false): Uint8Array {
  const big = (value: number) => forceZip64 || value >= MAX_32;
  const zip64: number[] = [];
  if (big(h.size)) zip64.push(h.size);
  if (big(h.compressedSize)) zip64.push(h.compressedSize);
  if (big(h.localHeaderOffset)) zip64.push(h.localHeaderOffset);
  const extra = zip64.length > 0
    ? concatBytes([encodeExtra([{ id: EXTRA_ZIP64, data: encodeZip64Data(zip64) }]), h.extra])
    : h.extra;
  if (h.name.length > MAX_16 || extra.length > MAX_16 || h.comment.length > MAX_16) {
    throw new RangeError(
      "Cannot encode a central directory header: a name, extra field or comment exceeds 65535 bytes",
    );
  }
  const versionNeeded = zip64.length > 0
    ? Math.max(h.versionNeeded, VERSION_ZIP64)
    : h.versionNeeded;
  const out = new Uint8Array(CENTRAL_HEADER_SIZE + h.name.length + extra.length + h.comment.length);
  const view = viewOf(out);
  view.setUint32(0, CENTRAL_HEADER_SIGNATURE, true);
  view.setUint16(4, h.versionMadeBy, true);
  view.setUint16(6, versionNeeded, true);
  view.setUint16(8, h.flags, true);
  view.setUint16(10, h.method, true);
  view.setUint16(12, h.dosTime, true);
  view.setUint16(14, h.dosDate, true);
  view.setUint32(16, h.crc32, true);
  view.setUint32(20, big(h.compressedSize) ? MAX_32 : h.compressedSize, true);
  view.setUint32(24, big(h.size) ? MAX_32 : h.size, true);
  view.setUint16(28, h.name.length, true);
  view.setUint16(30, extra.length, true);
  view.setUint16(32, h.comment.length, true);
  view.setUint16(34, 0, true); // disk number start
  view.setUint16(36, h.internalAttributes, true);
  view.setUint32(38, h.externalAttributes >>> 0, true);
  view.setUint32(42, big(h.localHeaderOffset) ? MAX_32 : h.localHeaderOffset, true);
  let at = CENTRAL_HEADER_SIZE;
  out.set(h.name, at);
  out.set(extra, at += h.name.length);
  out.set(h.comment, at + extra.length);
  return out;
}

/** The values of an end of central directory (ZIP64 or not), as written. */
export interface DirectoryEnd {
  /** Number of entries. */
  count: number;
  /** Size of the central directory in bytes. */
  size: number;
  /** Offset of the central directory (relative to the archive start). */
  offset: number;
  /** Archive comment. */
  comment: Uint8Array;
}

/**
 * Encodes the end of the archive: a ZIP64 end of central directory record and locator when a
 * value overflows (or `forceZip64`), then the classic end record.
 *
 * @param end The directory's count, size and offset, and the archive comment.
 * @param position Where the returned bytes start (the ZIP64 record's offset), relative to the
 *   archive start.
 */
export function encodeDirectoryEnd(
  end: DirectoryEnd,
  position: number,
  forceZip64 = false,
): Uint8Array {
  if (end.comment.length > MAX_16) {
    throw new RangeError(
      `Cannot encode an archive comment of ${end.comment.length} bytes: the limit is 65535`,
    );
  }
  const zip64 = forceZip64 || end.count >= MAX_16 || end.size >= MAX_32 || end.offset >= MAX_32;
  const parts: Uint8Array[] = [];
  if (zip64) {
    const record = new Uint8Array(ZIP64_EOCD_SIZE);
    const view = viewOf(record);
    view.setUint32(0, ZIP64_EOCD_SIGNATURE, true);
    writeU64(view, 4, ZIP64_EOCD_SIZE - 12);
    view.setUint16(12, VERSION_MADE_BY, true);
    view.setUint16(14, VERSION_ZIP64, true);
    view.setUint32(16, 0, true); // this disk
    view.setUint32(20, 0, true); // disk with the central directory
    writeU64(view, 24, end.count);
    writeU64(view, 32, end.count);
    writeU64(view, 40, end.size);
    writeU64(view, 48, end.offset);
    const locator = new Uint8Array(ZIP64_LOCATOR_SIZE);
    const lview = viewOf(locator);
    lview.setUint32(0, ZIP64_LOCATOR_SIGNATURE, true);
    lview.setUint32(4, 0, true);
    writeU64(lview, 8, position);
    lview.setUint32(16, 1, true);
    parts.push(record, locator);
  }
  const eocd = new Uint8Array(EOCD_SIZE + end.comment.length);
  const view = viewOf(eocd);
  // Like Python's zipfile: a value that fits is written as is, one that does not (or every one
  // under `forceZip64`) as the "see ZIP64" sentinel.
  const count = forceZip64 || end.count >= MAX_16 ? MAX_16 : end.count;
  view.setUint32(0, EOCD_SIGNATURE, true);
  view.setUint16(4, 0, true);
  view.setUint16(6, 0, true);
  view.setUint16(8, count, true);
  view.setUint16(10, count, true);
  view.setUint32(12, forceZip64 || end.size >= MAX_32 ? MAX_32 : end.size, true);
  view.setUint32(16, forceZip64 || end.offset >= MAX_32 ? MAX_32 : end.offset, true);
  view.setUint16(20, end.comment.length, true);
  eocd.set(end.comment, EOCD_SIZE);
  parts.push(eocd);
  return concatBytes(parts);
}

// ---------------------------------------------------------------------------------------------
// Decoding: the raw fields of each record, beside its encoder. Checks of meaning (sizes that
// fit, offsets inside the file) are the reader's.

/** The fields of an end of central directory record (APPNOTE 4.3.16), as stored. */
export interface RawDirectoryEnd {
  disk: number;
  directoryDisk: number;
  countOnDisk: number;
  count: number;
  size: number;
  offset: number;
  commentLength: number;
}

/**
 * Where the end of central directory record is in `tail` (the last bytes of a file): the last
 * signature whose comment reaches exactly the end, or -1.
 */
export function findDirectoryEnd(tail: Uint8Array): number {
  const view = viewOf(tail);
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (
      tail[i] === 0x50 && view.getUint32(i, true) === EOCD_SIGNATURE &&
      i + EOCD_SIZE + view.getUint16(i + 20, true) === tail.length
    ) {
      return i;
    }
  }
  return -1;
}

/** Decodes the end of central directory record at the start of `bytes`. */
export function decodeDirectoryEnd(bytes: Uint8Array): RawDirectoryEnd {
  const view = viewOf(bytes);
  return {
    disk: view.getUint16(4, true),
    directoryDisk: view.getUint16(6, true),
    countOnDisk: view.getUint16(8, true),
    count: view.getUint16(10, true),
    size: view.getUint32(12, true),
    offset: view.getUint32(16, true),
    commentLength: view.getUint16(20, true),
  };
}

/** The fields of a ZIP64 end of central directory locator (APPNOTE 4.3.15). */
export interface Zip64Locator {
  /** Disk holding the ZIP64 record. */
  disk: number;
  /** Stated offset of the ZIP64 record, or `null` beyond 2^53. */
  recordOffset: number | null;
  /** Total number of disks. */
  disks: number;
}

/** Decodes a ZIP64 locator, or `null` when `bytes` do not start with its signature. */
export function decodeZip64Locator(bytes: Uint8Array): Zip64Locator | null {
  const view = viewOf(bytes);
  if (view.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) return null;
  return {
    disk: view.getUint32(4, true),
    recordOffset: readU64(view, 8),
    disks: view.getUint32(16, true),
  };
}

/** The fields of a ZIP64 end of central directory record (APPNOTE 4.3.14); `null` beyond 2^53. */
export interface Zip64DirectoryEnd {
  disk: number;
  directoryDisk: number;
  countOnDisk: number | null;
  count: number | null;
  size: number | null;
  offset: number | null;
}

/** Decodes a ZIP64 end record, or `null` when `bytes` do not start with its signature. */
export function decodeZip64DirectoryEnd(bytes: Uint8Array): Zip64DirectoryEnd | null {
  const view = viewOf(bytes);
  if (view.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) return null;
  return {
    disk: view.getUint32(16, true),
    directoryDisk: view.getUint32(20, true),
    countOnDisk: readU64(view, 24),
    count: readU64(view, 32),
    size: readU64(view, 40),
    offset: readU64(view, 48),
  };
}

/** The fixed fields of a central directory header, 32-bit values as stored. */
export interface RawCentralHeader {
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  crc32: number;
  /** `MAX_32` when the ZIP64 extra field holds the value. */
  compressedSize32: number;
  /** `MAX_32` when the ZIP64 extra field holds the value. */
  size32: number;
  nameLength: number;
  extraLength: number;
  commentLength: number;
  /** `MAX_16` when the ZIP64 extra field holds the value. */
  diskStart16: number;
  internalAttributes: number;
  externalAttributes: number;
  /** `MAX_32` when the ZIP64 extra field holds the value. */
  localHeaderOffset32: number;
}

/**
 * Decodes the fixed part of the central directory header at `at` in `directory`, or `null`
 * when its signature is wrong (the caller checks that 46 bytes are there).
 */
export function decodeCentralHeader(directory: Uint8Array, at: number): RawCentralHeader | null {
  const view = viewOf(directory);
  if (view.getUint32(at, true) !== CENTRAL_HEADER_SIGNATURE) return null;
  return {
    versionMadeBy: view.getUint16(at + 4, true),
    versionNeeded: view.getUint16(at + 6, true),
    flags: view.getUint16(at + 8, true),
    method: view.getUint16(at + 10, true),
    dosTime: view.getUint16(at + 12, true),
    dosDate: view.getUint16(at + 14, true),
    crc32: view.getUint32(at + 16, true),
    compressedSize32: view.getUint32(at + 20, true),
    size32: view.getUint32(at + 24, true),
    nameLength: view.getUint16(at + 28, true),
    extraLength: view.getUint16(at + 30, true),
    commentLength: view.getUint16(at + 32, true),
    diskStart16: view.getUint16(at + 34, true),
    internalAttributes: view.getUint16(at + 36, true),
    externalAttributes: view.getUint32(at + 38, true),
    localHeaderOffset32: view.getUint32(at + 42, true),
  };
}

/**
 * The 64-bit values a ZIP64 extra field holds for the 32-bit fields that overflowed, in the
 * order APPNOTE 4.5.3 gives (size, compressed size, local header offset, disk start).
 *
 * @returns The values, or why the field cannot hold them.
 */
export function readZip64Values(
  data: Uint8Array,
  wanted: { size: boolean; compressedSize: boolean; localHeaderOffset: boolean; disk: boolean },
):
  | { size?: number; compressedSize?: number; localHeaderOffset?: number; disk?: number }
  | "too short"
  | "beyond 2^53" {
  const view = viewOf(data);
  const out: { size?: number; compressedSize?: number; localHeaderOffset?: number; disk?: number } =
    {};
  let at = 0;
  for (const key of ["size", "compressedSize", "localHeaderOffset"] as const) {
    if (!wanted[key]) continue;
    if (at + 8 > data.length) return "too short";
    const value = readU64(view, at);
    if (value === null) return "beyond 2^53";
    out[key] = value;
    at += 8;
  }
  if (wanted.disk) {
    if (at + 4 > data.length) return "too short";
    out.disk = view.getUint32(at, true);
  }
  return out;
}

/** The name and extra lengths of a local file header, or `null` when its signature is wrong. */
export function decodeLocalHeader(
  bytes: Uint8Array,
): { nameLength: number; extraLength: number } | null {
  const view = viewOf(bytes);
  if (view.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) return null;
  return { nameLength: view.getUint16(26, true), extraLength: view.getUint16(28, true) };
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names.

/**
 * Why an entry name is unsafe or unusable, or null when it is fine. Names are relative,
 * `/`-separated paths: no empty name, NUL, backslash, absolute path, drive letter, or `.` /
 * `..` segment.
 */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return "name is empty";
  if (name.includes("\0")) return "name contains a NUL character";
  if (name.includes("\\")) return "name contains a backslash";
  if (name.startsWith("/")) return "name is an absolute path";
  if (/^[A-Za-z]:/.test(name)) return "name starts with a drive letter";
  const segments = name.endsWith("/") ? name.slice(0, -1).split("/") : name.split("/");
  for (const segment of segments) {
    if (segment === "..") return 'name contains a ".." segment';
    if (segment === ".") return 'name contains a "." segment';
    if (segment === "") return "name contains an empty segment";
  }
  return null;
}

/** The largest power of two that divides `offset` (1 for odd offsets, capped at 2^30). */
export function alignmentOf(offset: number): number {
  let alignment = 1;
  while (alignment < 2 ** 30 && offset % (alignment * 2) === 0) alignment *= 2;
  return alignment;
}

// ---------------------------------------------------------------------------------------------
// SHA-256 manifest.

/** Default name of the SHA-256 manifest entry. */
export const MANIFEST_NAME = ".manifest.sha256";

/**
 * Formats a SHA-256 manifest like `sha256sum` output: one `<hex>  <name>` line per entry,
 * sorted by name (UTF-16 code unit order), each ending with a newline.
 */
export function formatManifest(hashes: ReadonlyMap<string, string>): string {
  const names = [...hashes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => `${hashes.get(name)}  ${name}\n`).join("");
}

/**
 * Parses a SHA-256 manifest made by {@linkcode formatManifest} (or `sha256sum`).
 *
 * @returns Lower-case hex digests by entry name.
 * @throws {SyntaxError} On a line that is not `<64 hex digits>  <name>`.
 */
export function parseManifest(text: string): Map<string, string> {
  const hashes = new Map<string, string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, index) => {
    const match = /^([0-9a-fA-F]{64}) {2}(.+)$/.exec(line);
    if (match === null) {
      throw new SyntaxError(
        `Cannot parse SHA-256 manifest: line ${index + 1} is not "<hex>  <name>"`,
      );
    }
    hashes.set(match[2]!, match[1]!.toLowerCase());
  });
  return hashes;
}
