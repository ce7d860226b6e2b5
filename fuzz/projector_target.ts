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
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { fuzzGgufCases } from "./file_cases.ts";
import { visionCaseArgs } from "./image_target.ts";
import { loadSeed } from "./gguf_mutator.ts";

/** Runs the `projector` target. */
export async function fuzzProjector(options: FuzzOptions): Promise<FuzzCounts> {
  await ensureMtmdBuild();
  const pair = await ensureVisionPair();
  const dir = await Deno.makeTempDir({ prefix: "fuzz_projector_image_" });
  try {
    const image = `${dir}/image.png`;
    await Deno.writeFile(image, await testPng());
    return await fuzzGgufCases(
      "projector",
      [await loadSeed(pair.mmproj)],
      (mmproj) => visionCaseArgs(pair.model, mmproj, image),
      options,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
