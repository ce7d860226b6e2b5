/**
 * The `--prompt-cache` file: opened (created if missing) before the sandbox goes on, then read
 * and rewritten through that one handle, so the sandboxed process never opens a file for
 * writing and can write no other file.
 *
 * @module
 */

/** The prompt cache file, open for reading and writing (or reading only). Close it once. */
export class PromptCacheFile {
  readonly path: string;
  /** Opened for reading only (`--prompt-cache-ro`): {@linkcode write} refuses. */
  readonly readOnly: boolean;
  #file: Deno.FsFile | null;

  private constructor(path: string, file: Deno.FsFile, readOnly: boolean) {
    this.path = path;
    this.readOnly = readOnly;
    this.#file = file;
  }

  /**
   * Opens `path` for reading and writing, creating it when missing; with `readOnly`, for
   * reading only, and null when it is missing (there is nothing to reuse).
   */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<
    PromptCacheFile | null
  > {
    const readOnly = options.readOnly ?? false;
    try {
      return new PromptCacheFile(
        path,
        await Deno.open(
          path,
          readOnly ? { read: true } : { read: true, write: true, create: true },
        ),
        readOnly,
      );
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      if (readOnly && cause instanceof Deno.errors.NotFound) return null;
      throw new Error(`Cannot open the prompt cache "${path}": ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  #handle(): Deno.FsFile {
    if (this.#file === null) throw new Error(`Cannot use the prompt cache "${this.path}": closed`);
    return this.#file;
  }

  /** The whole file (empty when it was just created). */
  async read(): Promise<Uint8Array> {
    const file = this.#handle();
    const size = (await file.stat()).size;
    const out = new Uint8Array(size);
    await file.seek(0, Deno.SeekMode.Start);
    let at = 0;
    while (at < size) {
      const n = await file.read(out.subarray(at));
      if (n === null) break;
      at += n;
    }
    return out.subarray(0, at);
  }

  /** Replaces the file's contents with `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.readOnly) throw new Error(`Cannot write the prompt cache "${this.path}": read-only`);
    const file = this.#handle();
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    let at = 0;
    while (at < bytes.length) at += await file.write(bytes.subarray(at));
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
