/**
 * The runtime payload a llamafile carries: the app (its loader and its one script, shared by
 * every platform: see `app_bundle.ts`), and for each platform the `deno` binary and the
 * libllama/ggml shared libraries.
 *
 * Where a platform's files come from ({@linkcode platformSources}): for the packing machine's
 * own platform, the running `deno` and the libraries the app itself loads (`libraryDir()`); for
 * another platform, the pinned npm packages of `platforms.ts` (see `npm_package.ts`). More
 * library folders per platform (a GPU backend's package) go into `libDirs`. The packing
 * machine's platform also carries ggml's RPC backend once `deno task build-rpc` built it, the
 * GPU backends asked for (`--gpu`, from this machine's npm packages), each in a folder of its
 * own (`lib/vulkan/`), and, in a llamafile with a projector, libmtmd (`deno task build-mtmd`).
 *
 * @module
 */
import { findGpuBuild, GPU_BUILDS, type GpuBuildName } from "../../ffi/gpu_backends.ts";
import {
  GGML_LIB,
  libraryDir,
  LLAMA_LIB,
  MTMD_LIB,
  mtmdLibraryPath,
  RPC_LIB,
  rpcLibraryPath,
} from "../../ffi/library_path.ts";
import { APP_LOADER, APP_SCRIPT, bundleApp } from "./app_bundle.ts";
import { RUNTIME_FOLDER } from "./llamafile_archive.ts";
import { npmPackageDir } from "./npm_package.ts";
import { platformOf, PLATFORMS } from "./platforms.ts";

/** One runtime file to pack. */
export interface RuntimeFile {
  /** Entry name: `runtime/app.js`, `runtime/app.script.js` or `runtime/<platform>/<path>`. */
  name: string;
  /** Path inside the extracted runtime folder. */
  path: string;
  /** The file to read. */
  source: string;
  /** Unix permission bits. */
  mode: number;
}

/** The runtime of one platform: its own files (the shared app files are not among them). */
export interface PlatformRuntime {
  platform: string;
  files: RuntimeFile[];
}

/** What a llamafile's runtime entries are made of. */
export interface RuntimePayload {
  /** The app's loader, what `deno run` starts (the first of {@linkcode shared}). */
  app: RuntimeFile;
  /** The files every platform's runtime holds: the app's loader and its script. */
  shared: RuntimeFile[];
  /** One runtime per platform, in the order asked for. */
  platforms: PlatformRuntime[];
}

/** Entry name of the app's loader. */
export const APP_ENTRY = `${RUNTIME_FOLDER}${APP_LOADER}`;

/** Entry name of the app's script. */
export const APP_SCRIPT_ENTRY = `${RUNTIME_FOLDER}${APP_SCRIPT}`;

/** Where one platform's runtime files are read from. */
export interface PlatformSources {
  /** The `deno` binary. */
  deno: string;
  /** Folders of shared libraries, in order (the first holds libllama). */
  libDirs: string[];
}

/** Options of {@linkcode platformSources} and {@linkcode runtimePayload}. */
export interface RuntimeOptions {
  /** Receives progress lines (fetching a package). */
  log?: (line: string) => void;
  /** Where packages fetched for other platforms are kept (default: `npmCacheDir()`). */
  cacheDir?: string;
  /** GPU backends to add to this machine's platform's runtime. */
  gpu?: readonly GpuBuildName[];
  /** Carry libmtmd (a projector is packed): this machine's build, for its platform. */
  mtmd?: boolean;
}

/** The name of this machine's platform, e.g. `linux-x64`, or null when we cannot carry it. */
export function hostPlatform(): string | null {
  return platformOf()?.name ?? null;
}

/**
 * Where the files of `platform`'s runtime come from (fetching its npm packages when it is not
 * this machine's platform).
 *
 * @throws {Error} On an unknown platform, or when the running Deno is not the pinned version
 *   (the bundle and a foreign runtime would differ), or when a package cannot be fetched.
 */
export async function platformSources(
  platform: string,
  options: RuntimeOptions = {},
): Promise<PlatformSources> {
  const spec = PLATFORMS[platform];
  if (spec === undefined || !Object.hasOwn(PLATFORMS, platform)) {
    throw new Error(`Cannot pack a runtime for "${platform}": unknown platform`);
  }
  if (platform === hostPlatform()) return { deno: Deno.execPath(), libDirs: [libraryDir()] };
  if (Deno.version.deno !== spec.deno.version) {
    throw new Error(
      `Cannot pack a runtime for ${platform}: this is deno ${Deno.version.deno}, and the pinned ${spec.deno.name} is ${spec.deno.version} (the app and every runtime must come from one Deno version)`,
    );
  }
  const fetchOptions = {
    ...(options.log && { log: options.log }),
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
  };
  const deno = await npmPackageDir(spec.deno, fetchOptions);
  const llama = await npmPackageDir(spec.llama, fetchOptions);
  return { deno: `${deno}/${spec.deno.binary}`, libDirs: [`${llama}/${spec.llama.libDir}`] };
}

/**
 * The shared libraries to carry from `dirs` (by file name, the first folder winning): every
 * `.so` but `libllama-common.so` (C++, unusable through FFI); node-llama-cpp's addon is not a
 * `.so`. Checks that libllama, libggml, libggml-base and a CPU backend are there.
 */
export async function libraryFiles(
  platform: string,
  dirs: readonly string[],
): Promise<RuntimeFile[]> {
  const base = `${RUNTIME_FOLDER}${platform}/`;
  const found = new Map<string, string>();
  for (const dir of dirs) {
    try {
      for await (const item of Deno.readDir(dir)) {
        if (
          (item.isFile || item.isSymlink) && item.name.endsWith(".so") &&
          item.name !== "libllama-common.so" && !found.has(item.name)
        ) {
          found.set(item.name, `${dir}/${item.name}`);
        }
      }
    } catch (cause) {
      throw new Error(`Cannot pack the ${platform} libraries: cannot list "${dir}"`, { cause });
    }
  }
  const names = [...found.keys()].sort();
  for (const needed of [LLAMA_LIB, GGML_LIB, "libggml-base.so"]) {
    if (!found.has(needed)) {
      throw new Error(
        `Cannot pack the ${platform} libraries: "${needed}" is missing from "${dirs[0]}"`,
      );
    }
  }
  if (!names.some((name) => name.startsWith("libggml-cpu"))) {
    throw new Error(
      `Cannot pack the ${platform} libraries: no CPU backend (libggml-cpu-*.so) in "${dirs[0]}"`,
    );
  }
  return names.map((lib) => ({
    name: `${base}lib/${lib}`,
    path: `lib/${lib}`,
    source: found.get(lib)!,
    mode: 0o755,
  }));
}

/**
 * ggml's RPC backend for this machine's platform (`--rpc`, `rpc-server`), when
 * `rpcLibraryPath()` finds it and `files` do not carry one already.
 */
export function rpcModuleFile(platform: string, files: readonly RuntimeFile[]): RuntimeFile[] {
  const path = `lib/${RPC_LIB}`;
  if (platform !== hostPlatform() || files.some((file) => file.path === path)) return [];
  const source = rpcLibraryPath(libraryDir());
  if (source === null) return [];
  return [{ name: `${RUNTIME_FOLDER}${platform}/${path}`, path, source, mode: 0o755 }];
}

/**
 * libmtmd for `platform`, when `files` do not carry one already: this machine's build (see
 * `mtmdLibraryPath()`) for its own platform; none for another platform (it is built here, for
 * here only), which `log` is told.
 *
 * @throws {Error} When this machine's platform needs it and it is not built.
 */
export function mtmdModuleFile(
  platform: string,
  files: readonly RuntimeFile[],
  log: (line: string) => void,
): RuntimeFile[] {
  const path = `lib/${MTMD_LIB}`;
  if (files.some((file) => file.path === path)) return [];
  if (platform !== hostPlatform()) {
    log(
      `llamafile pack: warning: no ${MTMD_LIB} for ${platform} (it is built for ${hostPlatform()} only): images will not work there`,
    );
    return [];
  }
  const source = mtmdLibraryPath(libraryDir());
  if (source === null) {
    throw new Error(
      `Cannot pack a projector: ${MTMD_LIB} is not built; run "deno task build-mtmd" once (needs cmake and g++)`,
    );
  }
  return [{ name: `${RUNTIME_FOLDER}${platform}/${path}`, path, source, mode: 0o755 }];
}

/**
 * The GPU backend libraries of `builds` (installed on this machine), each in a folder of its own
 * under `lib/` (`lib/vulkan/libggml-vulkan.so`), where `ffi/gpu_backends.ts` looks for them:
 * out of the CPU backends' folder, so that nothing loads them unasked.
 */
export function gpuRuntimeFiles(platform: string, builds: readonly GpuBuildName[]): RuntimeFile[] {
  return builds.map((name) => {
    const { folder, library, npmPackage } = GPU_BUILDS[name];
    const source = findGpuBuild(name);
    if (source === null) {
      throw new Error(
        `Cannot pack the ${name} backend: ${library} is not installed (npm install ${npmPackage}@3.22.1)`,
      );
    }
    const path = `lib/${folder}/${library}`;
    return { name: `${RUNTIME_FOLDER}${platform}/${path}`, path, source, mode: 0o755 };
  });
}

/**
 * The runtime payload for `platforms`: the app bundled into `workDir` (`app.js` and
 * `app.script.js`), and each platform's `deno` and libraries (and, for this machine's
 * platform, the GPU backends asked for).
 */
export async function runtimePayload(
  workDir: string,
  platforms: readonly string[],
  options: RuntimeOptions = {},
): Promise<RuntimePayload> {
  const app = await bundleApp(workDir);
  const runtimes: PlatformRuntime[] = [];
  for (const platform of platforms) {
    const sources = await platformSources(platform, options);
    const libraries = await libraryFiles(platform, sources.libDirs);
    runtimes.push({
      platform,
      files: [
        {
          name: `${RUNTIME_FOLDER}${platform}/deno`,
          path: "deno",
          source: sources.deno,
          mode: 0o755,
        },
        ...libraries,
        ...rpcModuleFile(platform, libraries),
        ...(platform === hostPlatform() ? gpuRuntimeFiles(platform, options.gpu ?? []) : []),
        ...(options.mtmd ? mtmdModuleFile(platform, libraries, options.log ?? (() => {})) : []),
      ],
    });
  }
  const gpu = options.gpu ?? [];
  const others = platforms.filter((platform) => platform !== hostPlatform());
  if (gpu.length > 0 && others.length > 0) {
    options.log?.(
      `llamafile pack: --gpu ${gpu.join(",")} is carried for ${
        hostPlatform() ?? "this machine"
      } only (no GPU package is pinned for ${others.join(", ")})`,
    );
  }
  const loader = { name: APP_ENTRY, path: APP_LOADER, source: app.loader, mode: 0o644 };
  const script = { name: APP_SCRIPT_ENTRY, path: APP_SCRIPT, source: app.script, mode: 0o644 };
  return { app: loader, shared: [loader, script], platforms: runtimes };
}
