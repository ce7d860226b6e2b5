/**
 * Progress of `llamafile pack`: a bar redrawn in place on a terminal, one line per entry
 * otherwise.
 *
 * @module
 */
import { formatBytes } from "../util/format_bytes.ts";
import { METHOD_DEFLATE } from "./zip_format.ts";
import type { ZipEntry } from "./zip_reader.ts";

/** Progress of a pack: a bar redrawn in place on a terminal, one line per entry otherwise. */
export class PackProgress {
  #total: number;
  #done = 0;
  #tty: boolean;
  #last = -Infinity;
  #log: (line: string) => void;
  #write: (text: string) => void;

  /**
   * @param total Bytes to pack in all.
   * @param tty Draw a bar (stderr is a terminal) instead of one line per entry.
   * @param log Where the lines go.
   * @param write Where the bar goes (default: stderr).
   */
  constructor(
    total: number,
    tty: boolean,
    log: (line: string) => void,
    write: (text: string) => void = _writeRaw,
  ) {
    this.#total = Math.max(total, 1);
    this.#tty = tty;
    this.#log = log;
    this.#write = write;
  }

  /** A callback for `ZipAddOptions.onProgress` of entry `name`. */
  entry(name: string): (done: number, total: number) => void {
    const start = this.#done;
    return (done) => {
      this.#done = start + done;
      if (!this.#tty) return;
      const now = performance.now();
      if (now - this.#last < 100 && this.#done < this.#total) return;
      this.#last = now;
      const fraction = Math.min(this.#done / this.#total, 1);
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${
        formatBytes(this.#done)
      } / ${formatBytes(this.#total)}  ${name}`;
      this.#write(`\r\x1b[2K${line}`);
    };
  }

  /** Reports a finished entry (one line each when not drawing a bar). */
  added(entry: ZipEntry): void {
    if (this.#tty) return;
    const how = entry.method === METHOD_DEFLATE
      ? `deflated to ${formatBytes(entry.compressedSize)}`
      : `stored at offset ${entry.dataOffset}`;
    this.#log(`llamafile pack: ${entry.name} (${formatBytes(entry.size)}, ${how})`);
  }

  /** Clears the bar. */
  finish(): void {
    if (this.#tty) this.#write("\r\x1b[2K");
  }
}

function _writeRaw(text: string): void {
  try {
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    while (at < bytes.length) at += Deno.stderr.writeSync(bytes.subarray(at));
  } catch {
    // stderr closed
  }
}
