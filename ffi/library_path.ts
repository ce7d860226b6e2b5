/**
 * Where the libllama / ggml shared libraries live, and a CPU backend built for this machine.
 *
 * @module
 */
import { LLAMA_CPP_RELEASE } from "../lib/util/version.ts";

/** File name of libllama in the npm package `@node-llama-cpp/linux-x64@3.22.1`. */
export const LLAMA_LIB = "libllama.v0.5.0.so";
/** File name of libggml (the backend registry) in the same folder. */
export const GGML_LIB = "libggml.v0.5.0.so";

/** File name of a CPU backend built for this machine (`llamafile --build-native`). */
export const NATIVE_CPU_LIB = "libggml-cpu-native.so";

/** The stamp written beside it once it is verified; without it the build is not loaded. */
export const NATIVE_CPU_STAMP = "build.json";

/**
 * Which CPU backend to load: `$LLAMAFILE_CPU_BACKEND`, `prebuilt` (the npm package's variant
 * for this CPU), a path to a `libggml-cpu` library, or unset (the build for this machine when
 * there is a verified one, else the prebuilt variant).
 */
export function cpuBackendChoice(): string | undefined {
  try {
    return Deno.env.get("LLAMAFILE_CPU_BACKEND") || undefined;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    return undefined;
  }
}

/**
 * Where the CPU backend built for this machine lives: a folder of the llamafile cache
 * (`${XDG_CACHE_HOME:-~/.cache}/llamafile/native/<release>-<cpu>`), shared by the checkout and
 * every llamafile of this llama.cpp release, named after the release and a hash of the
 * processor's identity (`cpuIdentity()`), so that a home folder shared between machines never
 * loads one machine's build on another. `null` when neither `XDG_CACHE_HOME` nor `HOME` is set.
 */
export function nativeCpuBackendDir(
  cpuKey: string,
  root: string | null = nativeBuildsDir(),
): string | null {
  return root === null ? null : `${root}/${LLAMA_CPP_RELEASE}-${cpuKey}`;
}

/**
 * The folder of native builds (`${XDG_CACHE_HOME:-~/.cache}/llamafile/native`), whatever the
 * release and processor; `null` when neither `XDG_CACHE_HOME` nor `HOME` is set.
 */
export function nativeBuildsDir(): string | null {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) return undefined;
      throw error;
    }
  };
  const xdg = env("XDG_CACHE_HOME");
  const home = env("HOME");
  const base = xdg ? xdg : home ? `${home}/.cache` : null;
  if (base === null) return null;
  return `${base.replace(/\/+$/, "")}/llamafile/native`;
}

/**
 * File name of libmtmd, llama.cpp's multimodal library: not in the npm package, built from the
 * same release's source against its libraries (`deno task build-mtmd`).
 */
export const MTMD_LIB = "libmtmd.so";

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Where `deno task build-mtmd` builds libmtmd and llama.cpp's `llama-mtmd-cli`:
 * `${XDG_CACHE_HOME:-~/.cache}/llamafile-build/mtmd`; `null` when neither variable is set.
 */
export function mtmdBuildDir(): string | null {
  const xdg = envValue("XDG_CACHE_HOME");
  const home = envValue("HOME");
  const base = xdg ? xdg : home ? `${home}/.cache` : null;
  return base === null ? null : `${base.replace(/\/+$/, "")}/llamafile-build/mtmd`;
}

/**
 * The libmtmd to load: `$LLAMAFILE_MTMD_LIB` when set, else `MTMD_LIB` beside the libllama in
 * use (a llamafile packed with `--mmproj` carries it there), else the one `deno task build-mtmd`
 * built; `null` when none of them exists.
 */
export function mtmdLibraryPath(dir: string = libraryDir()): string | null {
  const fromEnv = envValue("LLAMAFILE_MTMD_LIB");
  if (fromEnv) return fromEnv;
  const built = mtmdBuildDir();
  return firstFile([`${dir}/${MTMD_LIB}`, ...(built === null ? [] : [`${built}/lib/${MTMD_LIB}`])]);
}

/**
 * The folder holding the libraries: `$LLAMAFILE_LIBDIR` when set, else the npm
 * package in this checkout's `node_modules`.
 */
export function libraryDir(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("LLAMAFILE_LIBDIR");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  if (fromEnv) return fromEnv.replace(/\/+$/, "");
  const url = new URL("../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64", import.meta.url);
  return decodeURIComponent(url.pathname);
}

/** File name of ggml's RPC backend module, built from the same release (`deno task build-rpc`). */
export const RPC_LIB = "libggml-rpc.so";

/**
 * Where `deno task build-rpc` installs what it builds from llama.cpp's source:
 * `${XDG_CACHE_HOME:-~/.cache}/llamafile-build/rpc`; `null` when neither variable is set.
 */
export function rpcBuildDir(): string | null {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) return undefined;
      throw error;
    }
  };
  const xdg = env("XDG_CACHE_HOME");
  const home = env("HOME");
  const base = xdg ? xdg : home ? `${home}/.cache` : null;
  return base === null ? null : `${base.replace(/\/+$/, "")}/llamafile-build/rpc`;
}

/**
 * The RPC backend module to load: `$LLAMAFILE_RPC_LIB` when set, else `RPC_LIB` beside the
 * libllama in use (a packed llamafile carries it there), else the one `deno task build-rpc`
 * built; `null` when none of them exists.
 */
export function rpcLibraryPath(dir: string = libraryDir()): string | null {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("LLAMAFILE_RPC_LIB");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  if (fromEnv) return fromEnv;
  const built = rpcBuildDir();
  return firstFile([`${dir}/${RPC_LIB}`, ...(built === null ? [] : [`${built}/lib/${RPC_LIB}`])]);
}

/** The first of `paths` that is a file, or `null` (a path not there or not readable is skipped). */
function firstFile(paths: readonly string[]): string | null {
  for (const path of paths) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there (or not readable)
    }
  }
  return null;
}
