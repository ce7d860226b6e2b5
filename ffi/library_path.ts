/**
 * Where the libllama / ggml shared libraries live.
 *
 * @module
 */

/** File name of libllama in the npm package `@node-llama-cpp/linux-x64@3.22.1`. */
export const LLAMA_LIB = "libllama.v0.5.0.so";
/** File name of libggml (the backend registry) in the same folder. */
export const GGML_LIB = "libggml.v0.5.0.so";

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
