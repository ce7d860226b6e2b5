/**
 * Building a llamafile (llamafile's "create a llamafile" recipe), appending to one (its
 * `zipalign`), and the part both share with `upgrade.ts`: writing a llamafile from a runtime,
 * `.args` and content entries.
 *
 * ```
 * llamafile pack -m MODEL.gguf [--mmproj F] [--args FILE | --arg X ...] [--align N]
 *                [--platform P,...|all] -o OUT.llamafile
 * llamafile pack --add FILE... TO.llamafile [--align N]
 * ```
 *
 * A llamafile is the `sh` launcher (`launcher.ts`) followed by a ZIP archive holding, in
 * order: `.args`, `runtime/version.json`, the app (`runtime/app.js`, `runtime/app.script.js`), then for each
 * platform its runtime under `runtime/<platform>/` (the `deno` binary and the libllama/ggml
 * `.so` set; DEFLATE, extracted by the launcher), the weights (STORED, data on an `--align`
 * boundary, 64 KiB by default; one copy whatever the platforms), and `.manifest.sha256`
 * covering every other entry. The launcher is written last, over a placeholder of a size fixed
 * before the layout, once the payload's offsets and hashes are known. The same inputs give the
 * same bytes.
 *
 * `--add` appends files (STORED; `.gguf` ones aligned) and a new manifest after the archive's
 * last byte, then a new central directory, rewriting nothing (the newest directory wins). If it
 * fails, the file is cut back to its old size.
 *
 * @module
 */

import { readGguf } from "../engine/gguf_reader.ts";
import { sha256Hex } from "../util/sha256.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { LLAMA_CPP_RELEASE, VERSION } from "../util/version.ts";
import { composeArgsText, parseArgsFile } from "./args_file.ts";
import {
  type LauncherArgv,
  launcherBytes,
  type LauncherEntry,
  type LauncherRuntime,
  launcherSizeBound,
  type LauncherSpec,
} from "./launcher.ts";
import { ARGS_ENTRY, llamafileSelf, RUNTIME_FOLDER, VERSION_ENTRY } from "./llamafile_archive.ts";
import { PackProgress } from "./pack_progress.ts";
import type { GpuBuildName } from "../../ffi/gpu_backends.ts";
import { hostPlatform, type RuntimeFile, runtimePayload } from "./runtime_files.ts";
import { formatManifest, MANIFEST_NAME, METHOD_DEFLATE, parseManifest } from "./zip_format.ts";
import { readEntryBytes, readZipDirectory, type ZipEntry } from "./zip_reader.ts";
import { DEFAULT_ALIGNMENT, type ZipAddOptions, ZipWriter } from "./zip_writer.ts";
import { formatBytes } from "../util/format_bytes.ts";

/** Options of {@linkcode packLlamafile}. */
export interface PackOptions {
  /** The weights (GGUF). */
  model: string;
  /** A vision projector (GGUF). */
  mmproj?: string;
  /** `.args` text (already read from a file or built from words). */
  argsText?: string;
  /** Where `argsText` came from, for messages. */
  argsSource?: string;
  /** The llamafile to write. */
  output: string;
  /** Alignment of the weights' data (default 65536). */
  align?: number;
  /** The platforms to carry a runtime for (default: this machine's). */
  platforms?: readonly string[];
  /** GPU backends to add to this machine's runtime (`--gpu vulkan,cuda`). */
  gpu?: readonly GpuBuildName[];
  /** Receives progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progressBar?: boolean;
  /** What the launcher must know of the command line (from the option table). */
  argv: LauncherArgv;
  /**
   * Turns the `.args` text into words, refusing what the app would refuse (default:
   * {@linkcode parseArgsFile} alone).
   */
  readArgs?: (text: string, source: string) => string[];
  /** Where packages fetched for other platforms are kept (default: `npmCacheDir()`). */
  cacheDir?: string;
}

/** What {@linkcode packLlamafile} wrote. */
export interface PackResult {
  /** The llamafile. */
  output: string;
  /** Its size in bytes. */
  size: number;
  /** Size of the launcher (where the ZIP data starts). */
  launcherSize: number;
  /** The cache folder name of each platform's runtime. */
  runtimeHashes: Map<string, string>;
  /** The entries, in archive order. */
  entries: ZipEntry[];
}

/** The entry name a GGUF is stored under: its base name, ending in `.gguf`. */
export function weightsEntryName(path: string): string {
  const base = path.replace(/\/+$/, "").split("/").at(-1) ?? path;
  return base.toLowerCase().endsWith(".gguf") ? base : `${base}.gguf`;
}

async function _checkGguf(path: string, what: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot pack ${what} "${path}": no such file`, { cause });
    }
    throw cause;
  }
  if (!info.isFile) throw new Error(`Cannot pack ${what} "${path}": not a regular file`);
  try {
    await readGguf(path);
  } catch (cause) {
    throw new Error(`Cannot pack ${what} "${path}": ${(cause as Error).message}`, { cause });
  }
  return info.size;
}

/** The cache folder name of a runtime: the first 16 hex digits of the SHA-256 of its manifest lines. */
export function runtimeHash(hashes: ReadonlyMap<string, string>): string {
  return sha256Hex(formatManifest(hashes)).slice(0, 16);
}

/** Refuses to pack from inside a llamafile (no checkout: no bundler, no libraries to read). */
export function assertInCheckout(what: string): void {
  if (llamafileSelf() !== undefined) {
    throw new Error(
      `Cannot ${what} from inside a llamafile: run llamafile ${what} from a checkout (deno task llamafile ${what})`,
    );
  }
}

/** A content entry of a llamafile (not `.args`, the runtime or the manifest). */
export type ContentEntry =
  | {
    /** A file on disk (the weights, a projector). */
    kind: "file";
    name: string;
    source: string;
    size: number;
    options: ZipAddOptions;
  }
  | {
    /** An entry of another archive, copied (the old file's, in an upgrade). */
    kind: "entry";
    name: string;
    archive: string;
    entry: ZipEntry;
    options: ZipAddOptions;
  };

/** What {@linkcode writeLlamafile} writes. */
export interface LlamafileContents {
  /** The llamafile to write (through a temporary file beside it, renamed when complete). */
  output: string;
  /** The `.args` entry's bytes, or null for none. */
  args: Uint8Array | null;
  /** The `.args` words, for the launcher's mode scan. */
  argsWords: string[];
  /** Platforms to carry a runtime for. */
  platforms: readonly string[];
  /** GPU backends to add to this machine's runtime. */
  gpu?: readonly GpuBuildName[];
  /** The other entries, in order. */
  contents: readonly ContentEntry[];
  /** What the launcher must know of the command line. */
  argv: LauncherArgv;
  /** Receives progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progressBar?: boolean;
  /** Where packages fetched for other platforms are kept. */
  cacheDir?: string;
  /** Verb for the last line (`wrote`). */
  verb?: string;
  /** Carry libmtmd (a projector is among the contents). */
  mtmd?: boolean;
}

/** The `runtime/version.json` text of a llamafile carrying `platforms`. */
export function versionJson(platforms: readonly string[]): string {
  return JSON.stringify({
    llamafile: VERSION,
    "llama.cpp": LLAMA_CPP_RELEASE,
    deno: Deno.version.deno,
    platforms,
  }) + "\n";
}

/**
 * Writes a llamafile: launcher, `.args`, version, app, each platform's runtime, `contents`,
 * manifest (see the module documentation).
 */
export async function writeLlamafile(options: LlamafileContents): Promise<PackResult> {
  const log = options.log ?? writeStderr;
  if (options.platforms.length === 0) throw new Error("Cannot pack: no platform to carry");
  const work = await Deno.makeTempDir({ prefix: "llamafile-pack-" });
  const slash = options.output.lastIndexOf("/");
  const temp = `${slash < 0 ? "." : options.output.slice(0, slash) || "/"}/.${
    options.output.slice(slash + 1)
  }.${Deno.pid}.tmp`;
  let writer: ZipWriter | null = null;
  try {
    const payload = await runtimePayload(work, options.platforms, {
      log,
      ...(options.cacheDir && { cacheDir: options.cacheDir }),
      ...(options.gpu && { gpu: options.gpu }),
      ...(options.mtmd && { mtmd: true }),
    });
    const version =
      `llamafile.ts ${VERSION} (deno ${Deno.version.deno}, llama.cpp ${LLAMA_CPP_RELEASE})`;
    const spec = (runtimes: LauncherRuntime[]): LauncherSpec => ({
      version,
      runtimes,
      app: payload.app.path,
      libDir: "lib",
      args: options.argsWords,
      argv: options.argv,
    });
    const placeholder = (file: RuntimeFile): LauncherEntry => ({
      name: file.name,
      path: file.path,
      mode: file.mode,
      method: METHOD_DEFLATE,
      dataOffset: 0,
      compressedSize: 0,
      size: 0,
      crc32: 0,
      sha256: "0".repeat(64),
    });
    const launcherSize = launcherSizeBound(spec(payload.platforms.map((p) => ({
      platform: p.platform,
      hash: "0".repeat(16),
      entries: [...payload.shared, ...p.files].map(placeholder),
    }))));

    const runtimeFiles = [...payload.shared, ...payload.platforms.flatMap((p) => p.files)];
    let total = 0;
    for (const file of runtimeFiles) total += (await Deno.stat(file.source)).size;
    for (const content of options.contents) {
      total += content.kind === "file" ? content.size : content.entry.size;
    }
    const progress = new PackProgress(total, options.progressBar ?? Deno.stderr.isTerminal(), log);

    writer = await ZipWriter.create(temp, {
      prefix: new Uint8Array(launcherSize).fill(0x0a),
      sha256: true,
    });
    if (options.args !== null) progress.added(await writer.addBytes(ARGS_ENTRY, options.args));
    await writer.addBytes(
      VERSION_ENTRY,
      new TextEncoder().encode(versionJson(options.platforms)),
    );
    const written = new Map<string, ZipEntry>();
    for (const file of runtimeFiles) {
      const entry = await writer.addFile(file.name, file.source, {
        method: "deflate",
        mode: file.mode,
        onProgress: progress.entry(file.name),
      });
      written.set(file.name, entry);
      progress.added(entry);
    }
    for (const content of options.contents) {
      const addOptions = { ...content.options, onProgress: progress.entry(content.name) };
      progress.added(
        content.kind === "file"
          ? await writer.addFile(content.name, content.source, addOptions)
          : await writer.addEntry(content.name, content.archive, content.entry, addOptions),
      );
    }
    await writer.addManifest();
    await writer.finish();
    writer = null;
    progress.finish();

    // The launcher, now that the payload's offsets and hashes are known.
    const directory = await readZipDirectory(temp);
    const manifestEntry = directory.entries.find((e) => e.name === MANIFEST_NAME)!;
    const hashes = parseManifest(
      new TextDecoder().decode(await readEntryBytes(temp, manifestEntry)),
    );
    const launcherEntry = (file: RuntimeFile): LauncherEntry => {
      const entry = written.get(file.name)!;
      return {
        name: file.name,
        path: file.path,
        mode: file.mode,
        method: entry.method,
        dataOffset: entry.dataOffset,
        compressedSize: entry.compressedSize,
        size: entry.size,
        crc32: entry.crc32,
        sha256: hashes.get(file.name)!,
      };
    };
    const runtimeHashes = new Map<string, string>();
    const runtimes = payload.platforms.map((p) => {
      const files = [...payload.shared, ...p.files];
      const hash = runtimeHash(new Map(files.map((file) => [file.name, hashes.get(file.name)!])));
      runtimeHashes.set(p.platform, hash);
      return { platform: p.platform, hash, entries: files.map(launcherEntry) };
    });
    const launcher = launcherBytes(spec(runtimes), launcherSize);
    {
      using file = await Deno.open(temp, { write: true });
      let at = 0;
      while (at < launcher.length) at += await file.write(launcher.subarray(at));
    }
    await Deno.chmod(temp, 0o755);
    await Deno.rename(temp, options.output);
    log(
      `llamafile ${options.verb ?? "pack: wrote"} ${options.output} (${
        formatBytes(directory.fileSize)
      }, ${directory.entries.length} entries; runtimes for ${options.platforms.join(", ")})`,
    );
    return {
      output: options.output,
      size: directory.fileSize,
      launcherSize,
      runtimeHashes,
      entries: directory.entries,
    };
  } finally {
    writer?.close();
    await Deno.remove(temp).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** The platforms to pack when none are named: this machine's. */
export function defaultPlatforms(): string[] {
  const host = hostPlatform();
  if (host === null) {
    throw new Error(
      `Cannot pack a runtime for this machine (${Deno.build.os} ${Deno.build.arch}): name the platforms with --platform`,
    );
  }
  return [host];
}

/**
 * Builds a llamafile (see the module documentation). The output is written to a temporary
 * file beside it and renamed into place when complete.
 */
export async function packLlamafile(options: PackOptions): Promise<PackResult> {
  assertInCheckout("pack");
  const align = options.align ?? DEFAULT_ALIGNMENT;
  const modelSize = await _checkGguf(options.model, "model");
  const mmprojSize = options.mmproj === undefined
    ? 0
    : await _checkGguf(options.mmproj, "projector");
  const modelEntry = weightsEntryName(options.model);
  const mmprojEntry = options.mmproj === undefined ? undefined : weightsEntryName(options.mmproj);
  if (mmprojEntry === modelEntry) {
    throw new Error(
      `Cannot pack: the model and the projector would both be stored as "${modelEntry}"`,
    );
  }
  const argsText = composeArgsText(options.argsText, modelEntry, mmprojEntry);
  const argsWords = (options.readArgs ?? parseArgsFile)(argsText, options.argsSource ?? ".args");
  const inputs = [options.model, ...(options.mmproj ? [options.mmproj] : [])];
  const outReal = await Deno.realPath(options.output).catch(() => null);
  for (const input of inputs) {
    if (outReal !== null && outReal === await Deno.realPath(input)) {
      throw new Error(`Cannot pack into "${options.output}": it is one of the inputs`);
    }
  }
  const contents: ContentEntry[] = [
    { kind: "file", name: modelEntry, source: options.model, size: modelSize, options: { align } },
  ];
  if (options.mmproj !== undefined && mmprojEntry !== undefined) {
    contents.push({
      kind: "file",
      name: mmprojEntry,
      source: options.mmproj,
      size: mmprojSize,
      options: { align },
    });
  }
  return await writeLlamafile({
    output: options.output,
    args: new TextEncoder().encode(argsText),
    argsWords,
    platforms: options.platforms ?? defaultPlatforms(),
    ...(options.gpu && { gpu: options.gpu }),
    contents,
    argv: options.argv,
    ...(options.log && { log: options.log }),
    ...(options.progressBar !== undefined && { progressBar: options.progressBar }),
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
    ...(options.mmproj !== undefined && { mtmd: true }),
  });
}

/** Entry names `--add` refuses: the launcher was built from them. */
export function reservedEntryReason(name: string): string | null {
  if (name === ARGS_ENTRY) {
    return "the launcher's defaults were built from the packed .args; pack again with --args";
  }
  if (name === MANIFEST_NAME) return "the manifest is written by pack itself";
  if (name.startsWith(RUNTIME_FOLDER)) return "the runtime payload cannot be replaced";
  return null;
}

/** Options of {@linkcode addToLlamafile}. */
export interface AddOptions {
  /** Alignment of `.gguf` entries' data (default 65536). */
  align?: number;
  /** Receives progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progressBar?: boolean;
}

/**
 * Appends `files` (by base name; `.gguf` ones aligned) and a new manifest to the llamafile
 * `target`, then a new central directory. Nothing before the old end is rewritten; on failure
 * the file is cut back to its old size.
 *
 * @returns The new entries.
 */
export async function addToLlamafile(
  target: string,
  files: readonly string[],
  options: AddOptions = {},
): Promise<ZipEntry[]> {
  const log = options.log ?? writeStderr;
  const align = options.align ?? DEFAULT_ALIGNMENT;
  const names = files.map((file) => file.replace(/\/+$/, "").split("/").at(-1) ?? file);
  let total = 0;
  for (const [i, name] of names.entries()) {
    const reason = reservedEntryReason(name);
    if (reason !== null) throw new Error(`Cannot add "${files[i]}" as "${name}": ${reason}`);
    if (names.indexOf(name) !== i) throw new Error(`Cannot add two files named "${name}"`);
    const info = await Deno.stat(files[i]!).catch((cause) => {
      throw new Error(
        `Cannot add "${files[i]}": ${
          cause instanceof Deno.errors.NotFound ? "no such file" : cause.message
        }`,
        { cause },
      );
    });
    if (!info.isFile) throw new Error(`Cannot add "${files[i]}": not a regular file`);
    if (name.toLowerCase().endsWith(".gguf")) await _checkGguf(files[i]!, "weights");
    total += info.size;
  }
  const before = await readZipDirectory(target);
  const progress = new PackProgress(total, options.progressBar ?? Deno.stderr.isTerminal(), log);
  const writer = await ZipWriter.append(target, { sha256: true });
  let finished = false;
  try {
    const added: ZipEntry[] = [];
    for (const [i, name] of names.entries()) {
      const entry = await writer.addFile(name, files[i]!, {
        align: name.toLowerCase().endsWith(".gguf") ? align : 1,
        onProgress: progress.entry(name),
      });
      progress.added(entry);
      added.push(entry);
    }
    await writer.addManifest();
    await writer.finish();
    finished = true;
    progress.finish();
    log(
      `llamafile pack: added ${added.length} ${
        added.length === 1 ? "entry" : "entries"
      } to ${target}`,
    );
    return added;
  } finally {
    if (!finished) {
      writer.close();
      await Deno.truncate(target, before.fileSize).catch(() => {});
    }
  }
}
