/**
 * `llamafile pack`: llamafile's `zipalign` and its "create a llamafile" recipe in one command.
 *
 * ```
 * llamafile pack -m MODEL.gguf [--mmproj F] [--args FILE | --arg X ...] [--align N] -o OUT.llamafile
 * llamafile pack --add FILE... TO.llamafile [--align N]
 * ```
 *
 * A llamafile is the `sh` launcher (`launcher.ts`) followed by a ZIP archive holding, in
 * order: `.args`, `runtime/version.json`, the runtime payload of this platform under
 * `runtime/<platform>/` (the running `deno` binary, the app bundled into `app.js`, the
 * libllama/ggml `.so` set; DEFLATE, extracted by the launcher), the weights (STORED, data on an
 * `--align` boundary, 64 KiB by default), and `.manifest.sha256` covering every other entry.
 * The launcher is written last, over a placeholder of a size fixed before the layout, once the
 * payload's offsets and hashes are known. The same inputs give the same bytes.
 *
 * `--add` appends files (STORED; `.gguf` ones aligned) and a new manifest after the archive's
 * last byte, then a new central directory, rewriting nothing (the newest directory wins). If it
 * fails, the file is cut back to its old size.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { LLAMA_CPP_RELEASE, VERSION } from "../util/version.ts";
import { GGML_LIB, libraryDir, LLAMA_LIB } from "../../ffi/library_path.ts";
import { ARGS_SPLICE, parseArgsFile } from "../onefile/args_file.ts";
import { bundleApp } from "../onefile/app_bundle.ts";
import { defaultOptions, parseCliArgs, UsageError } from "./options.ts";
import { readGguf } from "../engine/gguf_reader.ts";
import {
  LAUNCHER_PLATFORMS,
  launcherBytes,
  type LauncherEntry,
  launcherSizeBound,
  type LauncherSpec,
} from "../onefile/launcher.ts";
import {
  ARGS_ENTRY,
  llamafileSelf,
  MIN_WEIGHTS_ALIGNMENT,
  RUNTIME_FOLDER,
  VERSION_ENTRY,
} from "../onefile/llamafile_archive.ts";
import {
  formatManifest,
  MANIFEST_NAME,
  METHOD_DEFLATE,
  parseManifest,
} from "../onefile/zip_format.ts";
import { readEntryBytes, readZipDirectory, type ZipEntry } from "../onefile/zip_reader.ts";
import { DEFAULT_ALIGNMENT, ZipWriter } from "../onefile/zip_writer.ts";
import { writeStderr } from "../util/stdout_writer.ts";

/** What `llamafile pack ...` asks for. */
export type PackRequest =
  | {
    kind: "create";
    model: string;
    mmproj?: string;
    /** `--args FILE`. */
    argsFile?: string;
    /** `--arg X` words, in order. */
    args: string[];
    output: string;
    align: number;
  }
  | { kind: "add"; files: string[]; target: string; align: number }
  | { kind: "help" };

/** The `llamafile pack --help` text. */
export const PACK_HELP =
  `llamafile pack: build a llamafile (one file: launcher, runtime, weights, defaults)

USAGE
  llamafile pack -m MODEL.gguf [--mmproj F] [--args FILE | --arg X ...] -o OUT.llamafile
  llamafile pack --add FILE... TO.llamafile

OPTIONS
  -m, --model FNAME    the weights (GGUF), stored uncompressed and aligned, read in place
  --mmproj FNAME       a vision projector (GGUF) to store beside them
  --args FNAME         default arguments, stored as .args (shell-like words, # comments,
                       '...' marks where the user's arguments go)
  --arg X              one default argument (repeatable; instead of --args)
  -o, --output FNAME   the llamafile to write (replaced only once it is complete)
  --align N            data alignment of .gguf entries, a power of 2 from 32 to 65536
                       (default: 65536)
  --add FILE... TO     append files to an existing llamafile (append-only, like zipalign)
  -h, --help           show this help
`;

function _value(argv: readonly string[], i: number, name: string): string {
  const value = argv[i + 1];
  if (value === undefined) throw new UsageError(`Option ${name} needs a value`);
  return value;
}

function _align(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= MIN_WEIGHTS_ALIGNMENT && n <= DEFAULT_ALIGNMENT && (n & (n - 1)) === 0)) {
    throw new UsageError(
      `Invalid value "${text}" for --align: must be a power of 2 from ${MIN_WEIGHTS_ALIGNMENT} to ${DEFAULT_ALIGNMENT}`,
    );
  }
  return n;
}

/**
 * Parses the arguments after `pack`.
 *
 * @throws {UsageError} On unknown options, missing values or a wrong combination.
 */
export function parsePackArgs(argv: readonly string[]): PackRequest {
  let model: string | undefined;
  let mmproj: string | undefined;
  let argsFile: string | undefined;
  let output: string | undefined;
  let align = DEFAULT_ALIGNMENT;
  let add = false;
  const args: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    const name = eq > 2 ? word.slice(0, eq) : word;
    const inline = eq > 2 ? word.slice(eq + 1) : undefined;
    const take = (): string => {
      if (inline !== undefined) return inline;
      return _value(argv, i++, name);
    };
    switch (name) {
      case "-h":
      case "--help":
        return { kind: "help" };
      case "-m":
      case "--model":
        model = take();
        break;
      case "--mmproj":
        mmproj = take();
        break;
      case "--args":
        argsFile = take();
        break;
      case "--arg":
        args.push(take());
        break;
      case "-o":
      case "--output":
        output = take();
        break;
      case "--align":
        align = _align(take());
        break;
      case "--add":
        if (inline !== undefined) {
          throw new UsageError("Option --add takes no value: list the files after it");
        }
        add = true;
        break;
      default:
        if (word.startsWith("-") && word !== "-") {
          throw new UsageError(`Unknown pack option "${word}"`);
        }
        positional.push(word);
    }
  }
  if (add) {
    if (
      model !== undefined || mmproj !== undefined || argsFile !== undefined || args.length > 0 ||
      output !== undefined
    ) {
      throw new UsageError(
        "pack --add takes only files and the llamafile to add them to (and --align)",
      );
    }
    if (positional.length < 2) {
      throw new UsageError("pack --add needs at least one FILE and the TO.llamafile");
    }
    return { kind: "add", files: positional.slice(0, -1), target: positional.at(-1)!, align };
  }
  if (positional.length > 0) throw new UsageError(`Unexpected pack argument "${positional[0]}"`);
  if (model === undefined) throw new UsageError("pack needs the weights: -m MODEL.gguf");
  if (output === undefined) throw new UsageError("pack needs the output: -o OUT.llamafile");
  if (argsFile !== undefined && args.length > 0) {
    throw new UsageError("pack takes --args FILE or --arg X words, not both");
  }
  return {
    kind: "create",
    model,
    ...(mmproj !== undefined && { mmproj }),
    ...(argsFile !== undefined && { argsFile }),
    args,
    output,
    align,
  };
}

/** Quotes one word for an `.args` file (see `args_file.ts`). */
export function argsFileQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `.args` text to store: `argsText` (or nothing), with `-m` and `--mmproj` naming the
 * packed entries put first when a projector is packed and the text names no model or projector
 * itself (with two `.gguf` entries the weights cannot be chosen otherwise).
 */
export function composeArgsText(
  argsText: string | undefined,
  modelEntry: string,
  mmprojEntry: string | undefined,
): string {
  let text = argsText ?? "";
  if (mmprojEntry === undefined) return text;
  const words = parseArgsFile(text);
  const has = (...names: string[]) =>
    words.some((w) =>
      names.includes(w) || names.some((n) => n.startsWith("--") && w.startsWith(`${n}=`))
    );
  const head: string[] = [];
  if (!has("-m", "--model")) head.push(`-m ${argsFileQuote(modelEntry)}`);
  if (!has("--mmproj")) head.push(`--mmproj ${argsFileQuote(mmprojEntry)}`);
  if (head.length > 0) text = `${head.join("\n")}\n${text}`;
  return text;
}

/** Checks `.args` text the way the app will read it; returns its words. */
function _checkArgs(text: string, source: string): string[] {
  let words: string[];
  try {
    words = parseArgsFile(text, source);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    parseCliArgs(words.filter((w) => w !== ARGS_SPLICE));
  } catch (error) {
    if (error instanceof UsageError) {
      throw new UsageError(`Cannot use ${JSON.stringify(source)} as .args: ${error.message}`);
    }
    throw error;
  }
  return words;
}

/** One runtime file to pack. */
export interface RuntimeFile {
  /** Entry name, `runtime/<platform>/<path>`. */
  name: string;
  /** Path inside the extracted runtime folder. */
  path: string;
  /** The file to read. */
  source: string;
  /** Unix permission bits. */
  mode: number;
}

/** The runtime platform of this process, e.g. `linux-x64`. */
export function runtimePlatform(): string {
  const arch = { x86_64: "x64", aarch64: "arm64" }[Deno.build.arch as string];
  const platform = `${Deno.build.os}-${arch ?? Deno.build.arch}`;
  if (!Object.hasOwn(LAUNCHER_PLATFORMS, platform)) {
    throw new Error(
      `Cannot pack a runtime for "${platform}": the launcher supports ${
        Object.keys(LAUNCHER_PLATFORMS).join(", ")
      }`,
    );
  }
  return platform;
}

/**
 * The runtime payload of this platform: the running `deno`, the app bundled into
 * `workDir/app.js`, and the libllama/ggml `.so` files (not `libllama-common.so`, which the FFI
 * layer cannot use, nor node-llama-cpp's addon).
 */
export async function runtimeFiles(
  workDir: string,
  platform = runtimePlatform(),
): Promise<RuntimeFile[]> {
  const base = `${RUNTIME_FOLDER}${platform}/`;
  const app = `${workDir}/app.js`;
  await bundleApp(app);
  const libDir = libraryDir();
  const libs: string[] = [];
  try {
    for await (const item of Deno.readDir(libDir)) {
      if (
        (item.isFile || item.isSymlink) && item.name.endsWith(".so") &&
        item.name !== "libllama-common.so"
      ) {
        libs.push(item.name);
      }
    }
  } catch (cause) {
    throw new Error(`Cannot pack the libraries: cannot list "${libDir}"`, { cause });
  }
  libs.sort();
  for (const needed of [LLAMA_LIB, GGML_LIB, "libggml-base.so"]) {
    if (!libs.includes(needed)) {
      throw new Error(`Cannot pack the libraries: "${needed}" is missing from "${libDir}"`);
    }
  }
  if (!libs.some((name) => name.startsWith("libggml-cpu"))) {
    throw new Error(`Cannot pack the libraries: no CPU backend (libggml-cpu-*.so) in "${libDir}"`);
  }
  return [
    { name: `${base}deno`, path: "deno", source: Deno.execPath(), mode: 0o755 },
    { name: `${base}app.js`, path: "app.js", source: app, mode: 0o644 },
    ...libs.map((lib) => ({
      name: `${base}lib/${lib}`,
      path: `lib/${lib}`,
      source: `${libDir}/${lib}`,
      mode: 0o755,
    })),
  ];
}

/** Byte counts in B, KB, MB, GB (powers of 1000, one decimal). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** Progress of a pack: a bar redrawn in place on a terminal, one line per entry otherwise. */
class _Progress {
  #total: number;
  #done = 0;
  #tty: boolean;
  #last = 0;
  #log: (line: string) => void;

  constructor(total: number, tty: boolean, log: (line: string) => void) {
    this.#total = Math.max(total, 1);
    this.#tty = tty;
    this.#log = log;
  }

  /** A callback for `ZipAddOptions.onProgress` of entry `name`. */
  entry(name: string): (done: number, total: number) => void {
    const start = this.#done;
    return (done) => {
      this.#done = start + done;
      if (!this.#tty) return;
      const now = performance.now();
      if (now - this.#last < 100 && this.#done < this.#total) return;
      this.#last = now;
      const fraction = Math.min(this.#done / this.#total, 1);
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${
        formatBytes(this.#done)
      } / ${formatBytes(this.#total)}  ${name}`;
      _writeRaw(`\r\x1b[2K${line}`);
    };
  }

  /** Reports a finished entry (one line each when not drawing a bar). */
  added(entry: ZipEntry): void {
    if (this.#tty) return;
    const how = entry.method === METHOD_DEFLATE
      ? `deflated to ${formatBytes(entry.compressedSize)}`
      : `stored at offset ${entry.dataOffset}`;
    this.#log(`llamafile pack: ${entry.name} (${formatBytes(entry.size)}, ${how})`);
  }

  /** Clears the bar. */
  finish(): void {
    if (this.#tty) _writeRaw("\r\x1b[2K");
  }
}

function _writeRaw(text: string): void {
  try {
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    while (at < bytes.length) at += Deno.stderr.writeSync(bytes.subarray(at));
  } catch {
    // stderr closed
  }
}

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
  /** Receives progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Draw a progress bar (default: when stderr is a terminal). */
  progressBar?: boolean;
}

/** What {@linkcode packLlamafile} wrote. */
export interface PackResult {
  /** The llamafile. */
  output: string;
  /** Its size in bytes. */
  size: number;
  /** Size of the launcher (where the ZIP data starts). */
  launcherSize: number;
  /** The cache folder name of its runtime. */
  runtimeHash: string;
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
  return createHash("sha256").update(formatManifest(hashes)).digest("hex").slice(0, 16);
}

/**
 * Builds a llamafile (see the module documentation). The output is written to a temporary
 * file beside it and renamed into place when complete.
 */
export async function packLlamafile(options: PackOptions): Promise<PackResult> {
  if (llamafileSelf() !== undefined) {
    throw new Error(
      "Cannot pack from inside a llamafile: run llamafile pack from a checkout (deno task llamafile pack)",
    );
  }
  const log = options.log ?? writeStderr;
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
  const argsWords = _checkArgs(argsText, options.argsSource ?? ".args");
  const inputs = [options.model, ...(options.mmproj ? [options.mmproj] : [])];
  const outReal = await Deno.realPath(options.output).catch(() => null);
  for (const input of inputs) {
    if (outReal !== null && outReal === await Deno.realPath(input)) {
      throw new Error(`Cannot pack into "${options.output}": it is one of the inputs`);
    }
  }

  const platform = runtimePlatform();
  const work = await Deno.makeTempDir({ prefix: "llamafile-pack-" });
  const slash = options.output.lastIndexOf("/");
  const temp = `${slash < 0 ? "." : options.output.slice(0, slash) || "/"}/.${
    options.output.slice(slash + 1)
  }.${Deno.pid}.tmp`;
  let writer: ZipWriter | null = null;
  try {
    const runtime = await runtimeFiles(work, platform);
    const versionJson = JSON.stringify({
      llamafile: VERSION,
      "llama.cpp": LLAMA_CPP_RELEASE,
      deno: Deno.version.deno,
      platform,
    }) + "\n";
    const spec = (entries: LauncherEntry[], hash: string): LauncherSpec => ({
      version:
        `llamafile.ts ${VERSION} (deno ${Deno.version.deno}, llama.cpp ${LLAMA_CPP_RELEASE}, ${platform})`,
      platform,
      hash,
      entries,
      app: "app.js",
      libDir: "lib",
      args: argsWords,
      defaultHost: defaultOptions().host,
      defaultPort: defaultOptions().port,
    });
    const placeholders: LauncherEntry[] = runtime.map((file) => ({
      name: file.name,
      path: file.path,
      mode: file.mode,
      method: METHOD_DEFLATE,
      dataOffset: 0,
      compressedSize: 0,
      size: 0,
      crc32: 0,
      sha256: "0".repeat(64),
    }));
    const launcherSize = launcherSizeBound(spec(placeholders, "0".repeat(16)));

    let total = modelSize + mmprojSize;
    for (const file of runtime) total += (await Deno.stat(file.source)).size;
    const progress = new _Progress(total, options.progressBar ?? Deno.stderr.isTerminal(), log);

    writer = await ZipWriter.create(temp, {
      prefix: new Uint8Array(launcherSize).fill(0x0a),
      sha256: true,
    });
    progress.added(await writer.addBytes(ARGS_ENTRY, new TextEncoder().encode(argsText)));
    await writer.addBytes(VERSION_ENTRY, new TextEncoder().encode(versionJson));
    const written = new Map<string, ZipEntry>();
    for (const file of runtime) {
      const entry = await writer.addFile(file.name, file.source, {
        method: "deflate",
        mode: file.mode,
        onProgress: progress.entry(file.name),
      });
      written.set(file.name, entry);
      progress.added(entry);
    }
    progress.added(
      await writer.addFile(modelEntry, options.model, {
        align,
        onProgress: progress.entry(modelEntry),
      }),
    );
    if (options.mmproj !== undefined && mmprojEntry !== undefined) {
      progress.added(
        await writer.addFile(mmprojEntry, options.mmproj, {
          align,
          onProgress: progress.entry(mmprojEntry),
        }),
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
    const payloadHashes = new Map(runtime.map((file) => [file.name, hashes.get(file.name)!]));
    const hash = runtimeHash(payloadHashes);
    const entries: LauncherEntry[] = runtime.map((file) => {
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
        sha256: payloadHashes.get(file.name)!,
      };
    });
    const launcher = launcherBytes(spec(entries, hash), launcherSize);
    {
      using file = await Deno.open(temp, { write: true });
      let at = 0;
      while (at < launcher.length) at += await file.write(launcher.subarray(at));
    }
    await Deno.chmod(temp, 0o755);
    await Deno.rename(temp, options.output);
    log(
      `llamafile pack: wrote ${options.output} (${
        formatBytes(directory.fileSize)
      }, ${directory.entries.length} entries)`,
    );
    return {
      output: options.output,
      size: directory.fileSize,
      launcherSize,
      runtimeHash: hash,
      entries: directory.entries,
    };
  } finally {
    writer?.close();
    await Deno.remove(temp).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
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
  const progress = new _Progress(total, options.progressBar ?? Deno.stderr.isTerminal(), log);
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

/**
 * Runs `llamafile pack ARGS`; returns the exit code.
 *
 * @throws {UsageError} On bad arguments (the caller prints it and exits 2).
 */
export async function packCommand(argv: readonly string[]): Promise<number> {
  const request = parsePackArgs(argv);
  if (request.kind === "help") {
    await Deno.stdout.write(new TextEncoder().encode(PACK_HELP));
    return 0;
  }
  if (request.kind === "add") {
    await addToLlamafile(request.target, request.files, { align: request.align });
    return 0;
  }
  let argsText: string | undefined;
  let argsSource: string | undefined;
  if (request.argsFile !== undefined) {
    try {
      argsText = await Deno.readTextFile(request.argsFile);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotFound) {
        throw new Error(`Cannot read --args file "${request.argsFile}": no such file`, { cause });
      }
      throw cause;
    }
    argsSource = request.argsFile;
  } else if (request.args.length > 0) {
    argsText = request.args.map(argsFileQuote).join("\n") + "\n";
    argsSource = "--arg words";
  }
  await packLlamafile({
    model: request.model,
    ...(request.mmproj !== undefined && { mmproj: request.mmproj }),
    ...(argsText !== undefined && { argsText }),
    ...(argsSource !== undefined && { argsSource }),
    output: request.output,
    align: request.align,
  });
  return 0;
}
