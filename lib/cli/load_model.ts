/**
 * The libraries and the model the command line names. The libraries are opened before the
 * sandbox, with the GPU devices `--gpu`/`-ngl`/`-dev` ask for (see below); the model, a GGUF
 * path, a llamafile's own weights or an entry of a llamafile read in place, is loaded after it.
 *
 * What is opened before the sandbox when a GPU is asked for (and nothing of it otherwise):
 * - Vulkan: `libggml-vulkan.so` and the Vulkan loader `libvulkan.so.1`; the loader reads its
 *   manifests (`/usr/share/vulkan/icd.d/*.json`, `implicit_layer.d`, `/etc/vulkan`) and loads
 *   every driver they name (`libvulkan_*.so`), which read their configuration
 *   (`/usr/share/drirc.d`) and, for a GPU, open its render node `/dev/dri/renderD*` (read-write);
 *   opening the chosen device creates the Vulkan device and opens Mesa's shader cache (one file,
 *   `~/.cache/mesa_shader_cache_sf`, read-write, kept open: see `gpu_setup.ts`).
 * - CUDA: `libggml-cuda.so`, `libcuda.so.1`, `libcudart`/`libcublas`; the driver opens
 *   `/dev/nvidiactl`, `/dev/nvidia-uvm` and `/dev/nvidia<N>` (read-write) and creates each chosen
 *   device's context.
 * After it, the drivers work through those descriptors (`ioctl`, `mmap`), which the sandbox
 * allows; an open they would make later fails (Mesa then compiles a shader it could not cache).
 *
 * @module
 */
import { type BackendDevice, listDevices } from "../../ffi/backend_registry.ts";
import { type LlamaLibrary, openLibrary } from "../../ffi/library.ts";
import { connectRpcServers, rpcBackendPath, type RpcDevice } from "../../ffi/rpc.ts";
import { threadSeccompModes } from "../../ffi/seccomp.ts";
import { ModelLoadError } from "../engine/errors.ts";
import {
  type GpuRequest,
  type GpuSetup,
  offloadLayers,
  setUpGpu,
  wantsGpu,
} from "../engine/gpu_setup.ts";
import { formatPlacement } from "../engine/layer_placement.ts";
import { LoraAdapters } from "../engine/lora.ts";
import { type LlamaModel, loadModel, type LoadModelOptions } from "../engine/model.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { formatBytes } from "../util/format_bytes.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { trace, tracing } from "../util/trace.ts";
import type { CliOptions } from "./options.ts";
import type { GpuCliOptions } from "./options/gpu.ts";
import { UsageError } from "./option_table.ts";

/** The libraries, and the GPU devices chosen for the model. */
export interface OpenedLibrary {
  lib: LlamaLibrary;
  gpu: GpuSetup;
}

/** The GPU options that decide where the layers go (the main command's and `info`'s). */
export type PlacementOptions = Pick<
  GpuCliOptions,
  "gpu" | "gpuLayers" | "devices" | "splitMode" | "mainGpu" | "tensorSplit" | "overrideTensors"
>;

/** What the GPU options ask for. */
export function gpuRequestFrom(options: PlacementOptions): GpuRequest {
  return {
    mode: options.gpu,
    ...(options.gpuLayers !== undefined && { layers: options.gpuLayers }),
    ...(options.devices !== undefined && { devices: options.devices }),
  };
}

/**
 * Opens libllama and its backends (and libmtmd where a projector is used): libllama's log
 * shown with `--verbose`, a native abort (a failed `GGML_ASSERT`) reported as one `llamafile:`
 * line before the process exits 1, and the GPU devices the options ask for loaded and opened
 * (one warning line, and the CPU, when they cannot be used).
 */
export async function openLibraryFor(options: CliOptions): Promise<OpenedLibrary> {
  const lib = openLibrary();
  // libmtmd where the projector is used: the server, and the CLI with images. Its binding is
  // imported only then (a text prompt does not compile it), before the sandbox like any module.
  if (options.mmproj !== undefined && (options.server || options.image.length > 0)) {
    (await import("../../ffi/mtmd.ts")).openMtmd();
  }
  trace("libraries opened");
  if (options.verbose) lib.setLogSink((_level, line) => writeStderr(line));
  lib.setAbortReporter((message, during) =>
    writeStderr(`llamafile: ${during ?? "libllama aborted"}: ${message}`)
  );
  const request = gpuRequestFrom(options);
  const gpu = await setUpGpu(request, { lib });
  if (wantsGpu(request)) {
    trace(`GPU set up: ${gpu.devices.map((d) => d.name).join(", ") || "none"}`);
  }
  // With --rpc workers the layers have somewhere to go: --gpu auto finding no local GPU is news
  // to no one.
  const quiet = options.rpc.length > 0 && options.gpu === "auto" && options.devices === undefined;
  if (gpu.note !== null && !options.logDisable && !quiet) {
    writeStderr(`llamafile: warning: ${gpu.note}`);
  }
  if (options.verbose) {
    for (const device of gpu.devices) {
      writeStderr(
        `llamafile: GPU ${device.name}: ${device.description} (${
          Math.round(device.freeBytes / 2 ** 20)
        } MiB free of ${Math.round(device.totalBytes / 2 ** 20)} MiB)`,
      );
    }
  }
  return { lib, gpu };
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
 * The load options the GPU flags give, for the devices `gpu` chose and the `--rpc` workers'
 * devices (`remote`). Without `-ngl`, a model with only remote devices goes there whole, as
 * llama.cpp's `--rpc` does.
 */
export function offloadOptions(
  options: PlacementOptions,
  gpu: GpuSetup,
  remote: readonly BackendDevice[] = [],
): LoadModelOptions {
  const devices = [...gpu.devices, ...remote];
  if (devices.length === 0) return { devices };
  return {
    devices,
    gpuLayers: options.gpuLayers ??
      (gpu.devices.length > 0 ? offloadLayers(gpuRequestFrom(options)) : "all"),
    ...(options.splitMode !== undefined && { splitMode: options.splitMode }),
    ...(options.mainGpu !== undefined && { mainGpu: options.mainGpu }),
    ...(options.tensorSplit !== undefined && { tensorSplit: options.tensorSplit }),
    ...(options.overrideTensors.length > 0 && { overrides: options.overrideTensors }),
  };
}

/**
 * Loads the weights `options` name (see `resolveWeights`) onto the devices `gpu` chose: with
 * `--verbose`, one line says where each layer went; when they cannot take it (out of memory, a
 * driver error), one warning line and the CPU. With `LLAMAFILE_TRACE=1`, the seccomp mode of
 * every thread is traced from inside libllama's loader.
 */
export async function loadModelFromOptions(
  options: CliOptions,
  gpu: GpuSetup = { devices: [], note: null, loaded: [] },
): Promise<LlamaModel> {
  const weights = await resolveWeights(options.model);
  if (weights === null) throw new UsageError("No model given: pass -m MODEL.gguf");
  if (
    options.mainGpu !== undefined && gpu.devices.length > 0 && options.mainGpu >= gpu.devices.length
  ) {
    throw new UsageError(
      `Invalid value "${options.mainGpu}" for --main-gpu: there ${
        gpu.devices.length === 1 ? "is 1 GPU" : `are ${gpu.devices.length} GPUs`
      } (${gpu.devices.map((d) => d.name).join(", ")})`,
    );
  }
  let traced = false;
  const load = (offload: LoadModelOptions) =>
    loadModel(weights.path, {
      offset: weights.offset,
      mmap: options.mmap,
      mlock: options.mlock,
      repack: options.repack,
      ...offload,
      ...(tracing() && {
        onProgress: () => {
          if (traced) return;
          traced = true;
          trace(`model loader running; seccomp per thread: ${threadSeccompModes().join(" ")}`);
        },
      }),
    });
  // The --rpc workers' devices, registered by connectRpcFor() before the sandbox.
  const remote = options.rpc.length === 0
    ? []
    : listDevices(openLibrary()).filter((device) => device.backend === "RPC");
  let model: LlamaModel;
  try {
    model = await load(offloadOptions(options, gpu, remote));
  } catch (error) {
    if (!(error instanceof ModelLoadError) || gpu.devices.length === 0) throw error;
    // The GPU could not take it: the CPU can, unless the file itself is the problem.
    model = await load({ devices: [] });
    if (!options.logDisable) {
      writeStderr(
        `llamafile: warning: cannot load the model onto ${
          gpu.devices.map((d) => d.name).join(", ")
        } (${error.message.replace(/^Cannot load model "[^"]*": /, "")}); running on the CPU`,
      );
    }
  }
  if (options.verbose && model.placement !== null) {
    writeStderr(`llamafile: ${formatPlacement(model.placement)}`);
  }
  return model;
}

/**
 * The LoRA adapters `--lora` and `--lora-scaled` name, loaded for `model` (null without them):
 * each at its scale, or 0 with `--lora-init-without-apply`, as the server loads them.
 *
 * @throws {ModelLoadError} When a file is missing or is no LoRA adapter of this model.
 */
export async function loadLoraFromOptions(
  model: LlamaModel,
  options: CliOptions,
): Promise<LoraAdapters | null> {
  if (options.lora.length === 0) return null;
  return await LoraAdapters.load(model, options.lora, {
    initWithoutApply: options.loraInitWithoutApply,
  });
}
