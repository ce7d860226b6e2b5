/**
 * Loads the model the command line names: a GGUF path, a llamafile's own weights, or an entry
 * of a llamafile, read in place.
 *
 * @module
 */
import { openLibrary } from "../../ffi/library.ts";
import { type LlamaModel, loadModel } from "../engine/model.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { trace } from "../util/trace.ts";
import type { CliOptions } from "./options.ts";
import { UsageError } from "./option_table.ts";

/** Loads the weights `options` name (see `resolveWeights`); libllama's log is shown with `--verbose`. */
export async function loadModelFromOptions(options: CliOptions): Promise<LlamaModel> {
  const weights = await resolveWeights(options.model);
  if (weights === null) throw new UsageError("No model given: pass -m MODEL.gguf");
  const lib = openLibrary();
  trace("libraries opened");
  if (options.verbose) lib.setLogSink((_level, line) => writeStderr(line));
  if (
    options.gpuLayers !== undefined && options.gpuLayers !== 0 && !lib.hasGpu && !options.logDisable
  ) {
    writeStderr("llamafile: warning: -ngl is ignored: this libllama has no GPU backend");
  }
  return await loadModel(weights.path, {
    offset: weights.offset,
    mmap: options.mmap,
    mlock: options.mlock,
    repack: options.repack,
    ...(options.gpuLayers !== undefined && { gpuLayers: options.gpuLayers }),
  });
}
