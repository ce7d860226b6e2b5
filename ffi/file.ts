/**
 * `FILE *` handles through libc (bound via libllama's dependencies), for
 * loading weights in place from inside a bigger file.
 *
 * @module
 */
import { cString } from "./cstring.ts";
import type { LlamaLibrary } from "./library.ts";

/** An open `FILE *`, positioned at a byte offset. Close it once. */
export class CFile {
  #lib: LlamaLibrary;
  #handle: Deno.PointerValue;

  private constructor(lib: LlamaLibrary, handle: Deno.PointerObject) {
    this.#lib = lib;
    this.#handle = handle;
  }

  /** Opens `path` read-only and seeks to `offset`. */
  static open(lib: LlamaLibrary, path: string, offset: number): CFile {
    const handle = lib.llama.fopen(cString(path), cString("rb"));
    if (handle === null) throw new Deno.errors.NotFound(`Cannot open "${path}" with fopen`);
    const file = new CFile(lib, handle);
    if (lib.llama.fseeko(handle, BigInt(offset), 0) !== 0) {
      file.close();
      throw new RangeError(`Cannot seek "${path}" to byte ${offset}`);
    }
    return file;
  }

  /** The `FILE *`. */
  get handle(): Deno.PointerValue {
    return this.#handle;
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    this.#lib.llama.fclose(this.#handle);
    this.#handle = null;
  }
}
