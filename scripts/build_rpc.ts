/**
 * `deno task build-rpc`: builds llama.cpp's RPC backend module (`libggml-rpc.so`, what
 * `--rpc` and `llamafile rpc-server` load) and llama.cpp's own worker (`ggml-rpc-server`, the
 * reference our client is tested against) from the llama.cpp source of our libllama's release
 * (the git bundle inside the `node-llama-cpp` npm package, as the benchmark's native build),
 * once, into `${XDG_CACHE_HOME:-~/.cache}/llamafile-build/rpc/`.
 *
 * The module must share one ggml with the npm package's libllama. That package's libraries
 * are built with `CMAKE_PLATFORM_NO_VERSIONED_SONAME`: `libggml-base.so` has that SONAME,
 * with no `.0`. Built the same way, the module's `NEEDED libggml-base.so` resolves to the one
 * already in the process (the dynamic loader matches SONAMEs first), and its RUNPATH is
 * `$ORIGIN`, so next to the npm libraries it finds nothing else either. `readelf -d` shows
 * both. A cold build takes about a minute on 2 cores (the module, ggml-base, a baseline x86-64
 * CPU backend for the reference worker).
 *
 * ```sh
 * deno task build-rpc        # build if needed, print the paths as JSON
 * ```
 *
 * @module
 */
import { exists, run } from "../bench/cache_dir.ts";
import { buildLock, llamaCppSource, NODE_LLAMA_CPP_VERSION } from "../bench/native.ts";
import { RPC_LIB, rpcBuildDir } from "../ffi/library_path.ts";

/** CMake flags of the build: shared, backends as modules, no versioned SONAMEs. */
export const RPC_CMAKE_FLAGS: readonly string[] = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=ON",
  "-DGGML_BACKEND_DL=ON",
  "-DGGML_RPC=ON",
  "-DGGML_RPC_RDMA=OFF",
  // GGML_NATIVE cannot be combined with GGML_BACKEND_DL: the reference worker's CPU backend is
  // the portable x86-64 baseline (ours uses the npm package's best variant).
  "-DGGML_NATIVE=OFF",
  "-DGGML_OPENMP=OFF",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_SERVER=OFF",
  "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
  "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON",
];

/** Source folder name inside the build folder (part of the stamp: a change rebuilds). */
const SOURCE_FOLDER = "llama.cpp";

/** CMake targets: the module, and the reference worker with its CPU backend. */
const TARGETS = ["ggml-rpc", "ggml-cpu", "ggml-rpc-server"];

/** What the build made. */
export interface RpcBuild {
  /** `libggml-rpc.so`, installed where `rpcLibraryPath()` looks for it. */
  module: string;
  /** llama.cpp's own `ggml-rpc-server` (with its own ggml, in its folder). */
  nativeServer: string;
}

/** Options of {@linkcode ensureRpcBuild}. */
export interface EnsureRpcBuildOptions {
  /** Parallel build jobs (default 2). */
  jobs?: number;
  /** Print progress to stderr (default true). */
  verbose?: boolean;
}

function buildDir(): string {
  const dir = rpcBuildDir();
  if (dir === null) {
    throw new Error("Cannot locate the build folder: neither XDG_CACHE_HOME nor HOME is set");
  }
  return dir;
}

/** The paths a finished build has. */
export function rpcBuildPaths(dir: string = buildDir()): RpcBuild {
  return {
    module: `${dir}/lib/${RPC_LIB}`,
    nativeServer: `${dir}/build/bin/ggml-rpc-server`,
  };
}

async function _isBuilt(dir: string): Promise<boolean> {
  try {
    const stamp = JSON.parse(await Deno.readTextFile(`${dir}/ok.json`));
    if (stamp.version !== NODE_LLAMA_CPP_VERSION) return false;
    if (JSON.stringify(stamp.flags) !== JSON.stringify(RPC_CMAKE_FLAGS)) return false;
    if (stamp.source !== SOURCE_FOLDER) return false;
  } catch {
    return false;
  }
  const paths = rpcBuildPaths(dir);
  return (await exists(paths.module)) && (await exists(paths.nativeServer));
}

/**
 * Returns the built RPC module and reference worker, building them first when the cache does
 * not hold them for this release and these flags. Safe against two processes building at
 * once (a lock file; the second waits for the first).
 *
 * @throws {Error} When `npm`, `git`, `cmake` or the compiler fails.
 */
export async function ensureRpcBuild(options: EnsureRpcBuildOptions = {}): Promise<RpcBuild> {
  const dir = buildDir();
  const paths = rpcBuildPaths(dir);
  if (await _isBuilt(dir)) return paths;
  await Deno.mkdir(dir, { recursive: true });
  const release = await buildLock(`${dir}/.lock`, () => _isBuilt(dir));
  if (release === null) return paths;
  try {
    const verbose = options.verbose ?? true;
    const log = (msg: string) => verbose && console.error(`build-rpc: ${msg}`);
    const started = Date.now();
    // A folder named llama.cpp: ggml's abort messages carry source paths, and the library
    // shortens them at ".../llama.cpp/" (`ggml/src/ggml-rpc/ggml-rpc.cpp:547: ...`).
    const src = await llamaCppSource(dir, log, SOURCE_FOLDER);
    log(`cmake ${RPC_CMAKE_FLAGS.join(" ")}`);
    await run("cmake", ["-S", src, "-B", `${dir}/build`, ...RPC_CMAKE_FLAGS], { quiet: true });
    const jobs = options.jobs ?? 2;
    log(`building ${TARGETS.join(", ")} with -j${jobs} (about a minute on 2 cores)`);
    await run("cmake", ["--build", `${dir}/build`, `-j${jobs}`, "--target", ...TARGETS], {
      quiet: !verbose,
    });
    // Installed by rename, so a reader never sees half a file.
    await Deno.mkdir(`${dir}/lib`, { recursive: true });
    const partial = `${paths.module}.${Deno.pid}.tmp`;
    await Deno.copyFile(`${dir}/build/bin/${RPC_LIB}`, partial);
    await Deno.rename(partial, paths.module);
    for (const path of Object.values(paths)) {
      if (!(await exists(path))) {
        throw new Error(`Cannot build the RPC backend: "${path}" is missing after the build`);
      }
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const stamp = {
      version: NODE_LLAMA_CPP_VERSION,
      flags: RPC_CMAKE_FLAGS,
      source: SOURCE_FOLDER,
      seconds,
      ...paths,
    };
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify(stamp, null, 2) + "\n");
    log(`built in ${seconds} s`);
    return paths;
  } finally {
    await release();
  }
}

if (import.meta.main) {
  const jobs = Deno.args[0] === "-j" ? Number(Deno.args[1]) : undefined;
  console.log(JSON.stringify(await ensureRpcBuild(jobs ? { jobs } : {})));
}
