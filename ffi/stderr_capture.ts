/**
 * Captures what native code writes straight to fd 2 during a synchronous
 * call (libllama's grammar parser prints its errors with `fprintf(stderr)`).
 *
 * @module
 */
import type { LlamaLibrary } from "./library.ts";

const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const LIMIT = 1 << 16;

/** Runs `fn` with fd 2 redirected into a pipe; returns its value and the captured text. */
export function captureStderr<T>(lib: LlamaLibrary, fn: () => T): { value: T; text: string } {
  const c = lib.llama;
  const fds = new Int32Array(2);
  if (c.pipe(new Uint8Array(fds.buffer)) !== 0) return { value: fn(), text: "" };
  const [readEnd, writeEnd] = [fds[0]!, fds[1]!];
  // A full pipe must make the writer fail, never block.
  c.fcntl(writeEnd, F_SETFL, O_NONBLOCK);
  c.fcntl(readEnd, F_SETFL, O_NONBLOCK);
  const saved = c.dup(2);
  let value: T;
  try {
    c.dup2(writeEnd, 2);
    value = fn();
  } finally {
    if (saved >= 0) {
      c.dup2(saved, 2);
      c.close(saved);
    }
    c.close(writeEnd);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(4096);
  while (total < LIMIT) {
    const n = Number(c.read(readEnd, buffer, BigInt(buffer.length)));
    if (n <= 0) break;
    chunks.push(buffer.slice(0, n));
    total += n;
  }
  c.close(readEnd);
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return { value, text: new TextDecoder().decode(all) };
}
