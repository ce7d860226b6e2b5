/**
 * Running the CLI on one fuzz input the way a user's launch runs it (the mode's Deno
 * permissions and the launch environment), and keeping a failing input with its reproduction.
 *
 * @module
 */
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { launchEnv } from "../lib/sandbox/permissions.ts";
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { type CaseRun, classifyCli, type Outcome } from "./outcome.ts";
import { runCase } from "./subprocess.ts";

/** The checkout. */
export const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The shared test models. */
export const MODELS = `${ROOT}/../shared/models`;

/** The `deno task llamafile` command line of `args`, a word with a space in quotes. */
export function taskCommand(args: readonly string[]): string {
  return `deno task llamafile ${args.map((w) => w.includes(" ") ? `'${w}'` : w).join(" ")}`;
}

/**
 * What a mutated model or llamafile is run with: a prompt with text outside stories260K's
 * vocabulary (日本, ☃), which SentencePiece spells in byte tokens, then four tokens.
 */
export const CASE_ARGS: readonly string[] = [
  "-p",
  "Once upon a time, 日本 ☃",
  "-n",
  "4",
  "-t",
  "1",
  "--temp",
  "0",
  "-c",
  "256",
];

/** Runs `cli.ts args` as `deno task llamafile args` would. */
export async function runCli(
  args: readonly string[],
  options: { timeoutMs: number; stdin?: Uint8Array; cwd?: string },
): Promise<CaseRun> {
  return await runCase(
    Deno.execPath(),
    ["run", ...planLaunch(args).flags, `${ROOT}/cli.ts`, ...args],
    { env: launchEnv(Deno.env.get("DENO_V8_FLAGS")), ...options },
  );
}

/** Counts `run`'s outcome; keeps the input and how to reproduce it when it failed. */
export async function record(
  target: string,
  index: number,
  run: CaseRun,
  counts: FuzzCounts,
  options: FuzzOptions,
  input: { file?: string; what: string; command: string },
): Promise<Outcome> {
  const outcome = classifyCli(run);
  counts.outcomes[outcome]++;
  if (outcome === "ok" || outcome === "clean") return outcome;
  const dir = `${options.out}/${target}`;
  await Deno.mkdir(dir, { recursive: true });
  const base = `${dir}/seed${options.seed}-case${index}`;
  let kept = "";
  if (input.file) {
    kept = `${base}${input.file.slice(input.file.lastIndexOf("."))}`;
    await Deno.copyFile(input.file, kept);
  }
  await Deno.writeTextFile(
    `${base}.txt`,
    [
      `outcome: ${outcome} (exit ${run.code}${run.signal ? `, ${run.signal}` : ""}${
        run.timedOut ? ", timed out" : ""
      })`,
      `mutation: ${input.what}`,
      `reproduce: ${input.command.replaceAll("{input}", kept)}`,
      `again: deno task fuzz --target ${target} --seed ${options.seed} --case ${index}`,
      "stderr:",
      run.stderr,
    ].join("\n"),
  );
  if (options.verbose) {
    console.error(`fuzz ${target} case ${index}: ${outcome}: ${input.what}`);
  }
  return outcome;
}
