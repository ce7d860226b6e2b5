/**
 * `llamafile --build-native`: builds ggml's CPU backend for this machine from the llama.cpp
 * source of our libllama's release, checks it, and installs it where every later run loads it
 * in place of the prebuilt variant (`ffi/library.ts`), the way llamafile builds its GPU modules
 * on the machine that runs them.
 *
 * 1. The source: the git bundle inside the npm package `node-llama-cpp` of our release (pinned
 *    by its sha512 integrity, fetched once with `npm pack` into `~/.cache/llamafile/npm/`),
 *    cloned with `git` into `~/.cache/llamafile/native/<release>-src/llama.cpp`.
 * 2. The build: CMake, the CPU backend alone (`ggml-cpu`) as a backend module
 *    (`GGML_BACKEND_DL`) with unversioned SONAMEs, so that its `NEEDED libggml-base.so` is the
 *    libggml-base the process already has (one ggml in the process); every ggml x86 feature
 *    this processor has turned on, and `-march=native` for the rest of what the compiler may
 *    use. `GGML_NATIVE` itself cannot be combined with `GGML_BACKEND_DL` in this release.
 * 3. The check: the app run twice in subprocesses, with the prebuilt variant and with the new
 *    library (`LLAMAFILE_CPU_BACKEND`), greedy, on the model `-m` names (or the llamafile's own
 *    weights): the same text, or the build is not installed.
 * 4. The install: `libggml-cpu-native.so` and its stamp `build.json` into
 *    `~/.cache/llamafile/native/<release>-<cpu>/`, a folder named after a hash of this
 *    processor's identity (`cpuIdentity()`), so a home folder shared between machines never
 *    loads one machine's build on another.
 *
 * Without cmake, a compiler, git or npm it says which is missing, in one line, and nothing
 * changes. `LLAMAFILE_CPU_BACKEND=prebuilt` runs with the prebuilt variant again.
 *
 * @module
 */
import { cpuFlags, cpuIdentity, ggmlFeatureOptions } from "../../ffi/cpu_variant.ts";
import { cpuKey } from "../../ffi/library.ts";
import { cpuinfoText } from "../../ffi/proc.ts";
import { NATIVE_CPU_LIB, NATIVE_CPU_STAMP, nativeCpuBackendDir } from "../../ffi/library_path.ts";
import { llamafileSelf } from "../onefile/llamafile_archive.ts";
import { npmPackageDir } from "../onefile/npm_package.ts";
import { type NpmPackage, PINNED_NODE_LLAMA_CPP } from "../onefile/platforms.ts";
import { cliPermissionFlags } from "../sandbox/permissions.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { LLAMA_CPP_RELEASE } from "../util/version.ts";
import type { CliOptions } from "./options.ts";

/** The npm package whose `llama/gitRelease.bundle` is our release's llama.cpp source. */
export const LLAMA_CPP_SOURCE_PACKAGE: NpmPackage = {
  name: "node-llama-cpp",
  version: PINNED_NODE_LLAMA_CPP,
  integrity:
    "sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==",
};

/** The CMake options of every native build (the CPU's own feature options come after). */
export const NATIVE_CMAKE_FLAGS: readonly string[] = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=ON",
  "-DGGML_BACKEND_DL=ON",
  "-DGGML_NATIVE=OFF",
  "-DGGML_CPU_ALL_VARIANTS=OFF",
  "-DGGML_OPENMP=OFF",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_TOOLS=OFF",
  "-DLLAMA_BUILD_SERVER=OFF",
  "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
  "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON",
  "-DCMAKE_C_FLAGS=-march=native",
  "-DCMAKE_CXX_FLAGS=-march=native",
];

/** The CMake options for a CPU with `flags`. */
export function nativeCmakeFlags(flags: ReadonlySet<string>): string[] {
  return [...NATIVE_CMAKE_FLAGS, ...ggmlFeatureOptions(flags)];
}

/** Greedy tokens the check compares. */
export const CHECK_TOKENS = 64;

/** What a finished build records beside its library (`build.json`). */
export interface NativeBuildStamp {
  release: string;
  cpu: string;
  cmakeFlags: string[];
  compiler: string;
  seconds: number;
  checkedWith: string;
  checkedTokens: number;
  date: string;
}

/** A build step failed: one line, exit 1. */
export class NativeBuildError extends Error {
  override name = "NativeBuildError";
}

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

/** The first of the tools a build needs that is missing, or `null`. */
export function missingTool(has: (name: string) => boolean = onPath): string | null {
  if (!has("cmake")) return "cmake";
  if (!["cc", "gcc", "clang"].some(has)) return "a C compiler (cc, gcc or clang)";
  if (!["c++", "g++", "clang++"].some(has)) return "a C++ compiler (c++, g++ or clang++)";
  if (!has("git")) return "git";
  return null;
}

async function run(
  what: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ stdout: string; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, {
      args,
      ...(options.cwd && { cwd: options.cwd }),
      ...(options.env && { env: options.env }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (cause) {
    throw new NativeBuildError(`Cannot ${what}: ${(cause as Error).message}`, { cause });
  }
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    const last = (stderr.trim() || stdout.trim()).split("\n").filter(Boolean).at(-1) ?? "";
    throw new NativeBuildError(
      `Cannot ${what}: ${command} exited with ${out.code}${last ? `: ${last.trim()}` : ""}`,
    );
  }
  return { stdout, stderr };
}

/** Takes `path` as a lock (our pid in it); waits while a live process holds it. */
async function lock(path: string, log: (line: string) => void): Promise<() => void> {
  let said = false;
  for (;;) {
    try {
      Deno.writeTextFileSync(path, String(Deno.pid), { createNew: true });
      return () => Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const pid = Number(Deno.readTextFileSync(path).trim());
    let alive = false;
    try {
      alive = pid > 0 && Deno.statSync(`/proc/${pid}`).isDirectory;
    } catch {
      alive = false;
    }
    if (!alive) {
      Deno.removeSync(path);
      continue;
    }
    if (!said) log(`waiting for process ${pid}, which builds it too`);
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** The path of the program this process runs (`cli.ts`, or a llamafile's `app.js`). */
function mainModulePath(): string {
  return decodeURIComponent(new URL(Deno.mainModule).pathname);
}

/**
 * Runs this program in a subprocess, sandboxed as the CLI, with `backend` as its CPU backend
 * (`prebuilt` or a library's path); returns its stdout.
 */
async function runWith(backend: string, args: string[]): Promise<string> {
  const packed = llamafileSelf() !== undefined;
  const { stdout } = await run(
    `run the check with the ${backend === "prebuilt" ? "prebuilt" : "new"} CPU backend`,
    Deno.execPath(),
    [
      "run",
      ...(packed ? ["--no-config", "--cached-only"] : []),
      ...cliPermissionFlags(),
      mainModulePath(),
      ...args,
    ],
    { env: { LLAMAFILE_CPU_BACKEND: backend } },
  );
  return stdout;
}

/** The C++ compiler CMake found, as it names itself (`g++ (Debian 12.2.0-14) 12.2.0`). */
async function compilerOf(buildDir: string): Promise<string> {
  try {
    const cache = await Deno.readTextFile(`${buildDir}/CMakeCache.txt`);
    const cxx = /^CMAKE_CXX_COMPILER:\w+=(.*)$/m.exec(cache)?.[1];
    if (!cxx) return "unknown compiler";
    const { stdout } = await run("ask the compiler its version", cxx, ["--version"]);
    return stdout.split("\n")[0]!.trim();
  } catch {
    return "unknown compiler";
  }
}

/**
 * Builds, checks and installs the CPU backend for this machine; returns the exit code.
 *
 * @throws {NativeBuildError} When a tool is missing or a step fails (one line for the user).
 */
export async function buildNativeCommand(options: CliOptions): Promise<number> {
  const log = (line: string) => writeStderr(`llamafile --build-native: ${line}`);
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new NativeBuildError(
      `Cannot build the CPU backend for this machine: only Linux x86-64 is supported, this is ${Deno.build.os} ${Deno.build.arch}`,
    );
  }
  const self = llamafileSelf();
  if (options.model === undefined && self === undefined) {
    throw new NativeBuildError(
      "Cannot check the CPU backend built for this machine: pass -m MODEL.gguf to compare its greedy text with the prebuilt one's",
    );
  }
  const missing = missingTool();
  if (missing !== null) {
    throw new NativeBuildError(
      `Cannot build the CPU backend for this machine: ${missing} is not on PATH (nothing changed: the prebuilt one stays in use)`,
    );
  }
  const cpuinfo = cpuinfoText();
  if (cpuinfo === null) {
    throw new NativeBuildError(
      "Cannot build the CPU backend for this machine: /proc/cpuinfo cannot be read",
    );
  }
  const dir = nativeCpuBackendDir(cpuKey(cpuinfo));
  if (dir === null) {
    throw new NativeBuildError(
      "Cannot build the CPU backend for this machine: neither XDG_CACHE_HOME nor HOME is set",
    );
  }
  const native = `${dir.slice(0, dir.lastIndexOf("/"))}`;
  const srcRoot = `${native}/${LLAMA_CPP_RELEASE}-src`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.mkdir(srcRoot, { recursive: true });
  const started = performance.now();

  // The source, once for every processor.
  const src = `${srcRoot}/llama.cpp`;
  {
    const release = await lock(`${srcRoot}/.lock`, log);
    try {
      let ready = false;
      try {
        ready = (await Deno.stat(`${src}/ggml/src/ggml-cpu/CMakeLists.txt`)).isFile;
      } catch {
        ready = false;
      }
      if (!ready) {
        const pkg = await npmPackageDir(LLAMA_CPP_SOURCE_PACKAGE, {
          nodeModules: `${srcRoot}/none`,
          log: () =>
            log(
              `fetching ${LLAMA_CPP_SOURCE_PACKAGE.name}@${LLAMA_CPP_SOURCE_PACKAGE.version} (the llama.cpp ${LLAMA_CPP_RELEASE} source) with npm pack`,
            ),
        }).catch((cause) => {
          throw new NativeBuildError((cause as Error).message, { cause });
        });
        log(`cloning the llama.cpp ${LLAMA_CPP_RELEASE} source into ${src}`);
        await Deno.remove(src, { recursive: true }).catch(() => {});
        await run("clone the llama.cpp source", "git", [
          "clone",
          "--quiet",
          `${pkg}/llama/gitRelease.bundle`,
          src,
        ]);
      }
    } finally {
      release();
    }
  }

  // The build, per processor.
  const release = await lock(`${dir}/.lock`, log);
  try {
    const flags = nativeCmakeFlags(cpuFlags(cpuinfo));
    const build = `${dir}/build`;
    log(`configuring: cmake ${flags.join(" ")}`);
    await run("configure the build", "cmake", ["-S", src, "-B", build, ...flags]);
    const jobs = Math.max(1, navigator.hardwareConcurrency ?? 1);
    log(`building ggml-cpu with -j${jobs} (a few minutes on 2 cores)`);
    await run("build the CPU backend", "cmake", [
      "--build",
      build,
      `-j${jobs}`,
      "--target",
      "ggml-cpu",
    ]);
    const built = `${build}/bin/libggml-cpu.so`;
    const candidate = `${dir}/.candidate-${Deno.pid}.so`;
    await Deno.copyFile(built, candidate);
    try {
      // The check: the same greedy text as the prebuilt variant.
      const model = options.model ?? self!;
      log(`checking: ${CHECK_TOKENS} greedy tokens on ${model} with each CPU backend`);
      const args = [
        ...(options.model !== undefined ? ["-m", options.model] : []),
        "-p",
        "Once upon a time",
        "-n",
        String(CHECK_TOKENS),
        "--ignore-eos",
        "--temp",
        "0",
        "-t",
        String(options.threads ?? 1),
        "--no-display-prompt",
        "--log-disable",
      ];
      const prebuilt = await runWith("prebuilt", args);
      const mine = await runWith(candidate, args);
      if (mine !== prebuilt) {
        throw new NativeBuildError(
          `Cannot use the CPU backend built for this machine: its greedy text for ${model} differs from the prebuilt one's (nothing changed)`,
        );
      }
      const seconds = Math.round((performance.now() - started) / 1000);
      const stamp: NativeBuildStamp = {
        release: LLAMA_CPP_RELEASE,
        cpu: cpuIdentity(cpuinfo),
        cmakeFlags: flags,
        compiler: await compilerOf(build),
        seconds,
        checkedWith: model,
        checkedTokens: CHECK_TOKENS,
        date: new Date().toISOString(),
      };
      await Deno.rename(candidate, `${dir}/${NATIVE_CPU_LIB}`);
      await Deno.writeTextFile(`${dir}/${NATIVE_CPU_STAMP}`, JSON.stringify(stamp, null, 2) + "\n");
      writeStdout(
        `llamafile: built the CPU backend for this machine in ${seconds} s (${stamp.compiler}): ${dir}/${NATIVE_CPU_LIB}\n` +
          `llamafile: it writes the prebuilt backend's ${CHECK_TOKENS} greedy tokens for ${model}; every run loads it from now on (LLAMAFILE_CPU_BACKEND=prebuilt for the prebuilt one)\n`,
      );
      return 0;
    } finally {
      await Deno.remove(candidate).catch(() => {});
    }
  } finally {
    release();
  }
}
