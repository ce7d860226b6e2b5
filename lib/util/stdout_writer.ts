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
let _midLine = false;

/** Writes all of `text` to stdout; throws {@linkcode StdoutClosed} on a broken pipe. */
export function writeStdout(text: string): void {
  if (text !== "") _midLine = !text.endsWith("\n");
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

/**
 * Ends the line stdout left open on the terminal, through stderr: when both are terminals and
 * the last text written to stdout did not end with a newline, writes one newline to stderr,
 * so that the next stderr line starts on a line of its own (`...One day, she\nllamafile:
 * prompt ...`). stdout's bytes never change.
 */
export function endStdoutLine(): void {
  if (!_midLine) return;
  let terminals = false;
  try {
    terminals = Deno.stdout.isTerminal() && Deno.stderr.isTerminal();
  } catch {
    // closed
  }
  if (!terminals) return;
  _midLine = false;
  try {
    Deno.stderr.writeSync(encoder.encode("\n"));
  } catch {
    // nowhere left to report
  }
}
