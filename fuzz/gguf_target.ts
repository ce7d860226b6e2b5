/**
 * Fuzz target `gguf`: mutated GGUF files (see `gguf_mutator.ts`) loaded by the CLI.
 *
 * @module
 */
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { CASE_ARGS, MODELS } from "./cli_case.ts";
import { fuzzGgufCases } from "./file_cases.ts";
import { loadSeed } from "./gguf_mutator.ts";

/** The seed models: a trained llama (SPM vocab), its ChatML variant, a 32k-vocab model. */
export const GGUF_SEEDS = [
  `${MODELS}/stories260K.gguf`,
  `${MODELS}/stories260K-chatml-test.gguf`,
  `${MODELS}/llama-2-tiny-random.gguf`,
];

/** Runs the `gguf` target. */
export async function fuzzGguf(options: FuzzOptions): Promise<FuzzCounts> {
  const seeds = await Promise.all(GGUF_SEEDS.map(loadSeed));
  return await fuzzGgufCases("gguf", seeds, (model) => ["-m", model, ...CASE_ARGS], options);
}
