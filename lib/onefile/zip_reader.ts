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
  CENTRAL_HEADER_SIZE,
  crc32,
  decodeCentralHeader,
  decodeDirectoryEnd,
  decodeLocalHeader,
  decodeZip64DirectoryEnd,
  decodeZip64Locator,
  encodeExtra,
  EOCD_SIZE,
  EXTRA_ZIP64,
  findDirectoryEnd,
  FLAG_ENCRYPTED,
  FLAG_UTF8,
  LOCAL_HEADER_SIZE,
  MAX_16,
  MAX_32,
  METHOD_DEFLATE,
  METHOD_STORE,
  parseExtra,
  readZip64Values,
  unsafeNameReason,
  ZIP64_EOCD_SIZE,
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
    // Synchronous: an asynchronous file call is a hop to another thread and back (see _readAt).
    file = Deno.openSync(source, { read: true });
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

/**
 * Reads of at most this many bytes are made synchronously: Deno runs an asynchronous file
 * call on another thread, and the hop there and back costs more than a small read from the
 * page cache (milliseconds each on a busy machine, and a llamafile's directory takes one read
 * per entry's local header).
 */
const _SYNC_READ_BYTES = 1 << 20;

/** Reads exactly `length` bytes at `position`, or throws "`what` is truncated". */
async function _readAt(
  file: Deno.FsFile,
  position: number,
  length: number,
  label: string | null,
  what: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(length);
  const sync = length <= _SYNC_READ_BYTES;
  if (sync) file.seekSync(position, Deno.SeekMode.Start);
  else await file.seek(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < length) {
    const n = sync ? file.readSync(out.subarray(done)) : await file.read(out.subarray(done));
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
      const size = Math.min(Math.max(length, 4096), this.#fileSize - position);
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
  const fileSize = file.statSync().size;
  if (fileSize < EOCD_SIZE) throw fail(`file is too small to be a ZIP archive (${fileSize} bytes)`);
  const end = await _directoryEnd(file, fileSize, label, fail);
  const offsetBase = await _offsetBase(file, end, label, fail);
  const directoryStart = end.offset + offsetBase;
  const directory = await _readAt(file, directoryStart, end.size, label, "central directory");
  const entries = _centralEntries(directory, end.count, directoryStart, offsetBase, fail);
  await _readLocalHeaders(new _Window(file, fileSize, label), entries, directoryStart, fail);
  return {
    entries,
    fileSize,
    centralDirectoryOffset: directoryStart,
    centralDirectorySize: end.size,
    offsetBase,
    zip64: end.zip64,
    comment: end.comment,
  };
}

/** The end of the central directory, ZIP64 values resolved. */
interface _End {
  /** Where the (ZIP64) end record starts: the directory ends there. */
  recordOffset: number;
  count: number;
  size: number;
  /** The directory's offset as stated (relative to the archive start). */
  offset: number;
  comment: Uint8Array;
  zip64: boolean;
}

/** Finds and checks the end records: the classic one, then the ZIP64 locator and record. */
async function _directoryEnd(
  file: Deno.FsFile,
  fileSize: number,
  label: string | null,
  fail: (why: string) => ZipError,
): Promise<_End> {
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_16);
  const tailStart = fileSize - tailLength;
  const tail = await _readAt(file, tailStart, tailLength, label, "file");
  const at = findDirectoryEnd(tail);
  if (at < 0) {
    throw fail("end of central directory record not found (not a ZIP archive, or truncated)");
  }
  const classic = decodeDirectoryEnd(tail.subarray(at));
  const eocdOffset = tailStart + at;
  const end: _End = {
    recordOffset: eocdOffset,
    count: classic.count,
    size: classic.size,
    offset: classic.offset,
    comment: tail.slice(at + EOCD_SIZE),
    zip64: false,
  };
  let countOnDisk = classic.countOnDisk;
  if (eocdOffset >= ZIP64_LOCATOR_SIZE + ZIP64_EOCD_SIZE) {
    const locatorOffset = eocdOffset - ZIP64_LOCATOR_SIZE;
    const locator = decodeZip64Locator(
      await _readAt(file, locatorOffset, ZIP64_LOCATOR_SIZE, label, "ZIP64 locator"),
    );
    if (locator !== null) {
      end.zip64 = true;
      if (locator.disk !== 0 || locator.disks > 1) {
        throw fail("multi-disk archives are not supported");
      }
      // The stated offset is relative to the archive start; with an unknown prefix it is off
      // by the prefix length, and the record (without extensible data) sits right before.
      let record = null;
      for (const candidate of [locator.recordOffset, locatorOffset - ZIP64_EOCD_SIZE]) {
        if (candidate === null || candidate < 0 || candidate + ZIP64_EOCD_SIZE > locatorOffset) {
          continue;
        }
        record = decodeZip64DirectoryEnd(
          await _readAt(
            file,
            candidate,
            ZIP64_EOCD_SIZE,
            label,
            "ZIP64 end of central directory record",
          ),
        );
        if (record !== null) {
          end.recordOffset = candidate;
          break;
        }
      }
      if (record === null) {
        throw fail("ZIP64 end of central directory record not found where its locator points");
      }
      if (record.disk !== 0 || record.directoryDisk !== 0) {
        throw fail("multi-disk archives are not supported");
      }
      const value = (v: number | null): number => {
        if (v === null) {
          throw fail("ZIP64 end of central directory record holds values beyond 2^53");
        }
        return v;
      };
      countOnDisk = value(record.countOnDisk);
      end.count = value(record.count);
      end.size = value(record.size);
      end.offset = value(record.offset);
    }
  }
  if (!end.zip64 && (classic.disk !== 0 || classic.directoryDisk !== 0)) {
    throw fail("multi-disk archives are not supported");
  }
  if (countOnDisk !== end.count) throw fail("multi-disk archives are not supported");
  if (end.size > end.recordOffset) {
    throw fail(
      `central directory is truncated (${end.size} bytes declared, ${end.recordOffset} before its end record)`,
    );
  }
  if (end.size > _MAX_DIRECTORY_SIZE) {
    throw fail(`central directory is too large (${end.size} bytes)`);
  }
  if (end.count * CENTRAL_HEADER_SIZE > end.size) {
    throw fail(
      `central directory is truncated (${end.count} entries cannot fit in ${end.size} bytes)`,
    );
  }
  return end;
}

/**
 * How far every stated offset is off: 0 when the directory is at its stated offset (absolute
 * offsets, as we write), else the length of an unknown prefix (the directory then sits right
 * before its end record).
 */
async function _offsetBase(
  file: Deno.FsFile,
  end: _End,
  label: string | null,
  fail: (why: string) => ZipError,
): Promise<number> {
  const actualStart = end.recordOffset - end.size;
  if (end.offset === actualStart) return 0;
  const signatureAt = async (at: number) =>
    at >= 0 && at + 4 <= end.recordOffset &&
    decodeCentralHeader(
        await _readAt(file, at, CENTRAL_HEADER_SIZE, label, "central directory"),
        0,
      ) !==
      null;
  if (
    end.count > 0 && end.offset + end.size <= end.recordOffset && await signatureAt(end.offset)
  ) {
    return 0;
  }
  if (end.offset < actualStart && (end.count === 0 || await signatureAt(actualStart))) {
    return actualStart - end.offset;
  }
  if (end.offset > actualStart) {
    throw fail(`central directory offset ${end.offset} is beyond the space before its end record`);
  }
  throw fail(`central directory is corrupt: no header signature at offset ${actualStart}`);
}

/** Decodes and checks the `count` headers of the central directory. */
function _centralEntries(
  directory: Uint8Array<ArrayBuffer>,
  count: number,
  directoryStart: number,
  offsetBase: number,
  fail: (why: string) => ZipError,
): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + CENTRAL_HEADER_SIZE > directory.length) throw fail("central directory is truncated");
    const h = decodeCentralHeader(directory, at);
    if (h === null) {
      throw fail(
        `central directory is corrupt: bad signature of entry ${index + 1} at offset ${
          directoryStart + at
        }`,
      );
    }
    const nameAt = at + CENTRAL_HEADER_SIZE;
    const extraAt = nameAt + h.nameLength;
    const recordEnd = extraAt + h.extraLength + h.commentLength;
    if (recordEnd > directory.length) throw fail("central directory is truncated");
    const rawName = directory.subarray(nameAt, extraAt);
    const name = _decodeName(rawName, h.flags);
    if (name === null) throw fail(`entry ${index + 1} has a name that is not valid UTF-8`);
    const quoted = JSON.stringify(name);
    const unsafe = unsafeNameReason(name);
    if (unsafe !== null) throw fail(`entry name ${quoted} is unsafe: ${unsafe}`);
    if (names.has(name)) throw fail(`entry name ${quoted} appears twice in the central directory`);
    names.add(name);

    const extraBytes = directory.subarray(extraAt, extraAt + h.extraLength);
    const fields = parseExtra(extraBytes);
    if (fields === null) {
      throw fail(`central directory is corrupt: bad extra field of entry ${quoted}`);
    }
    let { compressedSize32: compressedSize, size32: size, localHeaderOffset32: localOffset } = h;
    let diskStart = h.diskStart16;
    const zip64Field = fields.find((f) => f.id === EXTRA_ZIP64);
    const wanted = {
      size: size === MAX_32,
      compressedSize: compressedSize === MAX_32,
      localHeaderOffset: localOffset === MAX_32,
      disk: diskStart === MAX_16,
    };
    if (wanted.size || wanted.compressedSize || wanted.localHeaderOffset || wanted.disk) {
      if (zip64Field === undefined) {
        throw fail(`central directory is corrupt: entry ${quoted} lacks its ZIP64 extra field`);
      }
      const values = readZip64Values(zip64Field.data, wanted);
      if (values === "too short") {
        throw fail(
          `central directory is corrupt: ZIP64 extra field of entry ${quoted} is too short`,
        );
      }
      if (values === "beyond 2^53") {
        throw fail(`entry ${quoted} has a size or offset beyond 2^53`);
      }
      size = values.size ?? size;
      compressedSize = values.compressedSize ?? compressedSize;
      localOffset = values.localHeaderOffset ?? localOffset;
      diskStart = values.disk ?? diskStart;
    }
    if (diskStart !== 0) throw fail("multi-disk archives are not supported");
    if (h.method === METHOD_STORE && compressedSize !== size && !(h.flags & FLAG_ENCRYPTED)) {
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
    const unixMode = (h.externalAttributes >>> 16) & 0o7777;
    entries.push({
      name,
      method: h.method,
      compressedSize,
      size,
      crc32: h.crc32,
      localHeaderOffset,
      dataOffset: 0,
      alignment: 1,
      mode: h.versionMadeBy >> 8 === 3 && unixMode !== 0 ? unixMode : null,
      isDirectory: name.endsWith("/"),
      flags: h.flags,
      versionMadeBy: h.versionMadeBy,
      versionNeeded: h.versionNeeded,
      dosTime: h.dosTime,
      dosDate: h.dosDate,
      internalAttributes: h.internalAttributes,
      externalAttributes: h.externalAttributes,
      rawName,
      extra: zip64Field === undefined
        ? extraBytes
        : encodeExtra(fields.filter((f) => f.id !== EXTRA_ZIP64)),
      comment: directory.subarray(recordEnd - h.commentLength, recordEnd),
    });
    at = recordEnd;
  }
  if (at !== directory.length) {
    throw fail(
      `central directory is corrupt: ${count} entries use ${at} of its ${directory.length} bytes`,
    );
  }
  return entries;
}

/** Reads the local headers in file order: each entry's data offset, and no overlaps. */
async function _readLocalHeaders(
  window: _Window,
  entries: ZipEntry[],
  directoryStart: number,
  fail: (why: string) => ZipError,
): Promise<void> {
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
    const header = decodeLocalHeader(
      await window.get(entry.localHeaderOffset, LOCAL_HEADER_SIZE, what),
    );
    if (header === null) {
      throw fail(`${what} is missing at offset ${entry.localHeaderOffset} (bad signature)`);
    }
    const localName = await window.get(
      entry.localHeaderOffset + LOCAL_HEADER_SIZE,
      header.nameLength,
      what,
    );
    if (
      header.nameLength !== entry.rawName.length ||
      !localName.every((b, i) => b === entry.rawName[i])
    ) {
      throw fail(`${what} does not match the central directory (different name)`);
    }
    entry.dataOffset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + header.nameLength +
      header.extraLength;
    entry.alignment = alignmentOf(entry.dataOffset);
    if (entry.dataOffset + entry.compressedSize > directoryStart) {
      throw fail(
        `data of entry ${quoted} (${entry.compressedSize} bytes at offset ${entry.dataOffset}) runs past the archive data`,
      );
    }
    previous = entry;
  }
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
