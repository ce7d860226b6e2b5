/**
 * A streaming, deterministic, append-only ZIP writer for llamafiles.
 *
 * - Entries are STORED or DEFLATE (`CompressionStream("deflate-raw")`), streamed from a file
 *   in 4 MiB chunks (a multi-GB weights file never sits in memory).
 * - A STORED entry's data can start on an N-byte boundary (`align`, e.g. 65536 for weights),
 *   padded with an Android-zipalign style extra field (id 0xd935) in the local header, so
 *   `unzip -t` and `zipinfo` still accept the archive.
 * - ZIP64 records are written whenever a size or offset reaches 0xFFFFFFFF or the entry count
 *   0xFFFF (or always, with `forceZip64`).
 * - A prefix (the llamafile's shell launcher) may come first: offsets in the central directory
 *   are absolute file offsets, like a self-extracting archive's.
 * - Deterministic: fixed DOS timestamp (1980-01-01 00:00), explicit entry order, Unix mode from
 *   options (not from the host), fixed chunking into the compressor: same inputs, same Deno
 *   version → same bytes.
 * - Append: {@linkcode ZipWriter.append} adds entries after an existing archive's last byte
 *   without rewriting anything, then writes a new central directory listing old and new entries
 *   (a name added again replaces the old entry); readers use the last one.
 * - All-zero 4 MiB chunks of a STORED entry become holes in the output (the file stays sparse
 *   where the input was) and their CRC-32 is extended arithmetically.
 *
 * @example Pack a model
 * ```ts ignore
 * import { ZipWriter } from "./zip_writer.ts";
 * const zip = await ZipWriter.create("model.llamafile", { prefix: launcherBytes });
 * await zip.addBytes(".args", new TextEncoder().encode("-m model.gguf\n...\n"), { method: "deflate" });
 * await zip.addFile("model.gguf", "model.gguf", {
 *   method: "store",
 *   align: DEFAULT_ALIGNMENT,
 *   onProgress: (done, total) => console.error(`${done}/${total}`),
 * });
 * await zip.finish();
 * ```
 *
 * @module
 */

import { createHash, type Hash } from "../util/node_hash.ts";
import {
  alignmentField,
  alignmentOf,
  type CentralHeader,
  crc32,
  crc32ZeroExtend,
  DOS_DATE,
  DOS_TIME,
  encodeCentralHeader,
  encodeDirectoryEnd,
  encodeExtra,
  encodeLocalHeader,
  encodeZip64Data,
  EXTRA_ZIP64,
  type ExtraField,
  FLAG_UTF8,
  formatManifest,
  LOCAL_HEADER_SIZE,
  MANIFEST_NAME,
  MAX_16,
  MAX_32,
  METHOD_DEFLATE,
  METHOD_STORE,
  S_IFREG,
  unsafeNameReason,
  VERSION_DEFLATE,
  VERSION_MADE_BY,
  VERSION_STORE,
  VERSION_ZIP64,
  viewOf,
  writeU64,
} from "./zip_format.ts";
import { readEntryChunks, readZipDirectory, type ZipEntry } from "./zip_reader.ts";

export { MANIFEST_NAME } from "./zip_format.ts";
export type { ZipEntry } from "./zip_reader.ts";

/** The alignment llamafile weights use: 64 KiB (pages on every OS, and what GPUs want). */
export const DEFAULT_ALIGNMENT = 65536;

/** Options of {@linkcode ZipWriter.create} and {@linkcode ZipWriter.append}. */
export interface ZipWriterOptions {
  /** Bytes written before the archive (create only), e.g. the shell launcher. */
  prefix?: Uint8Array;
  /** Archive comment (default: none; on append, the old archive's comment). */
  comment?: string;
  /**
   * Compute the SHA-256 of every entry added, while it streams, for
   * {@linkcode ZipWriter.addManifest} (otherwise the manifest reads entries back).
   */
  sha256?: boolean;
  /** Write ZIP64 fields and records for every entry and the archive, even when small. */
  forceZip64?: boolean;
}

/** Options of {@linkcode ZipWriter.addFile} and {@linkcode ZipWriter.addBytes}. */
export interface ZipAddOptions {
  /** `"store"` (default) or `"deflate"`. */
  method?: "store" | "deflate";
  /** Start the entry's data on a multiple of this many bytes (1 to 65536; default 1). */
  align?: number;
  /** Unix permission bits recorded for the entry (default 0o644; 0o755 for executables). */
  mode?: number;
  /** Called after every chunk with the uncompressed bytes done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Chunk size for reading sources and feeding the compressor (fixed: it shapes the output). */
const _CHUNK = 4 << 20;
/** Output buffer size for headers and compressed data. */
const _BUFFER = 1 << 20;
/**
 * DEFLATE entries at least this large get ZIP64 local sizes up front (their compressed size
 * is unknown until the end, and incompressible data grows by a few bytes per chunk).
 */
const _DEFLATE_ZIP64_THRESHOLD = MAX_32 - (64 << 20);

const _encoder = new TextEncoder();
/** Shared empty extra field and comment (never written to). */
const _EMPTY = new Uint8Array(0);

/** Buffered sequential output with patching and holes; `position` is the logical end. */
class _Output {
  #file: Deno.FsFile;
  #buffer = new Uint8Array(_BUFFER);
  #length = 0;
  position: number;

  constructor(file: Deno.FsFile, position: number) {
    this.#file = file;
    this.position = position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#length + bytes.length > this.#buffer.length) await this.flush();
    if (bytes.length >= this.#buffer.length) {
      await _writeAll(this.#file, bytes);
    } else {
      this.#buffer.set(bytes, this.#length);
      this.#length += bytes.length;
    }
    this.position += bytes.length;
  }

  /** Advances by `length` zero bytes without writing them (a hole in the file). */
  async skip(length: number): Promise<void> {
    await this.flush();
    this.position += length;
    await this.#file.truncate(this.position);
    await this.#file.seek(this.position, Deno.SeekMode.Start);
  }

  /** Overwrites bytes already written at `at`. */
  async patch(at: number, bytes: Uint8Array): Promise<void> {
    const buffered = this.position - this.#length;
    if (at >= buffered && at + bytes.length <= this.position) {
      this.#buffer.set(bytes, at - buffered); // still in the buffer: no system call
      return;
    }
    await this.flush();
    await this.#file.seek(at, Deno.SeekMode.Start);
    await _writeAll(this.#file, bytes);
    await this.#file.seek(this.position, Deno.SeekMode.Start);
  }

  async flush(): Promise<void> {
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    await _writeAll(this.#file, this.#buffer.subarray(0, length));
  }

  /** Puts the file position back at the end after someone else moved it. */
  async resync(): Promise<void> {
    await this.flush();
    await this.#file.seek(this.position, Deno.SeekMode.Start);
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
async function _readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    const n = await file.read(buffer.subarray(done));
    if (n === null) break;
    done += n;
  }
  return done;
}

/** True when every byte is zero. */
function _isZero(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes[0] !== 0) return false;
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  for (let i = 0; i < head && i < bytes.length; i++) if (bytes[i] !== 0) return false;
  if (head >= bytes.length) return true;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, (bytes.length - head) >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  for (let i = head + words.length * 4; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Regroups `chunks` into fresh chunks of exactly `_CHUNK` bytes but the last (the writer's
 * chunking shapes its output, so it must not depend on where the data comes from).
 */
async function* _rechunk(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(_CHUNK);
  let length = 0;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(_CHUNK - length, chunk.length - at);
      buffer.set(chunk.subarray(at, at + n), length);
      length += n;
      at += n;
      if (length === _CHUNK) {
        yield buffer;
        buffer = new Uint8Array(_CHUNK);
        length = 0;
      }
    }
  }
  if (length > 0) yield buffer.subarray(0, length);
}

/** One entry of the directory being built. */
interface _Record {
  entry: ZipEntry;
  /** Hex SHA-256 of the uncompressed data, when computed while writing. */
  sha256: string | null;
}

/** Where the data comes from: a size and a way to get the bytes in fixed chunks. */
interface _Source {
  size: number;
  /** Yields chunks of exactly `_CHUNK` bytes but the last; `fresh` forbids buffer reuse. */
  chunks(fresh: boolean): AsyncGenerator<Uint8Array>;
}

/**
 * Writes a ZIP archive (optionally after a prefix) or appends to one. One operation at a time:
 * await each `add*` before the next. Call {@linkcode ZipWriter.finish} to write the central
 * directory; {@linkcode ZipWriter.close} (or `await using`) abandons an unfinished archive.
 */
export class ZipWriter {
  #path: string;
  #file: Deno.FsFile;
  #out: _Output;
  #records = new Map<string, _Record>();
  #options: ZipWriterOptions;
  #comment: Uint8Array;
  #state: "ready" | "busy" | "broken" | "finished" | "closed" = "ready";

  private constructor(
    path: string,
    file: Deno.FsFile,
    position: number,
    options: ZipWriterOptions,
    comment: Uint8Array,
  ) {
    this.#path = path;
    this.#file = file;
    this.#out = new _Output(file, position);
    this.#options = options;
    this.#comment = comment;
  }

  /**
   * Creates (or truncates) `path` and starts a new archive, after `options.prefix` if given.
   */
  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    const comment = _encoder.encode(options.comment ?? "");
    _checkComment(comment);
    const file = await Deno.open(path, { read: true, write: true, create: true, truncate: true });
    const writer = new ZipWriter(path, file, 0, options, comment);
    try {
      if (options.prefix !== undefined && options.prefix.length > 0) {
        await writer.#out.write(options.prefix);
        await writer.#out.flush();
      }
    } catch (error) {
      file.close();
      throw error;
    }
    return writer;
  }

  /**
   * Opens the existing archive `path` (possibly after a prefix) to add entries after its last
   * byte. Its entries are kept (with their offsets made absolute); nothing existing is
   * rewritten. `options.prefix` is not allowed.
   *
   * @throws {ZipError} When `path` is not a readable ZIP archive.
   */
  static async append(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    if (options.prefix !== undefined) {
      throw new TypeError(
        `Cannot append to archive "${path}": a prefix can only be given when creating`,
      );
    }
    const directory = await readZipDirectory(path);
    const comment = options.comment === undefined
      ? directory.comment
      : _encoder.encode(options.comment);
    _checkComment(comment);
    const file = await Deno.open(path, { read: true, write: true });
    try {
      const end = await file.seek(0, Deno.SeekMode.End);
      if (end !== directory.fileSize) {
        throw new Error(`Cannot append to archive "${path}": the file changed while being read`);
      }
      const writer = new ZipWriter(path, file, end, options, comment);
      for (const entry of directory.entries) {
        writer.#records.set(entry.name, { entry, sha256: null });
      }
      return writer;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** The entries the central directory will list, in order (old ones first on append). */
  get entries(): ZipEntry[] {
    return [...this.#records.values()].map((record) => ({ ...record.entry }));
  }

  /** The offset where the next byte will be written. */
  get position(): number {
    return this.#out.position;
  }

  /**
   * Adds the file at `srcPath` as entry `name`, streaming it in 4 MiB chunks.
   *
   * @returns The entry as it will be listed (with its absolute `dataOffset`).
   * @throws {TypeError} For an unsafe name or bad options (nothing is written then).
   */
  async addFile(name: string, srcPath: string, options: ZipAddOptions = {}): Promise<ZipEntry> {
    const prepared = this.#prepare(name, options);
    const file = await Deno.open(srcPath, { read: true });
    try {
      const info = await file.stat();
      if (!info.isFile) {
        throw new TypeError(`Cannot add "${srcPath}" to archive: it is not a regular file`);
      }
      const size = info.size;
      const source: _Source = {
        size,
        async *chunks(fresh) {
          let buffer = new Uint8Array(Math.min(_CHUNK, Math.max(size, 1)));
          let total = 0;
          for (;;) {
            if (fresh) buffer = new Uint8Array(buffer.length);
            const n = await _readFull(file, buffer);
            if (n === 0) break;
            total += n;
            if (total > size) break;
            yield n === buffer.length ? buffer : buffer.subarray(0, n);
            if (n < buffer.length) break;
          }
          if (total !== size) {
            throw new Error(
              `Cannot add "${srcPath}" to archive: the file changed size while being read (${size} → ${total}+ bytes)`,
            );
          }
        },
      };
      return await this.#add(prepared, source, options);
    } finally {
      file.close();
    }
  }

  /**
   * Adds the data of `entry`, an entry of the archive at `archive`, as entry `name`: inflated
   * and CRC-checked as it streams (a failed check fails the add), then stored or deflated as
   * `options.method` says. A STORED entry copied STORED keeps its bytes exactly.
   *
   * @returns The entry as it will be listed (with its absolute `dataOffset`).
   * @throws {TypeError} For an unsafe name or bad options (nothing is written then).
   * @throws {ZipError} When the source entry cannot be read or fails its checks.
   */
  async addEntry(
    name: string,
    archive: string,
    entry: ZipEntry,
    options: ZipAddOptions = {},
  ): Promise<ZipEntry> {
    const prepared = this.#prepare(name, options);
    const file = await Deno.open(archive, { read: true });
    try {
      const source: _Source = {
        size: entry.size,
        chunks: () => _rechunk(readEntryChunks(file, entry)),
      };
      return await this.#add(prepared, source, options);
    } finally {
      file.close();
    }
  }

  /**
   * Adds `bytes` as entry `name`.
   *
   * @returns The entry as it will be listed (with its absolute `dataOffset`).
   * @throws {TypeError} For an unsafe name or bad options (nothing is written then).
   */
  async addBytes(name: string, bytes: Uint8Array, options: ZipAddOptions = {}): Promise<ZipEntry> {
    const prepared = this.#prepare(name, options);
    const source: _Source = {
      size: bytes.length,
      async *chunks(fresh) {
        for (let at = 0; at < bytes.length; at += _CHUNK) {
          const chunk = bytes.subarray(at, Math.min(at + _CHUNK, bytes.length));
          yield fresh ? chunk.slice() : chunk;
        }
      },
    };
    return await this.#add(prepared, source, options);
  }

  /**
   * Adds a SHA-256 manifest entry: one `<hex>  <name>` line for every other entry the
   * directory lists, sorted by name (see `formatManifest` in `zip_format.ts`). Hashes come
   * from streaming when `sha256` was set, otherwise (and for entries of an appended archive)
   * by reading the entries back. Add it last.
   */
  async addManifest(name: string = MANIFEST_NAME, options: ZipAddOptions = {}): Promise<ZipEntry> {
    this.#prepare(name, options);
    this.#enter();
    const hashes = new Map<string, string>();
    try {
      for (const [entryName, record] of this.#records) {
        if (entryName === name) continue;
        if (record.sha256 === null) {
          await this.#out.flush();
          const hash = await createHash("sha256");
          for await (const chunk of readEntryChunks(this.#file, record.entry)) hash.update(chunk);
          record.sha256 = hash.digest("hex");
        }
        hashes.set(entryName, record.sha256);
      }
      await this.#out.resync();
    } catch (error) {
      this.#state = "broken";
      throw error;
    }
    this.#state = "ready";
    return await this.addBytes(name, _encoder.encode(formatManifest(hashes)), options);
  }

  /** Writes the central directory and end records, and closes the file. */
  async finish(): Promise<void> {
    this.#enter();
    try {
      const force = this.#options.forceZip64 ?? false;
      const start = this.#out.position;
      for (const { entry } of this.#records.values()) {
        await this.#out.write(encodeCentralHeader(_centralHeader(entry), force));
      }
      const size = this.#out.position - start;
      const end = { count: this.#records.size, size, offset: start, comment: this.#comment };
      await this.#out.write(encodeDirectoryEnd(end, this.#out.position, force));
      await this.#out.flush();
    } catch (error) {
      this.#state = "broken";
      throw error;
    }
    this.#state = "finished";
    this.#file.close();
  }

  /** Closes the file; an unfinished archive is left without its new central directory. */
  close(): void {
    if (this.#state === "finished" || this.#state === "closed") return;
    this.#state = "closed";
    this.#file.close();
  }

  /** Same as {@linkcode ZipWriter.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #enter(): void {
    if (this.#state === "ready") {
      this.#state = "busy";
      return;
    }
    const why = {
      busy: "another operation is in progress",
      broken: "an earlier write failed",
      finished: "it is finished",
      closed: "it is closed",
    }[this.#state];
    throw new Error(`Cannot write to archive "${this.#path}": ${why}`);
  }

  /** Validates a name and options before anything is written. */
  #prepare(name: string, options: ZipAddOptions): { name: string; rawName: Uint8Array } {
    const quoted = JSON.stringify(name);
    const unsafe = unsafeNameReason(name);
    if (unsafe !== null) throw new TypeError(`Cannot add entry ${quoted}: ${unsafe}`);
    if (name.endsWith("/")) {
      throw new TypeError(`Cannot add entry ${quoted}: directory entries are not supported`);
    }
    const rawName = _encoder.encode(name);
    if (rawName.length > MAX_16) {
      throw new TypeError(`Cannot add entry ${quoted}: name is longer than 65535 bytes`);
    }
    if (
      options.method !== undefined && options.method !== "store" && options.method !== "deflate"
    ) {
      throw new TypeError(
        `Cannot add entry ${quoted}: method "${options.method}" is not "store" or "deflate"`,
      );
    }
    const align = options.align ?? 1;
    if (!Number.isInteger(align) || align < 1 || align > 65536) {
      throw new RangeError(
        `Cannot add entry ${quoted}: alignment ${align} is not an integer from 1 to 65536`,
      );
    }
    const mode = options.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new RangeError(`Cannot add entry ${quoted}: mode ${mode} is not between 0 and 0o7777`);
    }
    return { name, rawName };
  }

  async #add(
    prepared: { name: string; rawName: Uint8Array },
    source: _Source,
    options: ZipAddOptions,
  ): Promise<ZipEntry> {
    this.#enter();
    try {
      const record = await this.#write(prepared, source, options);
      this.#records.delete(prepared.name);
      this.#records.set(prepared.name, record);
      this.#state = "ready";
      return { ...record.entry };
    } catch (error) {
      this.#state = "broken";
      throw error;
    }
  }

  async #write(
    prepared: { name: string; rawName: Uint8Array },
    source: _Source,
    options: ZipAddOptions,
  ): Promise<_Record> {
    const out = this.#out;
    const force = this.#options.forceZip64 ?? false;
    const deflate = options.method === "deflate";
    const method = deflate ? METHOD_DEFLATE : METHOD_STORE;
    const align = options.align ?? 1;
    const { rawName } = prepared;
    const flags = rawName.some((b) => b >= 0x80) ? FLAG_UTF8 : 0;

    // Local header: ZIP64 sizes when they may overflow, then alignment padding.
    const localZip64 = force || source.size >= (deflate ? _DEFLATE_ZIP64_THRESHOLD : MAX_32);
    const zip64Length = localZip64 ? 20 : 0;
    let padding = 0;
    if (align > 1) {
      padding =
        (align - ((out.position + LOCAL_HEADER_SIZE + rawName.length + zip64Length) % align)) %
        align;
      if (padding > 0 && padding < 6) {
        // Too small for a field header: pad a whole alignment more, or, when that does not fit
        // in the extra field, leave a few zero bytes before the local header instead.
        if (padding + align <= MAX_16 - zip64Length) padding += align;
        else {
          await out.write(new Uint8Array(padding));
          padding = 0;
        }
      }
    }
    const localHeaderOffset = out.position;
    const versionNeeded = localZip64 || force || localHeaderOffset >= MAX_32
      ? VERSION_ZIP64
      : deflate
      ? VERSION_DEFLATE
      : VERSION_STORE;
    const fields: ExtraField[] = [];
    if (localZip64) {
      fields.push({
        id: EXTRA_ZIP64,
        data: encodeZip64Data([source.size, deflate ? 0 : source.size]),
      });
    }
    if (padding > 0) fields.push(alignmentField(align, padding));
    const header = encodeLocalHeader({
      versionNeeded,
      flags,
      method,
      dosTime: DOS_TIME,
      dosDate: DOS_DATE,
      crc32: 0,
      compressedSize32: localZip64 ? MAX_32 : deflate ? 0 : source.size,
      size32: localZip64 ? MAX_32 : source.size,
      name: rawName,
      extra: encodeExtra(fields),
    });
    await out.write(header);
    const dataOffset = out.position;

    // Data.
    const hash: Hash | null = this.#options.sha256 ? await createHash("sha256") : null;
    let crc = 0;
    let done = 0;
    const progress = (length: number) => {
      done += length;
      options.onProgress?.(done, source.size);
    };
    let compressedSize: number;
    if (!deflate) {
      for await (const chunk of source.chunks(false)) {
        hash?.update(chunk);
        if (_isZero(chunk)) {
          crc = crc32ZeroExtend(crc, chunk.length);
          await out.skip(chunk.length);
        } else {
          crc = crc32(chunk, crc);
          await out.write(chunk);
        }
        progress(chunk.length);
      }
      compressedSize = done;
    } else {
      const compressor = new CompressionStream("deflate-raw");
      const writer = compressor.writable.getWriter();
      const reader = compressor.readable.getReader();
      const pump = (async () => {
        let written = 0;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return written;
            await out.write(value);
            written += value.length;
          }
        } catch (error) {
          await reader.cancel(error).catch(() => {});
          throw error;
        }
      })();
      try {
        for await (const chunk of source.chunks(true)) {
          hash?.update(chunk);
          crc = crc32(chunk, crc);
          await writer.write(chunk as Uint8Array<ArrayBuffer>); // fresh: ArrayBuffer-backed
          progress(chunk.length);
        }
        await writer.close();
      } catch (error) {
        await writer.abort(error).catch(() => {});
        await pump.catch(() => {});
        throw error;
      }
      compressedSize = await pump;
    }
    if (source.size === 0) options.onProgress?.(0, 0);

    // Patch the CRC (and the sizes of a DEFLATE entry) into the local header.
    const patch = new Uint8Array(12);
    const view = viewOf(patch);
    view.setUint32(0, crc, true);
    view.setUint32(4, localZip64 ? MAX_32 : compressedSize, true);
    view.setUint32(8, localZip64 ? MAX_32 : done, true);
    await out.patch(localHeaderOffset + 14, patch);
    if (localZip64) {
      const sizes = new Uint8Array(16);
      writeU64(viewOf(sizes), 0, done);
      writeU64(viewOf(sizes), 8, compressedSize);
      await out.patch(localHeaderOffset + LOCAL_HEADER_SIZE + rawName.length + 4, sizes);
    }

    const mode = options.mode ?? 0o644;
    const entry: ZipEntry = {
      name: prepared.name,
      method,
      compressedSize,
      size: done,
      crc32: crc,
      localHeaderOffset,
      dataOffset,
      alignment: alignmentOf(dataOffset),
      mode,
      isDirectory: false,
      flags,
      versionMadeBy: VERSION_MADE_BY,
      versionNeeded,
      dosTime: DOS_TIME,
      dosDate: DOS_DATE,
      internalAttributes: 0,
      externalAttributes: ((S_IFREG | mode) << 16) >>> 0,
      rawName,
      extra: _EMPTY,
      comment: _EMPTY,
    };
    return { entry, sha256: hash === null ? null : hash.digest("hex") };
  }
}

function _centralHeader(entry: ZipEntry): CentralHeader {
  return {
    versionMadeBy: entry.versionMadeBy,
    versionNeeded: entry.versionNeeded,
    flags: entry.flags,
    method: entry.method,
    dosTime: entry.dosTime,
    dosDate: entry.dosDate,
    crc32: entry.crc32,
    compressedSize: entry.compressedSize,
    size: entry.size,
    internalAttributes: entry.internalAttributes,
    externalAttributes: entry.externalAttributes,
    localHeaderOffset: entry.localHeaderOffset,
    name: entry.rawName,
    extra: entry.extra,
    comment: entry.comment,
  };
}

function _checkComment(comment: Uint8Array): void {
  if (comment.length > MAX_16) {
    throw new RangeError(`Cannot write archive comment: ${comment.length} bytes exceed 65535`);
  }
}
