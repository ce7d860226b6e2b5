/**
 * `deno task build-mtmd`: builds libmtmd, llama.cpp's multimodal library (what `--mmproj` and
 * `--image` load; the npm package does not carry it), and with `--reference` llama.cpp's own
 * `llama-mtmd-cli` (what `deno task vision-reference` compares our output with), from the
 * llama.cpp source of our libllama's release (the git bundle inside the `node-llama-cpp` npm
 * package, as the benchmark's native build), once, into
 * `${XDG_CACHE_HOME:-~/.cache}/llamafile-build/mtmd/`.
 *
 * Both are linked against the npm package's own libllama and libggml, never a second copy (see
 * `scripts/mtmd/CMakeLists.txt`): libmtmd's NEEDED entries are their SONAMEs and its RUNPATH is
 * `$ORIGIN`, so in our process it binds to the libraries already loaded (one libggml-base,
 * checked by tests/vision_test.ts in /proc/self/maps). A cold build of libmtmd takes about 3
 * minutes on 2 idle cores, the reference (llama-common and the CLI) about 6 more.
 *
 * ```sh
 * deno task build-mtmd               # libmtmd; prints the paths as JSON
 * deno task build-mtmd --reference   # and llama-mtmd-cli
 * ```
 *
 * @module
 */
import { exists, run } from "../bench/cache_dir.ts";
import { buildLock, llamaCppSource, NODE_LLAMA_CPP_VERSION } from "../bench/native.ts";
import { libraryDir, MTMD_LIB, mtmdBuildDir } from "../ffi/library_path.ts";

/** CMake flags of the build (portable code: the library travels inside llamafiles). */
export const MTMD_CMAKE_FLAGS: readonly string[] = ["-DCMAKE_BUILD_TYPE=Release"];

/** Source folder name inside the build folder: ggml shortens abort messages at ".../llama.cpp/". */
const SOURCE_FOLDER = "llama.cpp";

/** Our CMake project around llama.cpp's folders (its files are part of the build's stamp). */
const PROJECT_DIR = new URL("./mtmd/", import.meta.url);

/** What the build made. */
export interface MtmdBuild {
  /** `libmtmd.so`, installed where `mtmdLibraryPath()` looks for it. */
  library: string;
  /** llama.cpp's own `llama-mtmd-cli`, when the reference was asked for. */
  referenceCli?: string;
}

/** Options of {@linkcode ensureMtmdBuild}. */
export interface EnsureMtmdOptions {
  /** Also build llama.cpp's `llama-mtmd-cli` (default false). */
  reference?: boolean;
  /** Parallel build jobs (default 2). */
  jobs?: number;
  /** Receives progress lines (default: none). */
  log?: (line: string) => void;
}

/** The build failed, or cannot start (no toolchain). */
export class MtmdBuildError extends Error {
  override name = "MtmdBuildError";
}

/** The programs a build runs. */
export const BUILD_TOOLS = ["cmake", "make", "g++", "git", "tar", "npm"] as const;

function onPath(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not here
    }
  }
  return false;
}

function buildDir(): string {
  const dir = mtmdBuildDir();
  if (dir === null) {
    throw new MtmdBuildError(
      "Cannot build libmtmd: neither XDG_CACHE_HOME nor HOME is set (the build is cached there)",
    );
  }
  return dir;
}

/** The paths a finished build has. */
export function mtmdBuildPaths(dir: string = buildDir()): Required<MtmdBuild> {
  return {
    library: `${dir}/lib/${MTMD_LIB}`,
    referenceCli: `${dir}/build/bin/llama-mtmd-cli`,
  };
}

/** A digest of our CMake project's files: a change to them rebuilds. */
async function projectDigest(): Promise<string> {
  const parts: string[] = [];
  const names: string[] = [];
  for await (const entry of Deno.readDir(PROJECT_DIR)) if (entry.isFile) names.push(entry.name);
  for (const name of names.sort()) {
    parts.push(name, await Deno.readTextFile(new URL(name, PROJECT_DIR)));
  }
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return Array.from(new Uint8Array(hash).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function stampOk(path: string, digest: string): Promise<boolean> {
  try {
    const stamp = JSON.parse(await Deno.readTextFile(path));
    return stamp.version === NODE_LLAMA_CPP_VERSION && stamp.project === digest &&
      JSON.stringify(stamp.flags) === JSON.stringify(MTMD_CMAKE_FLAGS);
  } catch {
    return false;
  }
}

async function isBuilt(dir: string, reference: boolean, digest: string): Promise<boolean> {
  const paths = mtmdBuildPaths(dir);
  if (!(await stampOk(`${dir}/ok-lib.json`, digest)) || !(await exists(paths.library))) {
    return false;
  }
  if (!reference) return true;
  return (await stampOk(`${dir}/ok-reference.json`, digest)) &&
    (await exists(paths.referenceCli));
}

/**
 * Returns libmtmd (and llama-mtmd-cli when `reference`), building them first when the cache
 * does not hold them for this release and this project. Safe against two processes building
 * at once (a lock file; the second waits for the first).
 *
 * @throws {MtmdBuildError} When a build tool is missing, or `npm`, `git`, `cmake` or the
 * compiler fails.
 */
export async function ensureMtmdBuild(options: EnsureMtmdOptions = {}): Promise<MtmdBuild> {
  const reference = options.reference ?? false;
  const dir = buildDir();
  const digest = await projectDigest();
  const paths = mtmdBuildPaths(dir);
  const result = (): MtmdBuild => reference ? paths : { library: paths.library };
  if (await isBuilt(dir, reference, digest)) return result();
  const missing = BUILD_TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    throw new MtmdBuildError(
      `Cannot build libmtmd: ${missing.join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } not installed (a C++ toolchain is needed once: apt-get install cmake make g++ git)`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  const release = await buildLock(`${dir}/.lock`, () => isBuilt(dir, reference, digest));
  if (release === null) return result();
  const log = options.log ?? (() => {});
  try {
    const started = Date.now();
    const src = await llamaCppSource(dir, () => {}, SOURCE_FOLDER);
    const build = `${dir}/build`;
    const cmake = async (args: string[]) => {
      try {
        await run("cmake", args, { quiet: true });
      } catch (cause) {
        throw new MtmdBuildError(`Cannot build libmtmd: ${(cause as Error).message}`, { cause });
      }
    };
    await cmake([
      "-S",
      decodeURIComponent(PROJECT_DIR.pathname),
      "-B",
      build,
      ...MTMD_CMAKE_FLAGS,
      `-DLLAMA_CPP_SOURCE=${src}`,
      `-DLLAMAFILE_LIBDIR=${libraryDir()}`,
    ]);
    const jobs = String(options.jobs ?? 2);
    const libDone = await stampOk(`${dir}/ok-lib.json`, digest) && await exists(paths.library);
    const stamp = (seconds: number) =>
      JSON.stringify(
        { version: NODE_LLAMA_CPP_VERSION, project: digest, flags: MTMD_CMAKE_FLAGS, seconds },
        null,
        2,
      ) + "\n";
    if (!libDone) {
      await cmake(["--build", build, `-j${jobs}`, "--target", "mtmd"]);
      // Installed by rename, so a reader never sees half a file.
      await Deno.mkdir(`${dir}/lib`, { recursive: true });
      const partial = `${paths.library}.${Deno.pid}.tmp`;
      await Deno.copyFile(`${build}/bin/${MTMD_LIB}`, partial);
      await Deno.rename(partial, paths.library);
      const seconds = Math.round((Date.now() - started) / 1000);
      await Deno.writeTextFile(`${dir}/ok-lib.json`, stamp(seconds));
      log(`libmtmd built in ${seconds} s: ${paths.library}`);
    }
    if (reference) {
      const t0 = Date.now();
      await cmake(["--build", build, `-j${jobs}`, "--target", "llama-mtmd-cli"]);
      if (!(await exists(paths.referenceCli))) {
        throw new MtmdBuildError(`Cannot build llama-mtmd-cli: "${paths.referenceCli}" is missing`);
      }
      const seconds = Math.round((Date.now() - t0) / 1000);
      await Deno.writeTextFile(`${dir}/ok-reference.json`, stamp(seconds));
      log(`llama-mtmd-cli built in ${seconds} s: ${paths.referenceCli}`);
    }
    return result();
  } finally {
    await release();
  }
}

if (import.meta.main) {
  const reference = Deno.args.includes("--reference");
  const at = Deno.args.indexOf("-j");
  const jobs = at >= 0 ? Number(Deno.args[at + 1]) : undefined;
  console.error(
    `build-mtmd: building from llama.cpp's source if needed (cached in ${mtmdBuildDir()})`,
  );
  try {
    const built = await ensureMtmdBuild({
      reference,
      ...(jobs ? { jobs } : {}),
      log: (line) => console.error(`build-mtmd: ${line}`),
    });
    console.log(JSON.stringify(built));
  } catch (error) {
    console.error(`build-mtmd: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
