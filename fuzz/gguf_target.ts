/**
 * Fuzz target `gguf`: mutated GGUF files (see `gguf_mutator.ts`) loaded by the CLI.
 *
 * @module
 */
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { CASE_ARGS, MODELS, record, runCli } from "./cli_case.ts";
import { loadSeed, writeGgufCase } from "./gguf_mutator.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

/** The seed models: a trained llama (SPM vocab), its ChatML variant, a 32k-vocab model. */
export const GGUF_SEEDS = [
  `${MODELS}/stories260K.gguf`,
  `${MODELS}/stories260K-chatml-test.gguf`,
  `${MODELS}/llama-2-tiny-random.gguf`,
];

/** Runs the `gguf` target. */
export async function fuzzGguf(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  const seeds = await Promise.all(GGUF_SEEDS.map(loadSeed));
  const dir = await Deno.makeTempDir({ prefix: "fuzz_gguf_" });
  try {
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const path = `${dir}/case${index}.gguf`;
      const what = await writeGgufCase(seeds, Rng.forCase(options.seed, index), path);
      const run = await runCli(["-m", path, ...CASE_ARGS], { timeoutMs: options.timeoutMs });
      counts.cases++;
      await record("gguf", index, run, counts, options, {
        file: path,
        what,
        command: `deno task llamafile -m {input} ${CASE_ARGS.map((a) => `'${a}'`).join(" ")}`,
      });
      await Deno.remove(path).catch(() => {});
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  counts.ms = performance.now() - started;
  return counts;
}
