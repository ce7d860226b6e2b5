/**
 * `llamafile pack`: reads the arguments (the `pack` table) and runs the packer of
 * `lib/onefile/pack.ts`.
 *
 * ```
 * llamafile pack -m MODEL.gguf [--mmproj F] [--args FILE | --arg X ...] [--align N]
 *                [--platform P,...|all] [--gpu vulkan,cuda] -o OUT.llamafile
 * llamafile pack --add FILE... TO.llamafile [--align N]
 * ```
 *
 * @module
 */
import type { GpuBuildName } from "../../ffi/gpu_backends.ts";
import { ARGS_SPLICE, argsFileQuote, parseArgsFile } from "../onefile/args_file.ts";
import type { LauncherArgv } from "../onefile/launcher.ts";
import { addToLlamafile, packLlamafile, type PackResult } from "../onefile/pack.ts";
import { formatOptionHelp, parseArgs, UsageError, valueOptionNames } from "./option_table.ts";
import { CLI_TABLE, defaultOptions, parseCliArgs, SUBCOMMANDS } from "./options.ts";
import { PACK_TABLE } from "./options/pack.ts";

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
    /** `--platform`: the runtimes to carry (absent: this machine's). */
    platforms?: string[];
    /** `--gpu`: GPU backends to add to this machine's runtime. */
    gpu: GpuBuildName[];
  }
  | { kind: "add"; files: string[]; target: string; align: number }
  | { kind: "help" };

/** The `llamafile pack --help` text, generated from the `pack` table. */
export function packHelp(): string {
  return [
    "llamafile pack: build a llamafile (one file: launcher, runtime, weights, defaults)",
    "",
    "USAGE",
    "  llamafile pack -m MODEL.gguf [--mmproj F] [--args FILE | --arg X ...]",
    "                 [--platform P,...|all] [--gpu vulkan,cuda] -o OUT.llamafile",
    "  llamafile pack --add FILE... TO.llamafile",
    ...formatOptionHelp(PACK_TABLE),
  ].join("\n") + "\n";
}

/**
 * Parses the arguments after `pack`.
 *
 * @throws {UsageError} On unknown options, missing values or a wrong combination.
 */
export function parsePackArgs(argv: readonly string[]): PackRequest {
  const a = parseArgs(PACK_TABLE, argv);
  if (a.help) return { kind: "help" };
  if (a.add) {
    if (
      a.model !== undefined || a.mmproj !== undefined || a.argsFile !== undefined ||
      a.arg.length > 0 || a.output !== undefined || a.platforms !== undefined ||
      a.gpu.length > 0
    ) {
      throw new UsageError(
        "pack --add takes only files and the llamafile to add them to (and --align)",
      );
    }
    if (a.files.length < 2) {
      throw new UsageError("pack --add needs at least one FILE and the TO.llamafile");
    }
    return { kind: "add", files: a.files.slice(0, -1), target: a.files.at(-1)!, align: a.align };
  }
  if (a.files.length > 0) throw new UsageError(`Unexpected pack argument "${a.files[0]}"`);
  if (a.model === undefined) throw new UsageError("pack needs the weights: -m MODEL.gguf");
  if (a.output === undefined) throw new UsageError("pack needs the output: -o OUT.llamafile");
  if (a.argsFile !== undefined && a.arg.length > 0) {
    throw new UsageError("pack takes --args FILE or --arg X words, not both");
  }
  return {
    kind: "create",
    model: a.model,
    ...(a.mmproj !== undefined && { mmproj: a.mmproj }),
    ...(a.argsFile !== undefined && { argsFile: a.argsFile }),
    args: a.arg,
    output: a.output,
    align: a.align,
    ...(a.platforms !== undefined && { platforms: a.platforms }),
    gpu: [...new Set(a.gpu)],
  };
}

/** What the launcher of a packed llamafile must know of the command line: from the table. */
export function launcherArgv(): LauncherArgv {
  const defaults = defaultOptions();
  return {
    valueOptions: valueOptionNames(CLI_TABLE),
    defaultHost: defaults.host,
    defaultPort: defaults.port,
    subcommands: SUBCOMMANDS,
  };
}

/** Reads `.args` text the way the app will read it: its words, or a UsageError. */
export function readArgsText(text: string, source: string): string[] {
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

/** A `pack -m ... -o ...` request. */
export type CreateRequest = Extract<PackRequest, { kind: "create" }>;

/** Builds the llamafile `request` asks for (reading its `--args` file); returns what was written. */
export async function createLlamafile(
  request: CreateRequest,
  options: { log?: (line: string) => void } = {},
): Promise<PackResult> {
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
  return await packLlamafile({
    model: request.model,
    ...(request.mmproj !== undefined && { mmproj: request.mmproj }),
    ...(argsText !== undefined && { argsText }),
    ...(argsSource !== undefined && { argsSource }),
    output: request.output,
    align: request.align,
    ...(request.platforms !== undefined && { platforms: request.platforms }),
    gpu: request.gpu,
    argv: launcherArgv(),
    readArgs: readArgsText,
    ...(options.log && { log: options.log }),
  });
}

/**
 * Runs `llamafile pack ARGS`; returns the exit code.
 *
 * @throws {UsageError} On bad arguments (the caller prints it and exits 2).
 */
export async function packCommand(argv: readonly string[]): Promise<number> {
  const request = parsePackArgs(argv);
  if (request.kind === "help") {
    await Deno.stdout.write(new TextEncoder().encode(packHelp()));
    return 0;
  }
  if (request.kind === "add") {
    await addToLlamafile(request.target, request.files, { align: request.align });
    return 0;
  }
  await createLlamafile(request);
  return 0;
}
