/**
 * Fuzz target `lora`: mutated LoRA adapters (`writeStoriesLora`'s rank-4 adapter of
 * stories260K, by the GGUF mutator of `gguf_mutator.ts`) given to the CLI with `--lora`,
 * sandbox on. libllama reads the adapter after the model and our adapter check; every case
 * must end in an answer or one `llamafile:` line.
 *
 * @module
 */
import { writeStoriesLora } from "../conformance/models.ts";
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { CASE_ARGS, MODELS } from "./cli_case.ts";
import { fuzzGgufCases } from "./file_cases.ts";
import { loadSeed } from "./gguf_mutator.ts";

/** Runs the `lora` target. */
export async function fuzzLora(options: FuzzOptions): Promise<FuzzCounts> {
  const dir = await Deno.makeTempDir({ prefix: "fuzz_lora_seed_" });
  try {
    const adapter = `${dir}/lora.gguf`;
    await writeStoriesLora(adapter);
    const model = `${MODELS}/stories260K.gguf`;
    return await fuzzGgufCases(
      "lora",
      [await loadSeed(adapter)],
      (lora) => ["-m", model, "--lora", lora, ...CASE_ARGS],
      options,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
