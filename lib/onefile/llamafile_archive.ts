/**
 * The runtime side of a llamafile: find the archive we run from (the launcher passes
 * `LLAMAFILE_SELF`), apply its `.args`, and work out where the weights are so that
 * `loadModel(path, { offset })` reads them in place.
 *
 * Weights are resolved like llamafile does:
 * - no `-m`: the archive's single `.gguf` entry (none or several is an error);
 * - `-m name.gguf` with no such file on disk: the archive's entry of that name;
 * - `-m other.llamafile` (any ZIP with a `.gguf` entry): that file's single `.gguf`;
 * - `-m file.gguf` on disk: the file itself.
 *
 * A weights entry must be STORED and start on a 32-byte boundary (what ggml's mmap needs).
 *
 * @module
 */

import { readHead } from "../util/read_head.ts";
import { mergeArgs, parseArgsFile } from "./args_file.ts";
import {
  readEntryBytes,
  readZipDirectory,
  type ZipDirectory,
  type ZipEntry,
} from "./zip_reader.ts";
import { METHOD_STORE } from "./zip_format.ts";

/** Name of the default-arguments entry. */
export const ARGS_ENTRY = ".args";
/** Folder of the runtime payload entries (`runtime/<platform>/...`). */
export const RUNTIME_FOLDER = "runtime/";
/** Entry that names the runtime's versions (JSON). */
export const VERSION_ENTRY = "runtime/version.json";
/** Environment variable the launcher sets to the llamafile's absolute path. */
export const SELF_ENV = "LLAMAFILE_SELF";
/** Alignment the weights' data needs at least to be mapped in place. */
export const MIN_WEIGHTS_ALIGNMENT = 32;
/** Largest `.args` entry accepted. */
const _MAX_ARGS_BYTES = 1 << 20;

/** A llamafile cannot be used: no or several weights, compressed or misaligned weights. */
export class LlamafileError extends Error {
  override name = "LlamafileError";
}

/** Where to load weights from: a file and the byte offset of the GGUF inside it. */
export interface WeightsSource {
  /** The file to open (a `.gguf`, or the llamafile holding the weights). */
  path: string;
  /** Byte offset of the GGUF in `path` (0 for a plain `.gguf`). */
  offset: number;
  /** The archive entry the weights are in, or null for a plain file. */
  entry: string | null;
}

let _self: { path: string | undefined } | null = null;

/**
 * The llamafile this process runs from (`$LLAMAFILE_SELF`), or undefined. Read once: the
 * sandbox revokes access to the environment later.
 */
export function llamafileSelf(): string | undefined {
  if (_self !== null) return _self.path;
  try {
    _self = { path: Deno.env.get(SELF_ENV) || undefined };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    _self = { path: undefined };
  }
  return _self.path;
}

const _directories = new Map<string, Promise<ZipDirectory>>();

/** Reads (once per process) the central directory of the archive at `path`. */
function _directory(path: string): Promise<ZipDirectory> {
  let directory = _directories.get(path);
  if (directory === undefined) {
    directory = readZipDirectory(path);
    directory.catch(() => _directories.delete(path));
    _directories.set(path, directory);
  }
  return directory;
}

/** True for entries that hold weights: a `.gguf` name outside the runtime folder. */
export function isWeightsEntry(entry: ZipEntry): boolean {
  return !entry.isDirectory && entry.name.toLowerCase().endsWith(".gguf") &&
    !entry.name.startsWith(RUNTIME_FOLDER);
}

/**
 * Checks that `entry` can be loaded in place from `archive`.
 *
 * @throws {LlamafileError} When it is compressed, encrypted or not 32-byte aligned.
 */
export function checkWeightsEntry(entry: ZipEntry, archive: string): void {
  const where = `Cannot load weights "${entry.name}" from "${archive}"`;
  if (entry.flags & 1) throw new LlamafileError(`${where}: the entry is encrypted`);
  if (entry.method !== METHOD_STORE) {
    throw new LlamafileError(
      `${where}: the entry is compressed (method ${entry.method}); weights must be STORED to be read in place`,
    );
  }
  if (entry.dataOffset % MIN_WEIGHTS_ALIGNMENT !== 0) {
    throw new LlamafileError(
      `${where}: its data starts at byte ${entry.dataOffset}, not on a ${MIN_WEIGHTS_ALIGNMENT}-byte boundary (pack it again with llamafile pack)`,
    );
  }
}

/**
 * Picks the weights entry of an archive: the one named `name`, or, without a name, the only
 * `.gguf` entry. The entry is checked with {@linkcode checkWeightsEntry}.
 *
 * @returns The entry, or null when `name` is given and no entry has it.
 * @throws {LlamafileError} With no name and zero or several `.gguf` entries, or when the
 *   entry cannot be loaded in place.
 */
export function chooseWeightsEntry(
  entries: readonly ZipEntry[],
  archive: string,
  name?: string,
): ZipEntry | null {
  let entry: ZipEntry | undefined;
  if (name !== undefined) {
    entry = entries.find((e) => e.name === name && !e.isDirectory);
    if (entry === undefined) return null;
  } else {
    const weights = entries.filter(isWeightsEntry);
    if (weights.length === 0) {
      throw new LlamafileError(
        `Cannot choose the weights of "${archive}": it holds no .gguf entry`,
      );
    }
    if (weights.length > 1) {
      const names = weights.map((e) => `"${e.name}"`).join(", ");
      throw new LlamafileError(
        `Cannot choose the weights of "${archive}": it holds ${weights.length} .gguf entries (${names}); pass -m NAME`,
      );
    }
    entry = weights[0]!;
  }
  checkWeightsEntry(entry, archive);
  return entry;
}

/**
 * The `.args` words of the llamafile at `path` (see `args_file.ts`), or null when it has none.
 *
 * @throws {ZipError} When the archive is truncated or corrupt.
 * @throws {SyntaxError} When `.args` cannot be parsed.
 */
export async function readLlamafileArgs(path: string): Promise<string[] | null> {
  const directory = await _directory(path);
  const entry = directory.entries.find((e) => e.name === ARGS_ENTRY);
  if (entry === undefined) return null;
  const bytes = await readEntryBytes(path, entry, { maxSize: _MAX_ARGS_BYTES });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SyntaxError(`Cannot parse ".args" of "${path}": it is not UTF-8 text`, { cause });
  }
  return parseArgsFile(text, `.args of ${path}`);
}

/**
 * The command line with the llamafile's `.args` applied: the defaults, with the user's
 * arguments at the `...` word (or after them). Outside a llamafile, `args` unchanged.
 *
 * @param args The user's arguments.
 * @param self The llamafile (default {@linkcode llamafileSelf}).
 */
export async function applyLlamafileArgs(
  args: readonly string[],
  self: string | undefined = llamafileSelf(),
): Promise<string[]> {
  if (self === undefined) return [...args];
  const defaults = await readLlamafileArgs(self);
  return defaults === null ? [...args] : mergeArgs(defaults, args);
}

/** Reads up to 4 bytes at the start of `path`. */
async function _head(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  return await readHead(file, 4);
}

/** True when `path` should be read as an archive rather than handed to the GGUF loader. */
function _looksLikeArchive(path: string, head: Uint8Array): boolean {
  const text = String.fromCharCode(...head);
  if (text === "GGUF") return false;
  return text.startsWith("#!") || text.startsWith("PK") || /\.(llamafile|zip)$/i.test(path);
}

/**
 * Where the weights for `-m model` are (see the module documentation).
 *
 * @param model The `-m` value, or undefined.
 * @param self The llamafile we run from (default {@linkcode llamafileSelf}).
 * @returns The source, or null when there is neither a model nor a llamafile.
 * @throws {LlamafileError} When the weights cannot be chosen or loaded in place.
 * @throws {ZipError} When an archive involved is truncated or corrupt.
 */
export async function resolveWeights(
  model: string | undefined,
  self: string | undefined = llamafileSelf(),
): Promise<WeightsSource | null> {
  if (model === undefined) {
    if (self === undefined) return null;
    return await _fromArchive(self);
  }
  let info: Deno.FileInfo | null = null;
  try {
    info = await Deno.stat(model);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info === null) {
    if (self === undefined) return { path: model, offset: 0, entry: null };
    const entry = chooseWeightsEntry((await _directory(self)).entries, self, model);
    if (entry === null) {
      throw new LlamafileError(
        `Cannot load model "${model}": no such file, and "${self}" has no entry of that name`,
      );
    }
    return { path: self, offset: entry.dataOffset, entry: entry.name };
  }
  if (info.isFile && _looksLikeArchive(model, await _head(model))) return await _fromArchive(model);
  return { path: model, offset: 0, entry: null };
}

async function _fromArchive(archive: string): Promise<WeightsSource> {
  const entry = chooseWeightsEntry((await _directory(archive)).entries, archive)!;
  return { path: archive, offset: entry.dataOffset, entry: entry.name };
}

/**
 * The platforms the llamafile at `path` holds runtimes for: its version entry's list (or the
 * one `platform` of files packed before there could be several), else its runtime folders.
 */
export async function llamafilePlatforms(path: string, directory: ZipDirectory): Promise<string[]> {
  const version = directory.entries.find((e) => e.name === VERSION_ENTRY);
  if (version !== undefined) {
    try {
      const v = JSON.parse(
        new TextDecoder().decode(await readEntryBytes(path, version, { maxSize: 1 << 16 })),
      );
      const list = Array.isArray(v.platforms) ? v.platforms : [v.platform];
      const names = list.filter((p: unknown): p is string => typeof p === "string");
      if (names.length > 0) return names;
    } catch {
      // an unreadable version entry: fall back to the folders
    }
  }
  const folders = new Set<string>();
  for (const entry of directory.entries) {
    const match = /^runtime\/([^/]+)\/./.exec(entry.name);
    if (match) folders.add(match[1]!);
  }
  return [...folders];
}
