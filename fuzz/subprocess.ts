/**
 * Runs one fuzz case in a subprocess with a time limit, and keeps what it left.
 *
 * @module
 */
import type { CaseRun } from "./outcome.ts";

/** Options of {@linkcode runCase}. */
export interface RunCaseOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  stdin?: Uint8Array;
}

/** Runs `command args`, killing it (and reporting a hang) past the time limit. */
export async function runCase(
  command: string,
  args: readonly string[],
  options: RunCaseOptions,
): Promise<CaseRun> {
  const child = new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin ? "piped" : "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin).catch(() => {});
    await writer.close().catch(() => {});
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs);
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  return { code: status.code, signal: status.signal, stderr: stderr.slice(0, 20_000), timedOut };
}

/** Runs `work(i)` for i in [0, count) with at most `jobs` at once, in order of start. */
export async function pool(
  count: number,
  jobs: number,
  work: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
}
