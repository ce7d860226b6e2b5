/**
 * `llamafile pack` options.
 *
 * @module
 */
import { GPU_BUILD_NAMES, type GpuBuildName } from "../../../ffi/gpu_backends.ts";
import { type OptionSpec, type OptionTable, UsageError } from "../option_table.ts";
import { parsePlatformList, PLATFORM_NAMES } from "../../onefile/platforms.ts";

/** Smallest and largest alignment of a `.gguf` entry's data (mmap needs 32; pages want 64 KiB). */
export const PACK_ALIGN = { min: 32, max: 65536 } as const;

/** What `llamafile pack` reads from its arguments. */
export interface PackArgs {
  model?: string;
  mmproj?: string;
  argsFile?: string;
  arg: string[];
  output?: string;
  align: number;
  /** `--platform`: the runtimes to carry (default: this machine's). */
  platforms?: string[];
  /** `--gpu`: GPU backends to add to this machine's runtime. */
  gpu: GpuBuildName[];
  add: boolean;
  help: boolean;
  /** Words that are not options: the files of `--add` and the llamafile to add them to. */
  files: string[];
}

/** Reads `--align N`: a power of 2 within {@linkcode PACK_ALIGN}. */
export function parseAlign(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= PACK_ALIGN.min && n <= PACK_ALIGN.max && (n & (n - 1)) === 0)) {
    throw new UsageError(
      `Invalid value "${text}" for --align: must be a power of 2 from ${PACK_ALIGN.min} to ${PACK_ALIGN.max}`,
    );
  }
  return n;
}

function parseGpuBuild(text: string): GpuBuildName {
  if (!(GPU_BUILD_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(
      `Invalid value "${text}" for --gpu: must be one of ${GPU_BUILD_NAMES.join(", ")}`,
    );
  }
  return text as GpuBuildName;
}

/** Reads `--platform P,...|all`. */
export function parsePlatforms(text: string): string[] {
  try {
    return parsePlatformList(text);
  } catch (error) {
    throw new UsageError(`Invalid value "${text}" for --platform: ${(error as Error).message}`);
  }
}

/** `--platform`, shared by `pack` and `upgrade`. */
export function platformSpec<T extends { platforms?: string[] }>(
  what: string,
): OptionSpec<T> {
  return {
    names: ["--platform"],
    key: "platforms" as keyof T & string,
    kind: "string",
    arg: "P,...",
    parse: parsePlatforms,
    defaultText: "this machine's",
    help: `platforms to ${what} a runtime for (${PLATFORM_NAMES.join(", ")}, or all)`,
  };
}

/** The `pack` table. */
export const PACK_TABLE: OptionTable<PackArgs> = {
  command: "pack",
  positional: "files",
  sections: [{
    title: "One file: llamafile pack",
    defaults: { arg: [], align: PACK_ALIGN.max, gpu: [], add: false, help: false },
    specs: [
      {
        names: ["-m", "--model"],
        key: "model",
        kind: "string",
        arg: "FNAME",
        help: "the weights (GGUF), stored uncompressed and aligned, read in place",
      },
      {
        names: ["--mmproj"],
        key: "mmproj",
        kind: "string",
        arg: "FNAME",
        help: "a vision projector (GGUF) to store beside them",
      },
      {
        names: ["--args"],
        key: "argsFile",
        kind: "string",
        arg: "FNAME",
        help:
          "default arguments, stored as .args (shell-like words, # comments, '...' marks where the user's arguments go)",
      },
      {
        names: ["--arg"],
        key: "arg",
        kind: "list",
        arg: "X",
        help: "one default argument (repeatable; instead of --args)",
      },
      {
        names: ["-o", "--output"],
        key: "output",
        kind: "string",
        arg: "FNAME",
        help: "the llamafile to write (replaced only once it is complete)",
      },
      {
        names: ["--align"],
        key: "align",
        kind: "string",
        arg: "N",
        parse: parseAlign,
        help:
          `data alignment of .gguf entries, a power of 2 from ${PACK_ALIGN.min} to ${PACK_ALIGN.max}`,
      },
      platformSpec<PackArgs>("carry"),
      {
        names: ["--gpu"],
        key: "gpu",
        kind: "list",
        arg: "vulkan,cuda,...",
        commaList: true,
        parse: parseGpuBuild,
        help:
          "add GPU backends to this machine's runtime: vulkan (+43 MB, 14 MB packed), cuda (CUDA 13, +159 MB, 132 MB packed), cuda-ext (CUDA 12, +374 MB, 176 MB packed)",
      },
      {
        names: ["--add"],
        key: "add",
        kind: "flag",
        help: "FILE... TO: append files to an existing llamafile (append-only, like zipalign)",
      },
      { names: ["-h", "--help"], key: "help", kind: "flag", help: "show this help" },
    ],
  }],
};
