/**
 * `llamafile upgrade OLD.llamafile -o NEW.llamafile` (llamafile's `upgrade-engine`): a new
 * llamafile with this version's launcher and runtime, and the old file's `.args`, weights and
 * every other entry. The weights are copied byte for byte (CRC-checked as they stream) and
 * land on the alignment boundary again; `.args` keeps its bytes. The old runtime entries and
 * manifest are dropped; a new manifest covers the new file.
 *
 * The platforms are the old file's (those this version can carry), unless named.
 *
 * @module
 */
import { readHead } from "../util/read_head.ts";
import { type LauncherArgv } from "./launcher.ts";
import {
  ARGS_ENTRY,
  isWeightsEntry,
  llamafilePlatforms,
  RUNTIME_FOLDER,
} from "./llamafile_archive.ts";
import {
  assertInCheckout,
  type ContentEntry,
  defaultPlatforms,
  type PackResult,
  writeLlamafile,
} from "./pack.ts";
import { PLATFORM_NAMES } from "./platforms.ts";
import { MANIFEST_NAME, METHOD_DEFLATE, METHOD_STORE } from "./zip_format.ts";
import {
  readEntryBytes,
  readZipDirectory,
  type ZipDirectory,
  type ZipEntry,
} from "./zip_reader.ts";
import { DEFAULT_ALIGNMENT } from "./zip_writer.ts";

/** Options of {@linkcode upgradeLlamafile}. */
export interface UpgradeOptions {
  /** The old llamafile. */
  input: string;
  /** The new llamafile (may be the old one: it is replaced only once the new one is complete). */
  output: string;
  /** Platforms to carry (default: the old file's that this version knows, else this machine's). */
  platforms?: readonly string[];
  /** Alignment of the weights' data (default 65536). */
  align?: number;
  /** What the launcher must know of the command line (from the option table). */
  argv: LauncherArgv;
  /** Turns the `.args` text into words, refusing what this version's app would refuse. */
  readArgs: (text: string, source: string) => string[];
  /** Receives progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progressBar?: boolean;
  /** Where packages fetched for other platforms are kept. */
  cacheDir?: string;
}

/** What an upgrade wrote, and what it kept. */
export interface UpgradeResult extends PackResult {
  /** The old file's entries carried over (besides `.args`), by their new entry. */
  kept: ZipEntry[];
  /** The old file's platforms (from its version entry or its runtime folders). */
  oldPlatforms: string[];
}

async function _directory(path: string): Promise<ZipDirectory> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot upgrade "${path}": no such file`, { cause });
    }
    throw cause;
  }
  if (!info.isFile) throw new Error(`Cannot upgrade "${path}": not a regular file`);
  {
    using file = await Deno.open(path, { read: true });
    if (new TextDecoder().decode(await readHead(file, 4)) === "GGUF") {
      throw new Error(
        `Cannot upgrade "${path}": it is a GGUF, not a llamafile (make one with llamafile pack -m)`,
      );
    }
  }
  const directory = await readZipDirectory(path);
  if (!directory.entries.some(isWeightsEntry)) {
    throw new Error(`Cannot upgrade "${path}": it holds no .gguf entry, so no weights to keep`);
  }
  return directory;
}

/** Writes the upgraded llamafile (see the module documentation). */
export async function upgradeLlamafile(options: UpgradeOptions): Promise<UpgradeResult> {
  assertInCheckout("upgrade");
  const log = options.log;
  const align = options.align ?? DEFAULT_ALIGNMENT;
  const directory = await _directory(options.input);
  const oldPlatforms = await llamafilePlatforms(options.input, directory);
  const platforms = options.platforms ??
    (oldPlatforms.some((p) => PLATFORM_NAMES.includes(p))
      ? PLATFORM_NAMES.filter((p) => oldPlatforms.includes(p))
      : defaultPlatforms());

  const argsEntry = directory.entries.find((e) => e.name === ARGS_ENTRY);
  let args: Uint8Array | null = null;
  let argsWords: string[] = [];
  if (argsEntry !== undefined) {
    args = await readEntryBytes(options.input, argsEntry, { maxSize: 1 << 20 });
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(args);
    } catch (cause) {
      throw new Error(`Cannot upgrade "${options.input}": its .args is not UTF-8 text`, { cause });
    }
    argsWords = options.readArgs(text, `.args of ${options.input}`);
  }

  const contents: ContentEntry[] = [];
  for (const entry of directory.entries) {
    if (
      entry.name === ARGS_ENTRY || entry.name === MANIFEST_NAME ||
      entry.name.startsWith(RUNTIME_FOLDER) || entry.isDirectory
    ) continue;
    const where = `Cannot upgrade "${options.input}": entry "${entry.name}"`;
    if (entry.flags & 1) throw new Error(`${where} is encrypted`);
    if (entry.method !== METHOD_STORE && entry.method !== METHOD_DEFLATE) {
      throw new Error(`${where} uses compression method ${entry.method}, which is not supported`);
    }
    const weights = isWeightsEntry(entry);
    contents.push({
      kind: "entry",
      name: entry.name,
      archive: options.input,
      entry,
      options: {
        // Weights are stored and aligned (mapped in place); the rest keep their method.
        method: !weights && entry.method === METHOD_DEFLATE ? "deflate" : "store",
        align: weights ? align : 1,
        ...(entry.mode !== null && { mode: entry.mode & 0o7777 }),
      },
    });
  }

  const result = await writeLlamafile({
    output: options.output,
    args,
    argsWords,
    platforms,
    contents,
    argv: options.argv,
    verb: "upgrade: wrote",
    // A llamafile with a projector carries libmtmd.
    ...(argsWords.includes("--mmproj") && { mtmd: true }),
    ...(log && { log }),
    ...(options.progressBar !== undefined && { progressBar: options.progressBar }),
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
  });
  const keptNames = new Set(contents.map((c) => c.name));
  return {
    ...result,
    kept: result.entries.filter((e) => keptNames.has(e.name)),
    oldPlatforms,
  };
}
