/**
 * Writes to stdout, turning a closed pipe into a quiet end.
 *
 * @module
 */

/** Thrown when the reader of stdout has gone away (`| head -c 10`). */
export class StdoutClosed extends Error {
  override name = "StdoutClosed";
}

const encoder = new TextEncoder();

/** Writes all of `text` to stdout; throws {@linkcode StdoutClosed} on a broken pipe. */
export function writeStdout(text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length > 0) {
      const n = Deno.stdout.writeSync(bytes);
      bytes = bytes.subarray(n);
    }
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) throw new StdoutClosed("stdout is closed");
    throw error;
  }
}

/** Writes one line to stderr, ignoring a closed stderr. */
export function writeStderr(line: string): void {
  try {
    let bytes = encoder.encode(line.endsWith("\n") ? line : line + "\n");
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
  } catch {
    // nowhere left to report
  }
}
