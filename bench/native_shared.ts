/**
 * The native reference built a second way, to tell "the build" from "our binding": llama.cpp's
 * own `llama-bench` built with shared libraries and backends as modules (`GGML_BACKEND_DL`,
 * unversioned SONAMEs), then run over the very libraries llamafile.ts loads, the npm package's
 * libllama, libggml, libggml-base and its prebuilt CPU variant for this machine (through
 * `LD_LIBRARY_PATH` and `GGML_BACKEND_PATH`), or over any other CPU backend library (a
 * `--build-native` build).
 *
 * Built once into `${XDG_CACHE_HOME:-~/.cache}/llamafile-bench/native-shared/` from the same
 * llama.cpp source as `native.ts` (`llamaCppSource`); a cold build takes about 10 minutes on 2
 * busy cores (libllama, llama-common, llama-bench).
 *
 * ```sh
 * deno run -A bench/native_shared.ts MODEL [THREADS]   # llama-bench over the npm libraries
 * ```
 *
 * @module
 */
import { cacheDir, exists, run } from "./cache_dir.ts";
import {
  buildLock,
  type LlamaBenchOptions,
  type LlamaBenchResult,
  llamaCppSource,
  NODE_LLAMA_CPP_VERSION,
} from "./native.ts";
import { GGML_LIB, libraryDir, LLAMA_LIB } from "../ffi/library_path.ts";
import { cpuFlags, pickCpuVariant } from "../ffi/cpu_variant.ts";

/** CMake flags: shared libraries, backends as modules, no CPU backend of its own. */
export const SHARED_CMAKE_FLAGS: readonly string[] = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=ON",
  "-DGGML_BACKEND_DL=ON",
  "-DGGML_NATIVE=OFF",
  "-DGGML_CPU=OFF",
  "-DGGML_OPENMP=OFF",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_SERVER=OFF",
  "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
  "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON",
];

/** What the shared build made. */
export interface SharedBench {
  /** A folder holding a copy of `llama-bench` and links to the npm package's libraries. */
  npmRun: string;
  /** The prebuilt CPU variant of the npm package this machine's flags pick. */
  prebuiltCpu: string;
}

async function isBuilt(dir: string): Promise<boolean> {
  try {
    const stamp = JSON.parse(await Deno.readTextFile(`${dir}/ok.json`));
    if (stamp.version !== NODE_LLAMA_CPP_VERSION) return false;
    if (JSON.stringify(stamp.flags) !== JSON.stringify(SHARED_CMAKE_FLAGS)) return false;
  } catch {
    return false;
  }
  return await exists(`${dir}/build/bin/llama-bench`);
}

/**
 * The shared `llama-bench`, built if needed, set up to run over the npm package's libraries.
 *
 * @throws {Error} When the build fails, or `llama-bench` would not load the npm libraries.
 */
export async function ensureNativeShared(
  options: { jobs?: number; verbose?: boolean } = {},
): Promise<SharedBench> {
  const dir = cacheDir("native-shared");
  const log = (msg: string) => (options.verbose ?? true) && console.error(`native-shared: ${msg}`);
  if (!(await isBuilt(dir))) {
    await Deno.mkdir(dir, { recursive: true });
    const release = await buildLock(`${dir}/.lock`, () => isBuilt(dir));
    if (release !== null) {
      try {
        const started = Date.now();
        const src = await llamaCppSource(dir, log);
        log(`cmake ${SHARED_CMAKE_FLAGS.join(" ")}`);
        await run("cmake", ["-S", src, "-B", `${dir}/build`, ...SHARED_CMAKE_FLAGS], {
          quiet: true,
        });
        const jobs = options.jobs ?? 2;
        log(`building llama-bench with -j${jobs} (about 10 minutes on 2 busy cores)`);
        await run("cmake", ["--build", `${dir}/build`, `-j${jobs}`, "--target", "llama-bench"], {
          quiet: true,
        });
        const stamp = {
          version: NODE_LLAMA_CPP_VERSION,
          flags: SHARED_CMAKE_FLAGS,
          seconds: Math.round((Date.now() - started) / 1000),
        };
        await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify(stamp, null, 2) + "\n");
      } finally {
        await release();
      }
    }
  }

  // A folder with llama-bench and the npm libraries under the names it links to. Its own
  // CPU backend comes from GGML_BACKEND_PATH only: no libggml-cpu* here or in its cwd.
  const npm = libraryDir();
  const npmRun = `${dir}/run-npm`;
  await Deno.mkdir(npmRun, { recursive: true });
  const links: [string, string][] = [
    ["libllama.so", `${npm}/${LLAMA_LIB}`],
    ["libggml.so", `${npm}/${GGML_LIB}`],
    ["libggml-base.so", `${npm}/libggml-base.so`],
    ["libllama-common.so", `${dir}/build/bin/libllama-common.so`],
    ["libllama-bench-impl.so", `${dir}/build/bin/libllama-bench-impl.so`],
  ];
  for (const [name, target] of links) {
    await Deno.remove(`${npmRun}/${name}`).catch(() => {});
    await Deno.symlink(target, `${npmRun}/${name}`);
  }
  await Deno.copyFile(`${dir}/build/bin/llama-bench`, `${npmRun}/llama-bench`);
  await Deno.chmod(`${npmRun}/llama-bench`, 0o755);
  // Check what the dynamic loader resolves.
  const trace = await run(`${npmRun}/llama-bench`, [], {
    env: { LD_TRACE_LOADED_OBJECTS: "1", LD_LIBRARY_PATH: npmRun },
  });
  for (const name of ["libllama.so", "libggml.so", "libggml-base.so"]) {
    const line = trace.split("\n").find((l) => l.trim().startsWith(`${name} `));
    if (!line?.includes(npmRun)) {
      throw new Error(`Cannot run llama-bench over the npm libraries: ${name} resolves as ${line}`);
    }
  }
  const variant = pickCpuVariant(cpuFlags(await Deno.readTextFile("/proc/cpuinfo")));
  return { npmRun, prebuiltCpu: `${npm}/libggml-cpu-${variant}.so` };
}

/**
 * Runs the shared `llama-bench` over the npm libraries with `cpuBackend` as its one CPU
 * backend; returns the mean pp and tg throughput.
 */
export async function runSharedLlamaBench(
  bench: SharedBench,
  model: string,
  cpuBackend: string,
  options: LlamaBenchOptions = {},
): Promise<LlamaBenchResult> {
  const nPrompt = options.nPrompt ?? 512;
  const nGen = options.nGen ?? 128;
  const out = await run(`${bench.npmRun}/llama-bench`, [
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
  ], {
    cwd: bench.npmRun,
    env: { LD_LIBRARY_PATH: bench.npmRun, GGML_BACKEND_PATH: cpuBackend },
    quiet: true,
  });
  const rows = JSON.parse(out) as {
    n_prompt: number;
    n_gen: number;
    avg_ts: number;
    stddev_ts: number;
    cpu_info?: string;
  }[];
  const pp = rows.find((r) => r.n_prompt === nPrompt && r.n_gen === 0);
  const tg = rows.find((r) => r.n_prompt === 0 && r.n_gen === nGen);
  if (!pp || !tg) throw new Error(`Cannot read llama-bench output for "${model}": no pp/tg rows`);
  return { pp: pp.avg_ts, tg: tg.avg_ts, ppStddev: pp.stddev_ts, tgStddev: tg.stddev_ts };
}

if (import.meta.main) {
  const bench = await ensureNativeShared();
  if (Deno.args[0]) {
    const threads = Number(Deno.args[1] ?? 1);
    const cpu = Deno.args[2] ?? bench.prebuiltCpu;
    const result = await runSharedLlamaBench(bench, Deno.args[0], cpu, {
      threads,
      flashAttn: "off",
    });
    console.log(JSON.stringify({ model: Deno.args[0], threads, cpu, ...result }));
  } else {
    console.log(JSON.stringify(bench));
  }
}
