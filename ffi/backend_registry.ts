/**
 * ggml's backend registry, as the rest of the program sees it: load a backend library into the
 * process (beside the CPU backend `library.ts` loaded), list the devices, open one (which makes
 * its driver open its device files), and find a buffer type by name (for `-ot`).
 *
 * @module
 */
import { cString, readCString } from "./cstring.ts";
import type { LlamaLibrary } from "./library.ts";

/** `enum ggml_backend_dev_type`. */
export const DEVICE_TYPES = ["cpu", "gpu", "igpu", "accel", "meta"] as const;

/** What kind of device: a CPU, a discrete or integrated GPU, an accelerator (BLAS, AMX). */
export type DeviceType = typeof DEVICE_TYPES[number];

/** A device in ggml's registry. */
export interface BackendDevice {
  /** ggml's name for it, unique in the process: `CPU`, `Vulkan0`, `CUDA1`. */
  readonly name: string;
  /** What the driver calls it: `NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  readonly description: string;
  /** The backend it belongs to: `CPU`, `Vulkan`, `CUDA`. */
  readonly backend: string;
  readonly type: DeviceType;
  /** Memory the device reports (host memory for a CPU), at the time it was listed. */
  readonly freeBytes: number;
  readonly totalBytes: number;
  /** The `ggml_backend_dev_t`, for model parameters. */
  readonly handle: Deno.PointerObject;
}

/** What {@linkcode loadBackend} did. */
export type BackendLoad =
  | { ok: true; backend: string; devices: number }
  | { ok: false; reason: string };

/** Every device in the registry, in ggml's order (the CPU first). */
export function listDevices(lib: LlamaLibrary): BackendDevice[] {
  const { ggml } = lib;
  const devices: BackendDevice[] = [];
  const count = Number(ggml.ggml_backend_dev_count());
  const free = new BigUint64Array(1);
  const total = new BigUint64Array(1);
  for (let i = 0; i < count; i++) {
    const handle = ggml.ggml_backend_dev_get(BigInt(i));
    if (handle === null) continue;
    ggml.ggml_backend_dev_memory(
      handle,
      new Uint8Array(free.buffer),
      new Uint8Array(total.buffer),
    );
    devices.push({
      name: readCString(ggml.ggml_backend_dev_name(handle)) ?? `device ${i}`,
      description: readCString(ggml.ggml_backend_dev_description(handle)) ?? "",
      backend: readCString(ggml.ggml_backend_reg_name(ggml.ggml_backend_dev_backend_reg(handle))) ??
        "",
      type: DEVICE_TYPES[ggml.ggml_backend_dev_type(handle)] ?? "accel",
      freeBytes: Number(free[0]),
      totalBytes: Number(total[0]),
      handle,
    });
  }
  return devices;
}

/** The reason ggml logged for a failed load, without its prefix and the library's path. */
export function _loadFailure(lines: readonly string[], path: string): string {
  for (const line of lines) {
    const match = /failed to (?:load|initialize backend from|find ggml_backend_init in) (.*)$/
      .exec(line);
    if (match === null) continue;
    const rest = match[1]!.startsWith(path) ? match[1]!.slice(path.length) : match[1]!;
    return rest.replace(/^:\s*/, "").trim() || "ggml could not load it";
  }
  return "ggml could not load it";
}

/**
 * Loads the ggml backend library at `path` into the registry (once: a backend already registered
 * under `registry` is reported as loaded). The backend registers the devices its driver finds
 * now, so this opens the driver: the Vulkan loader reads its ICD manifests and loads the drivers,
 * CUDA opens `/dev/nvidiactl` and the devices.
 */
export async function loadBackend(
  lib: LlamaLibrary,
  path: string,
  registry: string,
): Promise<BackendLoad> {
  const { ggml } = lib;
  let reg = ggml.ggml_backend_reg_by_name(cString(registry));
  if (reg === null) {
    const mark = lib.errorMark();
    reg = await lib.captureLog(() => Promise.resolve(ggml.ggml_backend_load(cString(path))));
    if (reg === null) return { ok: false, reason: _loadFailure(lib.errorsSince(mark), path) };
  }
  return {
    ok: true,
    backend: readCString(ggml.ggml_backend_reg_name(reg)) ?? registry,
    devices: Number(ggml.ggml_backend_reg_dev_count(reg)),
  };
}

/**
 * Opens `device` and closes it again: its driver opens the device files and creates its state
 * (a Vulkan logical device, a CUDA context), which it keeps for the process, so that nothing of
 * the kind is left to open once the sandbox forbids opening files. Returns `null`, or why it
 * failed.
 */
export function openDevice(lib: LlamaLibrary, device: BackendDevice): string | null {
  const backend = lib.ggml.ggml_backend_dev_init(device.handle, null);
  if (backend === null) return `${device.name} could not be initialized`;
  lib.ggml.ggml_backend_free(backend);
  return null;
}

/** The names of the buffer types of the devices (`CPU`, `Vulkan0`), for `-ot`. */
export function bufferTypeNames(lib: LlamaLibrary, devices: readonly BackendDevice[]): string[] {
  return devices.flatMap((device) => {
    const buft = lib.ggml.ggml_backend_dev_buffer_type(device.handle);
    const name = buft === null ? null : readCString(lib.ggml.ggml_backend_buft_name(buft));
    return name === null ? [] : [name];
  });
}

/** The buffer type named `name` among those of `devices`, or `null`. */
export function bufferTypeByName(
  lib: LlamaLibrary,
  devices: readonly BackendDevice[],
  name: string,
): Deno.PointerObject | null {
  for (const device of devices) {
    const buft = lib.ggml.ggml_backend_dev_buffer_type(device.handle);
    if (buft !== null && readCString(lib.ggml.ggml_backend_buft_name(buft)) === name) return buft;
  }
  return null;
}
