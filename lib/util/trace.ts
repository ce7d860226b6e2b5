/**
 * Start-up tracing: with `LLAMAFILE_TRACE=1`, `trace(label)` prints the milliseconds since
 * the process started on stderr, to see where a cold start goes.
 *
 * @module
 */

let enabled: boolean | null = null;

/** Prints `llamafile: trace <ms> <label>` on stderr when `LLAMAFILE_TRACE` is set. */
export function trace(label: string): void {
  if (enabled === null) {
    try {
      enabled = Deno.env.get("LLAMAFILE_TRACE") === "1";
    } catch {
      enabled = false;
    }
  }
  if (!enabled) return;
  const line = `llamafile: trace ${performance.now().toFixed(1)} ms ${label}\n`;
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  } catch {
    // stderr is gone
  }
}
