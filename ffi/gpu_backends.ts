/**
 * The GPU backends ggml can load beside its CPU backend, and where their libraries are.
 *
 * Each is one ggml backend library (`libggml-vulkan.so`, `libggml-cuda.so`) from the npm package
 * of the same release as our libllama. It needs `libggml-base.so`, which the dynamic loader
 * resolves by SONAME to the copy libllama already loaded (the packages ship byte-identical
 * copies), so the process holds one ggml; the package's own libllama and libggml are not used.
 *
 * Where a build is looked for: `<library folder>/<folder>/` (a packed llamafile's runtime, or
 * `$LLAMAFILE_LIBDIR` of one's own), then the npm package in this checkout.
 * They live in a folder of their own so that `ggml_backend_load_all_from_path` on the CPU
 * libraries' folder never loads a GPU backend unasked.
 *
 * @module
 */
import { libraryDir } from "./library_path.ts";

/** A GPU backend build we know how to find. */
export type GpuBuildName = "vulkan" | "cuda" | "cuda-ext";

/** What a build is and where it comes from. */
export interface GpuBuild {
  /** The name ggml's registry gives the backend, also the prefix of its devices (`Vulkan0`). */
  readonly registry: string;
  /** The backend library's file name. */
  readonly library: string;
  /** Its folder under the runtime's library folder. */
  readonly folder: string;
  /** The npm package that ships it, and the folder inside the package. */
  readonly npmPackage: string;
  readonly npmFolder: string;
  /** What else the system must have for it to load, for messages. */
  readonly needs: string;
}

/** The builds, by name. `cuda` and `cuda-ext` are two builds of one backend. */
export const GPU_BUILDS: Readonly<Record<GpuBuildName, GpuBuild>> = {
  vulkan: {
    registry: "Vulkan",
    library: "libggml-vulkan.so",
    folder: "vulkan",
    npmPackage: "@node-llama-cpp/linux-x64-vulkan",
    npmFolder: "bins/linux-x64-vulkan",
    needs: "the Vulkan loader (libvulkan.so.1) and a Vulkan driver",
  },
  cuda: {
    registry: "CUDA",
    library: "libggml-cuda.so",
    folder: "cuda",
    npmPackage: "@node-llama-cpp/linux-x64-cuda",
    npmFolder: "bins/linux-x64-cuda",
    needs:
      "NVIDIA's driver (libcuda.so.1) and the CUDA 13 runtime (libcudart.so.13, libcublas.so.13)",
  },
  "cuda-ext": {
    registry: "CUDA",
    library: "libggml-cuda.so",
    folder: "cuda-ext",
    npmPackage: "@node-llama-cpp/linux-x64-cuda-ext",
    npmFolder: "bins/linux-x64-cuda/fallback",
    needs:
      "NVIDIA's driver (libcuda.so.1) and the CUDA 12 runtime (libcudart.so.12, libcublas.so.12)",
  },
};

/** Every build name, in the order `--gpu nvidia` tries them. */
export const GPU_BUILD_NAMES: readonly GpuBuildName[] = ["vulkan", "cuda", "cuda-ext"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Where `name`'s library would be loaded from, in order of preference (they may not exist). */
export function gpuBuildCandidates(name: GpuBuildName, dir = libraryDir()): string[] {
  const build = GPU_BUILDS[name];
  const npm = new URL(
    `../node_modules/${build.npmPackage}/${build.npmFolder}/${build.library}`,
    import.meta.url,
  );
  return [
    `${dir}/${build.folder}/${build.library}`,
    decodeURIComponent(npm.pathname),
  ];
}

/** The library of build `name` on this machine, or `null` when it is not installed. */
export function findGpuBuild(name: GpuBuildName, dir = libraryDir()): string | null {
  return gpuBuildCandidates(name, dir).find(isFile) ?? null;
}
