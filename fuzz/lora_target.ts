/**
 * Fuzz target `lora`: mutated LoRA adapters (`writeStoriesLora`'s rank-4 adapter of
 * stories260K, by the GGUF mutator of `gguf_mutator.ts`) given to the CLI with `--lora`,
 * sandbox on. libllama reads the adapter after the model; every case must end in an answer or
 * one `llamafile:` line.
 *
 * @module
 */
import { writeStoriesLora } from "../conformance/models.ts";
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { CASE_ARGS, MODELS, record, runCli, taskCommand } from "./cli_case.ts";
import { loadSeed, writeGgufCase } from "./gguf_mutator.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

/** Runs the `lora` target. */
export async function fuzzLora(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "fuzz_lora_" });
  try {
    const adapter = `${dir}/lora.gguf`;
    await writeStoriesLora(adapter);
    const seeds = [await loadSeed(adapter)];
    const args = (
      lora: string,
    ) => ["-m", `${MODELS}/stories260K.gguf`, "--lora", lora, ...CASE_ARGS];
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const path = `${dir}/case${index}.gguf`;
      const what = await writeGgufCase(seeds, Rng.forCase(options.seed, index), path);
      const run = await runCli(args(path), { timeoutMs: options.timeoutMs });
      counts.cases++;
      await record("lora", index, run, counts, options, {
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
