/**
 * Shared pieces for tests that need the models or a subprocess.
 *
 * @module
 */

import { rpcLibraryPath } from "../ffi/library_path.ts";
import { planLaunch } from "../lib/cli/launch_plan.ts";

/** The repository root. */
export const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The shared test models. */
export const MODELS = `${ROOT}/../shared/models`;
/** stories260K: a real tiny story model. */
export const STORIES = `${MODELS}/stories260K.gguf`;
/** The greedy reference completion of "Once upon a time" (40 tokens). */
export const STORIES_GREEDY =
  ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";

/**
 * Files of this machine's runtime in a llamafile packed here: deno and the npm package's
 * libraries (18), and ggml's RPC backend once `deno task build-rpc` built it.
 */
export function hostRuntimeFileCount(): number {
  return 18 + (rpcLibraryPath() === null ? 0 : 1);
}

/**
 * The `deno` arguments that run `cli.ts ARGS` with the permissions a user's launch gives
 * that mode (`deno task llamafile` and the packed launcher both use `planLaunch`).
 */
export function cliCommandArgs(args: string[]): string[] {
  return ["run", ...planLaunch(args).flags, `${ROOT}/cli.ts`, ...args];
}

/** The `deno` arguments of `deno task llamafile ARGS` (deno.json's task, run from any folder). */
export function taskArgs(args: readonly string[]): string[] {
  const task = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks.llamafile as string;
  const words = task.split(/\s+/).slice(1); // drop "deno"
  return words.map((w) => (w === "launch.ts" ? `${ROOT}/launch.ts` : w)).concat(args);
}

/** The output of a finished subprocess. */
export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli.ts` with `args`, feeding `stdin` when given; `env` is added to this process's. */
export async function runCli(
  args: string[],
  options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<RunOutput> {
  const command = new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: options.cwd ?? ROOT,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** What a running process looks like from `/proc`. */
export interface ProcessView {
  /** Its command line, word by word. */
  cmdline: string[];
  /** The `Seccomp:` mode of each of its threads (2 = filter). */
  seccomp: number[];
  /** Files (not sockets or pipes) it holds open for writing, beside stdin, stdout and stderr. */
  writableFiles: string[];
}

/** The children of `pid` (from `/proc/PID/task/*\/children`). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** Reads `/proc/PID`, or `null` when the process is gone. */
export function viewProcess(pid: number): ProcessView | null {
  try {
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").slice(0, -1);
    const seccomp: number[] = [];
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const status = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/status`);
      seccomp.push(Number(/^Seccomp:\s*(\d+)/m.exec(status)?.[1] ?? -1));
    }
    const writableFiles: string[] = [];
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      if (Number(fd.name) <= 2) continue;
      try {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
        const flags = /^flags:\s*(\d+)/m.exec(
          Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`),
        )?.[1];
        const writes = (parseInt(flags ?? "0", 8) & 0o3) !== 0; // O_WRONLY or O_RDWR
        if (writes && target.startsWith("/") && target !== "/dev/null") writableFiles.push(target);
      } catch {
        // closed while we looked
      }
    }
    return { cmdline, seccomp, writableFiles };
  } catch {
    return null;
  }
}

/**
 * Waits until the `deno` process at `pid` (or, when `pid` runs `launch.ts`, its child) has its
 * sandbox on, and returns how it looked then; `null` when it ended first.
 */
export async function watchSandboxed(pid: number, timeoutMs = 20_000): Promise<ProcessView | null> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const self = viewProcess(pid);
    if (self === null) return null;
    const target = self.cmdline.some((w) => w.endsWith("/launch.ts"))
      ? childrenOf(pid).map(viewProcess).find((v) => v !== null) ?? null
      : self;
    if (target !== null && target.seccomp.length > 0 && target.seccomp.every((m) => m === 2)) {
      return target;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`Process ${pid} did not turn its sandbox on within ${timeoutMs} ms`);
}
