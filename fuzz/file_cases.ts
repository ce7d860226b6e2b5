/**
 * The loop the file targets share (`gguf`, `projector`, `lora`, `grammar`, `schema`): each case
 * an input written to a file, given to the CLI where `args` puts it, classified, and kept with
 * the command that reproduces it when it fails.
 *
 * @module
 */
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { record, runCli, taskCommand } from "./cli_case.ts";
import { type GgufSeed, writeGgufCase } from "./gguf_mutator.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

/** Writes case `rng`'s input to `path`; returns what it is, for the report. */
export type WriteCase = (rng: Rng, path: string) => Promise<string>;

/** Runs `target`'s cases, each written to a `.EXT` file by `write`; `args(file)` runs it. */
export async function fuzzFileCases(
  target: string,
  ext: string,
  write: WriteCase,
  args: (file: string) => string[],
  options: FuzzOptions,
): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: `fuzz_${target}_` });
  try {
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const path = `${dir}/case${index}.${ext}`;
      const what = await write(Rng.forCase(options.seed, index), path);
      const run = await runCli(args(path), { timeoutMs: options.timeoutMs });
      counts.cases++;
      await record(target, index, run, counts, options, {
        file: path,
        what,
        command: taskCommand(args("{input}")),
      });
      await Deno.remove(path).catch(() => {});
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  counts.ms = performance.now() - started;
  return counts;
}

/** Runs `target`'s cases, each a mutation of `seeds` (see `gguf_mutator.ts`). */
export function fuzzGgufCases(
  target: string,
  seeds: readonly GgufSeed[],
  args: (file: string) => string[],
  options: FuzzOptions,
): Promise<FuzzCounts> {
  return fuzzFileCases(
    target,
    "gguf",
    (rng, path) => writeGgufCase(seeds, rng, path),
    args,
    options,
  );
}
