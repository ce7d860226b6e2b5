/**
 * The libraries and the model the command line names. The libraries are opened before the
 * sandbox (with whatever devices their backends open); the model, a GGUF path, a llamafile's
 * own weights or an entry of a llamafile read in place, is loaded after it.
 *
 * @module
 */
import { type LlamaLibrary, openLibrary } from "../../ffi/library.ts";
import { threadSeccompModes } from "../../ffi/seccomp.ts";
import { type LlamaModel, loadModel } from "../engine/model.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { trace, tracing } from "../util/trace.ts";
import type { CliOptions } from "./options.ts";
import { UsageError } from "./option_table.ts";

/**
 * Opens libllama and its backends: libllama's log shown with `--verbose`, and a native abort
 * (a failed `GGML_ASSERT`) reported as one `llamafile:` line before the process exits 1.
 */
export function openLibraryFor(options: CliOptions): LlamaLibrary {
  const lib = openLibrary();
  trace("libraries opened");
  if (options.verbose) lib.setLogSink((_level, line) => writeStderr(line));
  lib.setAbortReporter((message, during) =>
    writeStderr(`llamafile: ${during ?? "libllama aborted"}: ${message}`)
  );
  if (
    options.gpuLayers !== undefined && options.gpuLayers !== 0 && !lib.hasGpu && !options.logDisable
  ) {
    writeStderr("llamafile: warning: -ngl is ignored: this libllama has no GPU backend");
  }
  return lib;
}

/**
 * Loads the weights `options` name (see `resolveWeights`). With `LLAMAFILE_TRACE=1`, the
 * seccomp mode of every thread is traced from inside libllama's loader.
 */
export async function loadModelFromOptions(options: CliOptions): Promise<LlamaModel> {
  const weights = await resolveWeights(options.model);
  if (weights === null) throw new UsageError("No model given: pass -m MODEL.gguf");
  let traced = false;
  return await loadModel(weights.path, {
    offset: weights.offset,
    mmap: options.mmap,
    mlock: options.mlock,
    repack: options.repack,
    ...(options.gpuLayers !== undefined && { gpuLayers: options.gpuLayers }),
    ...(tracing() && {
      onProgress: () => {
        if (traced) return;
        traced = true;
        trace(`model loader running; seccomp per thread: ${threadSeccompModes().join(" ")}`);
      },
    }),
  });
}
