/**
 * Builds llama.cpp's own `llama-bench`, `llama-completion` and `llama-server` (the native
 * reference for our benchmarks) from the llama.cpp source shipped inside the `node-llama-cpp`
 * npm package, once, into `${XDG_CACHE_HOME:-~/.cache}/llamafile-bench/native/`.
 *
 * The source is the exact release our libllama comes from (`llama/gitRelease.bundle`), so the
 * native numbers compare like with like. A build takes 5–6 minutes on 2 cores.
 *
 * ```sh
 * deno run -A bench/native.ts          # build if needed, print the binary paths as JSON
 * ```
 *
 * @module
 */

import { cacheDir, exists, run } from "./cache_dir.ts";

/** The npm package (and so the llama.cpp release) the native binaries are built from. */
export const NODE_LLAMA_CPP_VERSION = "3.22.1";

/** Paths of the built native binaries. */
export interface NativeBinaries {
  /** `llama-bench` (pp/tg throughput). */
  bench: string;
  /** `llama-completion` (plain completion of `-p` for `-n` tokens). */
  completion: string;
  /** `llama-server` (the server benchmark's reference), built without its web UI. */
  server: string;
}

/** Options of {@linkcode ensureNative}. */
export interface EnsureNativeOptions {
  /** Parallel build jobs (default 2: the machine's core count). */
  jobs?: number;
  /** Print progress to stderr (default true). */
  verbose?: boolean;
}

const CMAKE_FLAGS = [
  "-DGGML_NATIVE=ON",
  "-DGGML_OPENMP=OFF",
  "-DLLAMA_CURL=OFF",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DCMAKE_BUILD_TYPE=Release",
  // llama-server without its web UI: nothing is fetched at build time.
  "-DLLAMA_BUILD_UI=OFF",
  "-DLLAMA_USE_PREBUILT_UI=OFF",
];
const TARGETS = ["llama-bench", "llama-completion", "llama-server"];

/**
 * Returns the native `llama-bench` and `llama-completion`, building them first if the cache
 * does not hold them yet. Safe against two processes building at once (a lock file; the
 * second waits for the first).
 *
 * @throws {Error} When `npm`, `git`, `cmake` or the compiler fails.
 */
export async function ensureNative(options: EnsureNativeOptions = {}): Promise<NativeBinaries> {
  const dir = cacheDir("native");
  const bins: NativeBinaries = {
    bench: `${dir}/build/bin/llama-bench`,
    completion: `${dir}/build/bin/llama-completion`,
    server: `${dir}/build/bin/llama-server`,
  };
  const stamp = `${dir}/ok.json`;
  if (await _isBuilt(stamp, bins)) return bins;

  await Deno.mkdir(dir, { recursive: true });
  const release = await buildLock(`${dir}/.lock`, () => _isBuilt(stamp, bins));
  if (release === null) return bins; // another process finished the build while we waited
  try {
    await _build(dir, options);
    for (const path of Object.values(bins)) {
      if (!(await exists(path))) {
        throw new Error(`Cannot build the native binaries: "${path}" is missing after the build`);
      }
    }
    const info = { version: NODE_LLAMA_CPP_VERSION, flags: CMAKE_FLAGS, ...bins };
    await Deno.writeTextFile(stamp, JSON.stringify(info, null, 2) + "\n");
    return bins;
  } finally {
    await release();
  }
}

async function _isBuilt(stamp: string, bins: NativeBinaries): Promise<boolean> {
  if (!(await exists(stamp))) return false;
  try {
    const info = JSON.parse(await Deno.readTextFile(stamp));
    if (info.version !== NODE_LLAMA_CPP_VERSION) return false;
  } catch {
    return false;
  }
  return (await exists(bins.bench)) && (await exists(bins.completion)) &&
    (await exists(bins.server));
}

async function _build(dir: string, options: EnsureNativeOptions): Promise<void> {
  const verbose = options.verbose ?? true;
  const log = (msg: string) => verbose && console.error(`native: ${msg}`);
  const quiet = !verbose;
  const src = await llamaCppSource(dir, log);

  log(`cmake ${CMAKE_FLAGS.join(" ")}`);
  await run("cmake", ["-S", src, "-B", `${dir}/build`, ...CMAKE_FLAGS], { quiet });
  const jobs = options.jobs ?? 2;
  log(`building ${TARGETS.join(", ")} with -j${jobs} (5–6 minutes on 2 cores)`);
  await run("cmake", ["--build", `${dir}/build`, `-j${jobs}`, "--target", ...TARGETS], {
    quiet,
  });
}

/**
 * The llama.cpp source of our libllama's release, cloned into `dir/<folder>` (default `src`)
 * from the git bundle inside the `node-llama-cpp` npm package (fetched with `npm pack` into
 * `dir` once); returns its path. Call it holding {@linkcode buildLock} on `dir`.
 */
export async function llamaCppSource(
  dir: string,
  log: (msg: string) => void,
  folder = "src",
): Promise<string> {
  const tgz = `${dir}/node-llama-cpp-${NODE_LLAMA_CPP_VERSION}.tgz`;
  if (!(await exists(tgz))) {
    log(`npm pack node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`);
    await run("npm", [
      "pack",
      `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`,
      "--pack-destination",
      dir,
      "--silent",
    ], { quiet: true });
  }

  const bundle = `${dir}/pkg/package/llama/gitRelease.bundle`;
  if (!(await exists(bundle))) {
    await Deno.mkdir(`${dir}/pkg`, { recursive: true });
    log("extracting llama/gitRelease.bundle");
    await run("tar", ["-xzf", tgz, "-C", `${dir}/pkg`, "package/llama/gitRelease.bundle"], {
      quiet: true,
    });
  }

  const src = `${dir}/${folder}`;
  if (!(await exists(`${src}/CMakeLists.txt`))) {
    await Deno.remove(src, { recursive: true }).catch(() => {});
    log("git clone gitRelease.bundle");
    await run("git", ["clone", "--quiet", bundle, src], { quiet: true });
  }
  return src;
}

/**
 * Takes the lock file `path` (holding our pid). Returns its release function, or null when
 * `done()` became true while waiting for another live process. A lock left by a dead
 * process is taken over.
 */
export async function buildLock(
  path: string,
  done: () => Promise<boolean>,
): Promise<(() => Promise<void>) | null> {
  for (;;) {
    try {
      await Deno.writeTextFile(path, String(Deno.pid), { createNew: true });
      return () => Deno.remove(path).catch(() => {});
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const pid = Number((await Deno.readTextFile(path).catch(() => "")).trim());
    if (!(pid > 0) || !(await exists(`/proc/${pid}`))) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    if (await done()) return null;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Options of {@linkcode runLlamaBench}. */
export interface LlamaBenchOptions {
  /** Threads (`-t`; default 1: this machine's cores are shared). */
  threads?: number;
  /** Repetitions of each test (`-r`; default 3). */
  reps?: number;
  /** Flash attention (`-fa`; default `auto`, llama-bench's own default). */
  flashAttn?: "on" | "off" | "auto";
  /** Prompt length of the pp test (default 512). */
  nPrompt?: number;
  /** Generated tokens of the tg test (default 128). */
  nGen?: number;
}

/** Throughput measured by `llama-bench`, in tokens per second. */
export interface LlamaBenchResult {
  /** Prompt processing of `nPrompt` tokens in one batch (mean tok/s). */
  pp: number;
  /** Generation of `nGen` tokens one at a time (mean tok/s). */
  tg: number;
  /** Standard deviations of the two, tok/s. */
  ppStddev: number;
  tgStddev: number;
}

/**
 * Runs the native `llama-bench` (building it first if needed) on `model` and returns the mean
 * pp and tg throughput.
 *
 * @throws {Error} When llama-bench fails or prints no result for a test.
 */
export async function runLlamaBench(
  model: string,
  options: LlamaBenchOptions = {},
): Promise<LlamaBenchResult> {
  const { bench } = await ensureNative({ verbose: false });
  const nPrompt = options.nPrompt ?? 512;
  const nGen = options.nGen ?? 128;
  const out = await run(bench, [
    "-m",
    model,
    "-t",
    String(options.threads ?? 1),
    "-r",
    String(options.reps ?? 3),
    "-fa",
    options.flashAttn ?? "auto",
    "-p",
    String(nPrompt),
    "-n",
    String(nGen),
    "-o",
    "json",
  ], { quiet: true });
  const rows = JSON.parse(out) as {
    n_prompt: number;
    n_gen: number;
    avg_ts: number;
    stddev_ts: number;
  }[];
  const pp = rows.find((r) => r.n_prompt === nPrompt && r.n_gen === 0);
  const tg = rows.find((r) => r.n_prompt === 0 && r.n_gen === nGen);
  if (!pp || !tg) throw new Error(`Cannot read llama-bench output for "${model}": no pp/tg rows`);
  return { pp: pp.avg_ts, tg: tg.avg_ts, ppStddev: pp.stddev_ts, tgStddev: tg.stddev_ts };
}

if (import.meta.main) {
  // deno run -A bench/native.ts [-j N] [MODEL [THREADS]]: build, then bench MODEL if given.
  const args = [...Deno.args];
  let jobs: number | undefined;
  if (args[0] === "-j") {
    jobs = Number(args[1]);
    args.splice(0, 2);
  }
  const bins = await ensureNative(jobs ? { jobs } : {});
  if (args[0]) {
    const result = await runLlamaBench(args[0], { threads: Number(args[1] ?? 1) });
    console.log(JSON.stringify({ model: args[0], threads: Number(args[1] ?? 1), ...result }));
  } else {
    console.log(JSON.stringify(bins));
  }
}
