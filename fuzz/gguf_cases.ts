/**
 * The loop the GGUF-file targets share (`gguf`, `projector`, `lora`): each case a mutation of
 * the seeds (`gguf_mutator.ts`) written to a file, given to the CLI where `args` puts it,
 * classified and kept when it fails.
 *
 * @module
 */
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { record, runCli, taskCommand } from "./cli_case.ts";
import { type GgufSeed, writeGgufCase } from "./gguf_mutator.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

/** Runs `target`'s cases: `args(file)` is the CLI's command line for a mutated file. */
export async function fuzzGgufCases(
  target: string,
  seeds: readonly GgufSeed[],
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
      const path = `${dir}/case${index}.gguf`;
      const what = await writeGgufCase(seeds, Rng.forCase(options.seed, index), path);
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
