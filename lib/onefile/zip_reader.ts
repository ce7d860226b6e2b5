/**
 * A bounded ZIP reader for llamafiles: finds the archive from the end of a file (so a shell
 * script or any other prefix may come first), lists the entries with the absolute offsets of
 * their data, and extracts one entry to memory or to a file, checking its CRC-32.
 *
 * It reads only what it needs: the tail of the file, the central directory and each entry's
 * local header; never a whole file. Anything malformed (truncated file, corrupt or oversized
 * directory, offsets outside the file, overlapping entries, unsafe names such as `../x` or
 * `/etc/x`) throws a {@linkcode ZipError} with one sentence saying what is wrong.
 *
 * Supported: one disk, STORED and DEFLATE, ZIP64, UTF-8 names, archive comments, central
 * directory offsets that are absolute (self-extracting style) or relative to a prefix the
 * writer did not know about (like `cat script.sh archive.zip`), as Info-ZIP `unzip` accepts.
 *
 * @example List a llamafile and read its `.args`
 * ```ts ignore
 * import { readEntryBytes, readZipEntries } from "./zip_reader.ts";
 * const entries = await readZipEntries("model.llamafile");
 * const args = entries.find((e) => e.name === ".args");
 * if (args) console.log(new TextDecoder().decode(await readEntryBytes("model.llamafile", args)));
 * const weights = entries.find((e) => e.name.endsWith(".gguf"));
 * console.log(weights?.dataOffset, weights?.alignment); // e.g. 65536 65536
 * ```
 *
 * @module
 */

import {
  alignmentOf,
  CENTRAL_HEADER_SIGNATURE,
  CENTRAL_HEADER_SIZE,
  crc32,
  encodeExtra,
  EOCD_SIGNATURE,
  EOCD_SIZE,
  EXTRA_ZIP64,
  FLAG_ENCRYPTED,
  FLAG_UTF8,
  LOCAL_HEADER_SIGNATURE,
  LOCAL_HEADER_SIZE,
  MAX_16,
  MAX_32,
  METHOD_DEFLATE,
  METHOD_STORE,
  parseExtra,
  readU64,
  unsafeNameReason,
  viewOf,
  ZIP64_EOCD_SIGNATURE,
  ZIP64_EOCD_SIZE,
  ZIP64_LOCATOR_SIGNATURE,
  ZIP64_LOCATOR_SIZE,
  ZipError,
} from "./zip_format.ts";

export { ZipError } from "./zip_format.ts";

/** One entry of a ZIP archive, as listed by its central directory and local header. */
export interface ZipEntry {
  /** Path inside the archive (`/`-separated, relative, checked safe). */
  name: string;
  /** Compression method: 0 STORED, 8 DEFLATE (others are listed but cannot be extracted). */
  method: number;
  /** Size of the stored data in bytes. */
  compressedSize: number;
  /** Size of the uncompressed data in bytes. */
  size: number;
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** Absolute file offset of the entry's local header. */
  localHeaderOffset: number;
  /**
   * Absolute file offset of the entry's data: local header offset + 30 + the LOCAL name
   * length + the LOCAL extra length (read from the local header, which may differ from the
   * central directory's extra). For a STORED entry the bytes there are the file itself: this
   * is where a llamafile's weights are mapped from.
   */
  dataOffset: number;
  /** The largest power of two (up to 2^30) that divides `dataOffset`, e.g. 65536 for weights. */
  alignment: number;
  /** Unix permission bits when the entry was made on Unix and carries them, else null. */
  mode: number | null;
  /** The name ends with `/`. */
  isDirectory: boolean;
  /** General purpose bit flags. */
  flags: number;
  /** "Version made by" field of the central directory header. */
  versionMadeBy: number;
  /** "Version needed to extract" field of the central directory header. */
  versionNeeded: number;
  /** MS-DOS modification time field. */
  dosTime: number;
  /** MS-DOS modification date field. */
  dosDate: number;
  /** Internal file attributes field. */
  internalAttributes: number;
  /** External file attributes field (Unix mode in the high 16 bits when made on Unix). */
  externalAttributes: number;
  /** The name as stored. */
  rawName: Uint8Array;
  /** The central directory extra fields other than ZIP64. */
  extra: Uint8Array;
  /** The entry comment as stored. */
  comment: Uint8Array;
}

/** The central directory of an archive and where it lies. */
export interface ZipDirectory {
  /** Entries in central directory order. */
  entries: ZipEntry[];
  /** Size of the file holding the archive. */
  fileSize: number;
  /** Absolute file offset of the central directory. */
  centralDirectoryOffset: number;
  /** Size of the central directory in bytes. */
  centralDirectorySize: number;
  /**
   * What was added to the stored offsets to make them absolute: 0 when the archive's offsets
   * are absolute (as we write them), the prefix length when a prefix was added afterwards.
   */
  offsetBase: number;
  /** The archive has a ZIP64 end of central directory record. */
  zip64: boolean;
  /** The archive comment as stored. */
  comment: Uint8Array;
}

/** Options of {@linkcode readEntryBytes}. */
export interface ReadEntryBytesOptions {
  /** Refuse entries larger than this many bytes (default 1 GiB). */
  maxSize?: number;
}

/** Options of {@linkcode extractEntry}. */
export interface ExtractEntryOptions {
  /** Permission bits of a created file (default: the entry's Unix mode, else 0o644). */
  mode?: number;
}

/** Central directories larger than this are refused (about 10 million entries). */
const _MAX_DIRECTORY_SIZE = 1 << 30;
/** Read size when streaming entry data. */
const _CHUNK = 4 << 20;

/** An archive: a path, or an open file (whose position the read functions move). */
export type ZipSource = Deno.FsFile | string;

/** Builds the `Cannot read archive "x": why` error. */
function _error(label: string | null, why: string, options?: ErrorOptions): ZipError {
  return new ZipError(
    label === null ? `Cannot read archive: ${why}` : `Cannot read archive ${label}: ${why}`,
    options,
  );
}

/** Opens `source` when it is a path, runs `fn`, and closes what it opened. */
async function _withFile<T>(
  source: ZipSource,
  fn: (file: Deno.FsFile, label: string | null) => Promise<T>,
): Promise<T> {
  if (typeof source !== "string") return await fn(source, null);
  const label = JSON.stringify(source);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(source, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw _error(label, "file not found", { cause: error });
    }
    throw error;
  }
  try {
    return await fn(file, label);
  } finally {
    file.close();
  }
}

/** Reads exactly `length` bytes at `position`, or throws "`what` is truncated". */
async function _readAt(
  file: Deno.FsFile,
  position: number,
  length: number,
  label: string | null,
  what: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(length);
  await file.seek(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < length) {
    const n = await file.read(out.subarray(done));
    if (n === null) throw _error(label, `${what} is truncated`);
    done += n;
  }
  return out;
}

/** Serves small reads (local headers) from one cached window of the file. */
class _Window {
  #file: Deno.FsFile;
  #fileSize: number;
  #label: string | null;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  constructor(file: Deno.FsFile, fileSize: number, label: string | null) {
    this.#file = file;
    this.#fileSize = fileSize;
    this.#label = label;
  }

  async get(position: number, length: number, what: string): Promise<Uint8Array> {
    if (position + length > this.#fileSize) throw _error(this.#label, `${what} is truncated`);
    const end = this.#start + this.#bytes.length;
    if (position < this.#start || position + length > end) {
      this.#start = position;
      const size = Math.min(Math.max(length, 64 * 1024), this.#fileSize - position);
      this.#bytes = await _readAt(this.#file, position, size, this.#label, what);
    }
    return this.#bytes.subarray(position - this.#start, position - this.#start + length);
  }
}

const _utf8 = new TextDecoder("utf-8", { fatal: true });
const _latin1 = new TextDecoder("latin1");

/** Decodes an entry name: UTF-8 when flagged or valid, else byte-per-character. */
function _decodeName(raw: Uint8Array, flags: number): string | null {
  try {
    return _utf8.decode(raw);
  } catch {
    return flags & FLAG_UTF8 ? null : _latin1.decode(raw);
  }
}

/**
 * Reads the central directory of the archive at the end of `source` (a path or an open file;
 * an open file's position is moved, and it is not closed).
 *
 * @throws {ZipError} When the archive is missing, truncated, corrupt or unsafe.
 */
export async function readZipDirectory(source: ZipSource): Promise<ZipDirectory> {
  return await _withFile(source, (file, label) => _readDirectory(file, label));
}

/**
 * Lists the entries of the archive at the end of `source` (a path or an open file), in
 * central directory order. See {@linkcode ZipEntry} for what each holds.
 *
 * @throws {ZipError} When the archive is missing, truncated, corrupt or unsafe.
 */
export async function readZipEntries(source: ZipSource): Promise<ZipEntry[]> {
  return (await readZipDirectory(source)).entries;
}

async function _readDirectory(file: Deno.FsFile, label: string | null): Promise<ZipDirectory> {
  const fail = (why: string) => _error(label, why);
  const fileSize = (await file.stat()).size;
  if (fileSize < EOCD_SIZE) throw fail(`file is too small to be a ZIP archive (${fileSize} bytes)`);

  // End of central directory record: the last signature whose comment reaches the file end.
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_16);
  const tailStart = fileSize - tailLength;
  const tail = await _readAt(file, tailStart, tailLength, label, "file");
  const tailView = viewOf(tail);
  let eocdAt = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (
      tail[i] === 0x50 && tailView.getUint32(i, true) === EOCD_SIGNATURE &&
      i + EOCD_SIZE + tailView.getUint16(i + 20, true) === tailLength
    ) {
      eocdAt = i;
      break;
    }
  }
  if (eocdAt < 0) {
    throw fail("end of central directory record not found (not a ZIP archive, or truncated)");
  }
  const eocdOffset = tailStart + eocdAt;
  const disk = tailView.getUint16(eocdAt + 4, true);
  const directoryDisk = tailView.getUint16(eocdAt + 6, true);
  let countOnDisk = tailView.getUint16(eocdAt + 8, true);
  let count = tailView.getUint16(eocdAt + 10, true);
  let directorySize = tailView.getUint32(eocdAt + 12, true);
  let directoryOffset = tailView.getUint32(eocdAt + 16, true);
  const comment = tail.slice(eocdAt + EOCD_SIZE);

  // ZIP64 locator right before the end record, then the ZIP64 end record it points to.
  let endOffset = eocdOffset;
  let zip64 = false;
  if (eocdOffset >= ZIP64_LOCATOR_SIZE + ZIP64_EOCD_SIZE) {
    const locatorOffset = eocdOffset - ZIP64_LOCATOR_SIZE;
    const locator = await _readAt(file, locatorOffset, ZIP64_LOCATOR_SIZE, label, "ZIP64 locator");
    const lview = viewOf(locator);
    if (lview.getUint32(0, true) === ZIP64_LOCATOR_SIGNATURE) {
      zip64 = true;
      if (lview.getUint32(4, true) !== 0 || lview.getUint32(16, true) > 1) {
        throw fail("multi-disk archives are not supported");
      }
      const stated = readU64(lview, 8);
      // The stated offset is relative to the archive start; with an unknown prefix it is off
      // by the prefix length, and the record (without extensible data) sits right before.
      const candidates = [stated, locatorOffset - ZIP64_EOCD_SIZE];
      let record: DataView | null = null;
      for (const at of candidates) {
        if (at === null || at < 0 || at + ZIP64_EOCD_SIZE > locatorOffset) continue;
        const bytes = await _readAt(
          file,
          at,
          ZIP64_EOCD_SIZE,
          label,
          "ZIP64 end of central directory record",
        );
        const view = viewOf(bytes);
        if (view.getUint32(0, true) === ZIP64_EOCD_SIGNATURE) {
          record = view;
          endOffset = at;
          break;
        }
      }
      if (record === null) {
        throw fail("ZIP64 end of central directory record not found where its locator points");
      }
      if (record.getUint32(16, true) !== 0 || record.getUint32(20, true) !== 0) {
        throw fail("multi-disk archives are not supported");
      }
      const value = (at: number): number => {
        const v = readU64(record!, at);
        if (v === null) {
          throw fail("ZIP64 end of central directory record holds values beyond 2^53");
        }
        return v;
      };
      countOnDisk = value(24);
      count = value(32);
      directorySize = value(40);
      directoryOffset = value(48);
    }
  }
  if (!zip64 && (disk !== 0 || directoryDisk !== 0)) {
    throw fail("multi-disk archives are not supported");
  }
  if (countOnDisk !== count) throw fail("multi-disk archives are not supported");

  if (directorySize > endOffset) {
    throw fail(
      `central directory is truncated (${directorySize} bytes declared, ${endOffset} before its end record)`,
    );
  }
  if (directorySize > _MAX_DIRECTORY_SIZE) {
    throw fail(`central directory is too large (${directorySize} bytes)`);
  }
  if (count * CENTRAL_HEADER_SIZE > directorySize) {
    throw fail(
      `central directory is truncated (${count} entries cannot fit in ${directorySize} bytes)`,
    );
  }

  // Where the directory really is: at its stated offset (absolute offsets, as we write), or
  // right before its end record with every offset shifted by an unknown prefix.
  const actualStart = endOffset - directorySize;
  let offsetBase = 0;
  if (directoryOffset !== actualStart) {
    const signatureAt = async (at: number) =>
      at >= 0 && at + 4 <= endOffset &&
      viewOf(await _readAt(file, at, 4, label, "central directory")).getUint32(0, true) ===
        CENTRAL_HEADER_SIGNATURE;
    if (
      count > 0 && directoryOffset + directorySize <= endOffset &&
      await signatureAt(directoryOffset)
    ) {
      offsetBase = 0;
    } else if (directoryOffset < actualStart && (count === 0 || await signatureAt(actualStart))) {
      offsetBase = actualStart - directoryOffset;
    } else if (directoryOffset > actualStart) {
      throw fail(
        `central directory offset ${directoryOffset} is beyond the space before its end record`,
      );
    } else {
      throw fail(`central directory is corrupt: no header signature at offset ${actualStart}`);
    }
  }
  const directoryStart = directoryOffset + offsetBase;
  const directory = await _readAt(file, directoryStart, directorySize, label, "central directory");
  const view = viewOf(directory);

  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + CENTRAL_HEADER_SIZE > directorySize) throw fail("central directory is truncated");
    if (view.getUint32(at, true) !== CENTRAL_HEADER_SIGNATURE) {
      throw fail(
        `central directory is corrupt: bad signature of entry ${index + 1} at offset ${
          directoryStart + at
        }`,
      );
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const recordEnd = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (recordEnd > directorySize) throw fail("central directory is truncated");
    const rawName = directory.subarray(
      at + CENTRAL_HEADER_SIZE,
      at + CENTRAL_HEADER_SIZE + nameLength,
    );
    const flags = view.getUint16(at + 8, true);
    const name = _decodeName(rawName, flags);
    if (name === null) throw fail(`entry ${index + 1} has a name that is not valid UTF-8`);
    const quoted = JSON.stringify(name);
    const unsafe = unsafeNameReason(name);
    if (unsafe !== null) throw fail(`entry name ${quoted} is unsafe: ${unsafe}`);
    if (names.has(name)) throw fail(`entry name ${quoted} appears twice in the central directory`);
    names.add(name);

    const extraBytes = directory.subarray(
      at + CENTRAL_HEADER_SIZE + nameLength,
      at + CENTRAL_HEADER_SIZE + nameLength + extraLength,
    );
    const fields = parseExtra(extraBytes);
    if (fields === null) {
      throw fail(`central directory is corrupt: bad extra field of entry ${quoted}`);
    }
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    let localOffset = view.getUint32(at + 42, true);
    let diskStart = view.getUint16(at + 34, true);
    const zip64Field = fields.find((f) => f.id === EXTRA_ZIP64);
    if (
      size === MAX_32 || compressedSize === MAX_32 || localOffset === MAX_32 || diskStart === MAX_16
    ) {
      if (zip64Field === undefined) {
        throw fail(`central directory is corrupt: entry ${quoted} lacks its ZIP64 extra field`);
      }
      const zview = viewOf(zip64Field.data);
      let z = 0;
      const next = (): number => {
        if (z + 8 > zip64Field.data.length) {
          throw fail(
            `central directory is corrupt: ZIP64 extra field of entry ${quoted} is too short`,
          );
        }
        const value = readU64(zview, z);
        z += 8;
        if (value === null) throw fail(`entry ${quoted} has a size or offset beyond 2^53`);
        return value;
      };
      if (size === MAX_32) size = next();
      if (compressedSize === MAX_32) compressedSize = next();
      if (localOffset === MAX_32) localOffset = next();
      if (diskStart === MAX_16) {
        if (z + 4 > zip64Field.data.length) {
          throw fail(
            `central directory is corrupt: ZIP64 extra field of entry ${quoted} is too short`,
          );
        }
        diskStart = zview.getUint32(z, true);
      }
    }
    if (diskStart !== 0) throw fail("multi-disk archives are not supported");
    const method = view.getUint16(at + 10, true);
    if (method === METHOD_STORE && compressedSize !== size && !(flags & FLAG_ENCRYPTED)) {
      throw fail(
        `stored entry ${quoted} has a compressed size (${compressedSize}) unlike its size (${size})`,
      );
    }
    const localHeaderOffset = localOffset + offsetBase;
    if (localHeaderOffset + LOCAL_HEADER_SIZE > directoryStart) {
      throw fail(
        `entry ${quoted} has a local header offset (${localHeaderOffset}) beyond the archive data`,
      );
    }
    const versionMadeBy = view.getUint16(at + 4, true);
    const externalAttributes = view.getUint32(at + 38, true);
    const unixMode = (externalAttributes >>> 16) & 0o7777;
    entries.push({
      name,
      method,
      compressedSize,
      size,
      crc32: view.getUint32(at + 16, true),
      localHeaderOffset,
      dataOffset: 0,
      alignment: 1,
      mode: versionMadeBy >> 8 === 3 && unixMode !== 0 ? unixMode : null,
      isDirectory: name.endsWith("/"),
      flags,
      versionMadeBy,
      versionNeeded: view.getUint16(at + 6, true),
      dosTime: view.getUint16(at + 12, true),
      dosDate: view.getUint16(at + 14, true),
      internalAttributes: view.getUint16(at + 36, true),
      externalAttributes,
      rawName,
      extra: zip64Field === undefined
        ? extraBytes
        : encodeExtra(fields.filter((f) => f.id !== EXTRA_ZIP64)),
      comment: directory.subarray(recordEnd - commentLength, recordEnd),
    });
    at = recordEnd;
  }
  if (at !== directorySize) {
    throw fail(
      `central directory is corrupt: ${count} entries use ${at} of its ${directorySize} bytes`,
    );
  }

  // Local headers, in file order: the data offset, and no entry overlapping the next one.
  const window = new _Window(file, fileSize, label);
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let previous: ZipEntry | null = null;
  for (const entry of byOffset) {
    const quoted = JSON.stringify(entry.name);
    if (
      previous !== null && previous.dataOffset + previous.compressedSize > entry.localHeaderOffset
    ) {
      throw fail(`entries ${JSON.stringify(previous.name)} and ${quoted} overlap`);
    }
    const what = `local header of entry ${quoted}`;
    const header = viewOf(await window.get(entry.localHeaderOffset, LOCAL_HEADER_SIZE, what));
    if (header.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) {
      throw fail(`${what} is missing at offset ${entry.localHeaderOffset} (bad signature)`);
    }
    const nameLength = header.getUint16(26, true);
    const extraLength = header.getUint16(28, true);
    const localName = await window.get(
      entry.localHeaderOffset + LOCAL_HEADER_SIZE,
      nameLength,
      what,
    );
    if (nameLength !== entry.rawName.length || !localName.every((b, i) => b === entry.rawName[i])) {
      throw fail(`${what} does not match the central directory (different name)`);
    }
    entry.dataOffset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + extraLength;
    entry.alignment = alignmentOf(entry.dataOffset);
    if (entry.dataOffset + entry.compressedSize > directoryStart) {
      throw fail(
        `data of entry ${quoted} (${entry.compressedSize} bytes at offset ${entry.dataOffset}) runs past the archive data`,
      );
    }
    previous = entry;
  }

  return {
    entries,
    fileSize,
    centralDirectoryOffset: directoryStart,
    centralDirectorySize: directorySize,
    offsetBase,
    zip64,
    comment,
  };
}

/**
 * Streams the uncompressed data of `entry` from an open archive file, in chunks of up to
 * 4 MiB, checking the size and CRC-32 at the end (the last step throws on a mismatch, so a
 * consumer must not trust the data before the iteration completes). The file's position is
 * moved; other reads may interleave between chunks.
 *
 * @throws {ZipError} When the entry is encrypted, uses another method, is truncated or corrupt.
 */
export async function* readEntryChunks(
  file: Deno.FsFile,
  entry: ZipEntry,
): AsyncGenerator<Uint8Array> {
  yield* _chunks(file, entry, null);
}

async function* _chunks(
  file: Deno.FsFile,
  entry: ZipEntry,
  label: string | null,
): AsyncGenerator<Uint8Array> {
  const quoted = JSON.stringify(entry.name);
  const fail = (why: string, options?: ErrorOptions) =>
    _error(label, `entry ${quoted} ${why}`, options);
  if (entry.flags & FLAG_ENCRYPTED) throw fail("is encrypted, which is not supported");
  if (entry.method !== METHOD_STORE && entry.method !== METHOD_DEFLATE) {
    throw fail(`uses compression method ${entry.method}, which is not supported`);
  }
  let position = entry.dataOffset;
  const end = entry.dataOffset + entry.compressedSize;
  const readRaw = async (): Promise<Uint8Array<ArrayBuffer> | null> => {
    if (position >= end) return null;
    const length = Math.min(_CHUNK, end - position);
    const bytes = await _readAt(file, position, length, label, `data of entry ${quoted}`);
    position += length;
    return bytes;
  };

  let crc = 0;
  let produced = 0;
  if (entry.method === METHOD_STORE) {
    for (let chunk = await readRaw(); chunk !== null; chunk = await readRaw()) {
      crc = crc32(chunk, crc);
      produced += chunk.length;
      yield chunk;
    }
  } else {
    const raw = new ReadableStream<BufferSource>({
      async pull(controller) {
        const chunk = await readRaw();
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    const reader = raw.pipeThrough(new DecompressionStream("deflate-raw")).getReader();
    let finished = false;
    try {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (error instanceof ZipError) throw error;
          throw fail(`is corrupt: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          });
        }
        if (result.done) break;
        const chunk = result.value;
        produced += chunk.length;
        if (produced > entry.size) {
          throw fail(`is corrupt: it inflates to more than its size (${entry.size} bytes)`);
        }
        crc = crc32(chunk, crc);
        yield chunk;
      }
      finished = true;
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
    }
  }
  if (produced !== entry.size) {
    throw fail(`is corrupt: it holds ${produced} bytes, not ${entry.size}`);
  }
  if (crc !== entry.crc32) {
    throw fail(`is corrupt: CRC-32 ${_hex(crc)} does not match ${_hex(entry.crc32)}`);
  }
}

function _hex(value: number): string {
  return value.toString(16).padStart(8, "0");
}

/**
 * Reads the uncompressed data of one entry into memory (STORED or DEFLATE, CRC-32 checked).
 *
 * @param source The archive (a path, or an open file whose position is moved).
 * @param entry An entry listed from that archive.
 * @throws {RangeError} When the entry is larger than `options.maxSize` (default 1 GiB).
 * @throws {ZipError} When the entry cannot be read or fails its checks.
 */
export async function readEntryBytes(
  source: ZipSource,
  entry: ZipEntry,
  options: ReadEntryBytesOptions = {},
): Promise<Uint8Array> {
  const maxSize = options.maxSize ?? 1 << 30;
  if (entry.size > maxSize) {
    throw new RangeError(
      `Cannot read entry ${
        JSON.stringify(entry.name)
      } into memory: ${entry.size} bytes exceed the limit of ${maxSize}`,
    );
  }
  return await _withFile(source, async (file, label) => {
    const out = new Uint8Array(entry.size);
    let at = 0;
    for await (const chunk of _chunks(file, entry, label)) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  });
}

/**
 * Extracts one entry to `destPath`, streaming (never more than a few MiB in memory), CRC-32
 * checked. On any failure the partly written file is removed.
 *
 * @param source The archive (a path, or an open file whose position is moved).
 * @param entry An entry listed from that archive.
 * @param destPath The file to create or overwrite.
 * @throws {ZipError} When the entry cannot be read or fails its checks.
 */
export async function extractEntry(
  source: ZipSource,
  entry: ZipEntry,
  destPath: string,
  options: ExtractEntryOptions = {},
): Promise<void> {
  await _withFile(source, async (file, label) => {
    const mode = options.mode ?? entry.mode ?? 0o644;
    const out = await Deno.open(destPath, { write: true, create: true, truncate: true, mode });
    let ok = false;
    try {
      for await (const chunk of _chunks(file, entry, label)) {
        let done = 0;
        while (done < chunk.length) done += await out.write(chunk.subarray(done));
      }
      ok = true;
    } finally {
      out.close();
      if (!ok) await Deno.remove(destPath).catch(() => {});
    }
  });
}
