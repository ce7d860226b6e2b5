/**
 * Start-up tracing: with `LLAMAFILE_TRACE=1`, `trace(label)` prints the milliseconds since
 * the process started on stderr, to see where a cold start goes.
 *
 * @module
 */

let enabled: boolean | null = null;

/** True when `LLAMAFILE_TRACE=1` (read once: the sandbox revokes the environment later). */
export function tracing(): boolean {
  if (enabled === null) {
    try {
      enabled = Deno.env.get("LLAMAFILE_TRACE") === "1";
    } catch {
      enabled = false;
    }
  }
  return enabled;
}

/** Prints `llamafile: trace <ms> <label>` on stderr when `LLAMAFILE_TRACE` is set. */
export function trace(label: string): void {
  if (!tracing()) return;
  const line = `llamafile: trace ${performance.now().toFixed(1)} ms ${label}\n`;
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  } catch {
    // stderr is gone
  }
}
