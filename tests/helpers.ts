/**
 * Shared pieces for tests that need the models or a subprocess.
 *
 * @module
 */

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
 * The `deno` arguments that run `cli.ts ARGS` with the permissions a user's launch gives
 * that mode (`deno task llamafile` and the packed launcher both use `planLaunch`).
 */
export function cliCommandArgs(args: string[]): string[] {
  return ["run", ...planLaunch(args).flags, `${ROOT}/cli.ts`, ...args];
}

/** The output of a finished subprocess. */
export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli.ts` with `args`, feeding `stdin` when given. */
export async function runCli(
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<RunOutput> {
  const command = new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: options.cwd ?? ROOT,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
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
