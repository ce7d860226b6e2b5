/**
 * The libraries and the model the command line names. The libraries are opened before the
 * sandbox (with whatever devices their backends open); the model, a GGUF path, a llamafile's
 * own weights or an entry of a llamafile read in place, is loaded after it.
 *
 * @module
 */
import { type LlamaLibrary, openLibrary } from "../../ffi/library.ts";
import { connectRpcServers, rpcBackendPath, type RpcDevice } from "../../ffi/rpc.ts";
import { threadSeccompModes } from "../../ffi/seccomp.ts";
import { type LlamaModel, loadModel } from "../engine/model.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { formatBytes } from "../util/format_bytes.ts";
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
    options.gpuLayers !== undefined && options.gpuLayers !== 0 && !lib.hasGpu &&
    options.rpc.length === 0 && !options.logDisable
  ) {
    writeStderr("llamafile: warning: -ngl is ignored: this libllama has no GPU backend");
  }
  return lib;
}

/**
 * Connects to the `--rpc` workers (nothing without the flag): a model loaded afterwards puts
 * its layers on their devices. These are the only sockets the CLI ever makes, so this runs
 * before the sandbox, and the connections stay open through it while it refuses any new one.
 * With `--verbose`, one line per remote device.
 */
export async function connectRpcFor(
  lib: LlamaLibrary,
  options: CliOptions,
): Promise<RpcDevice[]> {
  if (options.rpc.length === 0) return [];
  const devices = await connectRpcServers(lib, options.rpc);
  trace("rpc workers connected");
  if (options.verbose) {
    writeStderr(`llamafile: rpc: backend module ${rpcBackendPath(lib)}`);
    for (const device of devices) {
      writeStderr(
        `llamafile: rpc: ${device.name} at ${device.endpoint}: ${
          formatBytes(device.free)
        } free of ${formatBytes(device.total)}`,
      );
    }
  }
  return devices;
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
