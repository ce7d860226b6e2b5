/**
 * Fuzz target `projector`: mutated image projectors (`mmproj-tinygemma3.gguf`, by the GGUF
 * mutator of `gguf_mutator.ts`) given to the CLI with `--mmproj`, the synthetic Gemma-3 text
 * model and a well-formed image, sandbox on. libmtmd's clip loader reads the file after our
 * projector check; every case must end in an answer or one `llamafile:` line.
 *
 * @module
 */
import { ensureVisionPair } from "../bench/synth_vision.ts";
import { testPng } from "../bench/test_images.ts";
import { ensureMtmdBuild } from "../scripts/build_mtmd.ts";
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { record, runCli, taskCommand } from "./cli_case.ts";
import { visionCaseArgs } from "./image_target.ts";
import { loadSeed, writeGgufCase } from "./gguf_mutator.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

/** Runs the `projector` target. */
export async function fuzzProjector(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  await ensureMtmdBuild();
  const pair = await ensureVisionPair();
  const seeds = [await loadSeed(pair.mmproj)];
  const dir = await Deno.makeTempDir({ prefix: "fuzz_projector_" });
  try {
    const image = `${dir}/image.png`;
    await Deno.writeFile(image, await testPng());
    const args = (mmproj: string) => visionCaseArgs(pair.model, mmproj, image);
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const rng = Rng.forCase(options.seed, index);
      const path = `${dir}/case${index}.gguf`;
      const what = await writeGgufCase(seeds, rng, path);
      const run = await runCli(args(path), { timeoutMs: options.timeoutMs });
      counts.cases++;
      await record("projector", index, run, counts, options, {
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
