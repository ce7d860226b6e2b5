/**
 * The runtime payload a llamafile carries for its platform: the `deno` binary, the app bundled
 * into one file, and the libllama/ggml shared libraries.
 *
 * @module
 */
import { GGML_LIB, libraryDir, LLAMA_LIB } from "../../ffi/library_path.ts";
import { bundleApp } from "./app_bundle.ts";
import { LAUNCHER_PLATFORMS } from "./launcher.ts";
import { RUNTIME_FOLDER } from "./llamafile_archive.ts";

/** One runtime file to pack. */
export interface RuntimeFile {
  /** Entry name, `runtime/<platform>/<path>`. */
  name: string;
  /** Path inside the extracted runtime folder. */
  path: string;
  /** The file to read. */
  source: string;
  /** Unix permission bits. */
  mode: number;
}

/** The runtime platform of this process, e.g. `linux-x64`. */
export function runtimePlatform(): string {
  const arch = { x86_64: "x64", aarch64: "arm64" }[Deno.build.arch as string];
  const platform = `${Deno.build.os}-${arch ?? Deno.build.arch}`;
  if (!Object.hasOwn(LAUNCHER_PLATFORMS, platform)) {
    throw new Error(
      `Cannot pack a runtime for "${platform}": the launcher supports ${
        Object.keys(LAUNCHER_PLATFORMS).join(", ")
      }`,
    );
  }
  return platform;
}

/**
 * The runtime payload of this platform: the running `deno`, the app bundled into
 * `workDir/app.js`, and the libllama/ggml `.so` files (not `libllama-common.so`, which the FFI
 * layer cannot use, nor node-llama-cpp's addon).
 */
export async function runtimeFiles(
  workDir: string,
  platform = runtimePlatform(),
): Promise<RuntimeFile[]> {
  const base = `${RUNTIME_FOLDER}${platform}/`;
  const app = `${workDir}/app.js`;
  await bundleApp(app);
  const libDir = libraryDir();
  const libs: string[] = [];
  try {
    for await (const item of Deno.readDir(libDir)) {
      if (
        (item.isFile || item.isSymlink) && item.name.endsWith(".so") &&
        item.name !== "libllama-common.so"
      ) {
        libs.push(item.name);
      }
    }
  } catch (cause) {
    throw new Error(`Cannot pack the libraries: cannot list "${libDir}"`, { cause });
  }
  libs.sort();
  for (const needed of [LLAMA_LIB, GGML_LIB, "libggml-base.so"]) {
    if (!libs.includes(needed)) {
      throw new Error(`Cannot pack the libraries: "${needed}" is missing from "${libDir}"`);
    }
  }
  if (!libs.some((name) => name.startsWith("libggml-cpu"))) {
    throw new Error(`Cannot pack the libraries: no CPU backend (libggml-cpu-*.so) in "${libDir}"`);
  }
  return [
    { name: `${base}deno`, path: "deno", source: Deno.execPath(), mode: 0o755 },
    { name: `${base}app.js`, path: "app.js", source: app, mode: 0o644 },
    ...libs.map((lib) => ({
      name: `${base}lib/${lib}`,
      path: `lib/${lib}`,
      source: `${libDir}/${lib}`,
      mode: 0o755,
    })),
  ];
}
