/**
 * Choosing, loading and opening the GPU devices a command line asks for (`--gpu`, `-ngl`,
 * `-dev`), llamafile's way: nothing is probed or loaded unless offloading is asked for; then
 * `--gpu auto` looks for NVIDIA's driver and for a DRM render node before loading anything, and
 * a GPU that cannot be used (no driver, no backend library, no device, init failure) gives one
 * line saying why and the CPU.
 *
 * Everything here runs before the sandbox: loading a backend makes its driver read its
 * configuration and open its device files, and opening each chosen device creates the driver
 * state (a Vulkan logical device, a CUDA context) the process keeps. What is left for later
 * (allocating device memory, compiling shaders, submitting work) uses `ioctl`/`mmap` on file
 * descriptors already open, which the sandbox allows.
 *
 * @module
 */
import {
  type BackendDevice,
  listDevices,
  loadBackend,
  openDevice,
} from "../../ffi/backend_registry.ts";
import { findGpuBuild, GPU_BUILDS, type GpuBuildName } from "../../ffi/gpu_backends.ts";
import { type LlamaLibrary, openLibrary } from "../../ffi/library.ts";

/** `--gpu` values, llamafile's (less `apple`: Metal is not on Linux). */
export const GPU_MODES = ["auto", "nvidia", "amd", "vulkan", "disable"] as const;

/** Which GPU to use. */
export type GpuMode = typeof GPU_MODES[number];

/** `-ngl`: a count of layers, `auto` (as many as fit) or `all`. */
export type GpuLayers = number | "auto" | "all";

/** What the command line asks of the GPU. */
export interface GpuRequest {
  /** `--gpu` (default `auto`). */
  mode: GpuMode;
  /** `-ngl`, when given. */
  layers?: GpuLayers;
  /** `-dev`: device names in order, or `["none"]`. */
  devices?: readonly string[];
}

/** What the system has, as far as choosing a backend goes (see {@linkcode probeSystem}). */
export interface GpuProbe {
  /** NVIDIA's kernel driver is loaded (`/dev/nvidiactl` exists). */
  nvidiaDriver: boolean;
  /** A DRM render node (`/dev/dri/renderD*`) or WSL's GPU (`/dev/dxg`) exists. */
  renderNode: boolean;
  /** The backend libraries installed, by build. */
  builds: Partial<Record<GpuBuildName, string>>;
}

/** The chosen GPU devices, opened, or why there are none. */
export interface GpuSetup {
  /** The devices to offload to, in order (empty: the CPU does everything). */
  devices: BackendDevice[];
  /** The one line to print when a GPU was asked for and cannot be used. */
  note: string | null;
  /** The builds that were loaded. */
  loaded: GpuBuildName[];
}

/** The layers to offload: `-ngl` as given; without it, all when a GPU was named, else none. */
export function offloadLayers(request: GpuRequest): GpuLayers {
  if (request.layers !== undefined) return request.layers;
  const named = request.mode !== "auto" || (request.devices?.length ?? 0) > 0;
  return named ? "all" : 0;
}

/** True when the request asks for offloading (otherwise nothing is probed or loaded). */
export function wantsGpu(request: GpuRequest): boolean {
  if (request.mode === "disable") return false;
  if (request.devices?.length === 1 && request.devices[0] === "none") return false;
  return offloadLayers(request) !== 0;
}

/** How the request names itself in the one-line note. */
export function _requestLabel(request: GpuRequest): string {
  if (request.mode !== "auto") return `--gpu ${request.mode}`;
  if (request.devices?.length) return `-dev ${request.devices.join(",")}`;
  return `-ngl ${offloadLayers(request)}`;
}

/** Looks at the system without loading anything: two `stat`s and one folder listing. */
export function probeSystem(): GpuProbe {
  const exists = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  let renderNode = exists("/dev/dxg");
  try {
    for (const entry of Deno.readDirSync("/dev/dri")) {
      if (entry.name.startsWith("renderD")) renderNode = true;
    }
  } catch {
    // no /dev/dri
  }
  const builds: Partial<Record<GpuBuildName, string>> = {};
  for (const name of Object.keys(GPU_BUILDS) as GpuBuildName[]) {
    const path = findGpuBuild(name);
    if (path !== null) builds[name] = path;
  }
  return { nvidiaDriver: exists("/dev/nvidiactl"), renderNode, builds };
}

/** The builds to try, in order, or why none can be. */
export interface GpuPlan {
  builds: GpuBuildName[];
  /** Why nothing is tried (when `builds` is empty). */
  problem: string | null;
}

const NVIDIA_BUILDS: readonly GpuBuildName[] = ["cuda", "cuda-ext"];

function notInstalled(what: string, build: GpuBuildName): string {
  const { library, npmPackage } = GPU_BUILDS[build];
  return `the ${what} backend (${library}) is not installed (pack the llamafile with --gpu ${
    build === "vulkan" ? "vulkan" : "cuda"
  }, or npm install ${npmPackage}@3.22.1)`;
}

/** Decides which builds to try for `request` on a system that looks like `probe`. */
export function planGpu(request: GpuRequest, probe: GpuProbe): GpuPlan {
  const installed = (names: readonly GpuBuildName[]) => names.filter((n) => probe.builds[n]);
  const named = request.devices?.filter((name) => name !== "none") ?? [];
  if (named.length > 0) {
    // Devices named by ggml's names: load the backends they belong to, whatever the probes say.
    const builds: GpuBuildName[] = [];
    if (named.some((n) => n.startsWith("CUDA"))) builds.push(...installed(NVIDIA_BUILDS));
    if (named.some((n) => n.startsWith("Vulkan"))) builds.push(...installed(["vulkan"]));
    if (builds.length === 0) {
      const unknown = named.filter((n) => !/^(CUDA|Vulkan)\d+$/.test(n));
      return {
        builds,
        problem: unknown.length > 0
          ? `no backend has a device named ${unknown.map((n) => `"${n}"`).join(", ")}`
          : "the backend of the devices named is not installed",
      };
    }
    return { builds, problem: null };
  }
  switch (request.mode) {
    case "disable":
      return { builds: [], problem: "--gpu disable" };
    case "nvidia": {
      if (!probe.nvidiaDriver) {
        return { builds: [], problem: "no NVIDIA driver (/dev/nvidiactl is missing)" };
      }
      const builds = installed(NVIDIA_BUILDS);
      return { builds, problem: builds.length ? null : notInstalled("CUDA", "cuda") };
    }
    case "amd":
    case "vulkan": {
      const builds = installed(["vulkan"]);
      return { builds, problem: builds.length ? null : notInstalled("Vulkan", "vulkan") };
    }
    case "auto": {
      const builds: GpuBuildName[] = [];
      if (probe.nvidiaDriver) builds.push(...installed(NVIDIA_BUILDS));
      if (probe.renderNode) builds.push(...installed(["vulkan"]));
      if (builds.length > 0) return { builds, problem: null };
      if (!probe.nvidiaDriver && !probe.renderNode) {
        return { builds, problem: "no GPU found (no NVIDIA driver, no /dev/dri render node)" };
      }
      return {
        builds,
        problem: probe.nvidiaDriver
          ? notInstalled("CUDA", "cuda")
          : notInstalled("Vulkan", "vulkan"),
      };
    }
  }
}

/** Whether a Vulkan device looks like an AMD GPU (`--gpu amd`: ggml has no ROCm build here). */
export function _isAmd(device: BackendDevice): boolean {
  return /\b(AMD|Radeon)\b/i.test(device.description);
}

/** Mesa's one-file shader cache: opened once with the device, written through that descriptor. */
function singleFileShaderCache(): void {
  try {
    if (Deno.env.get("MESA_DISK_CACHE_SINGLE_FILE") === undefined) {
      Deno.env.set("MESA_DISK_CACHE_SINGLE_FILE", "1");
    }
  } catch {
    // no permission for it: the driver recompiles its shaders under the sandbox
  }
}

/**
 * Loads the backends `request` needs (see {@linkcode planGpu}), picks the devices and opens
 * them. Never throws for a GPU that cannot be used: `note` says why and `devices` is empty.
 *
 * @example Offload every layer to whatever GPU there is (the CPU when there is none)
 * ```ts
 * import { createContext, loadModel, setUpGpu } from "../../mod.ts";
 *
 * const gpu = await setUpGpu({ mode: "auto", layers: "all" });
 * if (gpu.note) console.error(gpu.note);
 * using model = await loadModel("../shared/models/stories260K.gguf", {
 *   devices: gpu.devices,
 *   gpuLayers: "all",
 * });
 * console.log(model.placement); // null on the CPU
 * ```
 */
export async function setUpGpu(
  request: GpuRequest,
  options: { probe?: GpuProbe; lib?: LlamaLibrary } = {},
): Promise<GpuSetup> {
  const loaded: GpuBuildName[] = [];
  const fallback = (why: string): GpuSetup => ({
    devices: [],
    note: `${_requestLabel(request)}: ${why}; running on the CPU`,
    loaded,
  });
  if (!wantsGpu(request)) return { devices: [], note: null, loaded };
  const probe = options.probe ?? probeSystem();
  const plan = planGpu(request, probe);
  if (plan.builds.length === 0) return fallback(plan.problem ?? "no GPU backend");
  const lib = options.lib ?? openLibrary();

  const named = request.devices?.filter((name) => name !== "none") ?? [];
  const problems: string[] = [];
  let devices: BackendDevice[] = [];
  for (const build of plan.builds) {
    const { registry, library, needs } = GPU_BUILDS[build];
    if (named.length === 0 && devices.length > 0) break;
    if (loaded.some((b) => GPU_BUILDS[b].registry === registry)) continue;
    if (build === "vulkan") singleFileShaderCache();
    const result = await loadBackend(lib, probe.builds[build]!, registry);
    if (!result.ok) {
      problems.push(`cannot load ${library} (${result.reason}; it needs ${needs})`);
      continue;
    }
    loaded.push(build);
    const found = listDevices(lib).filter((d) =>
      d.backend === result.backend && (d.type === "gpu" || d.type === "igpu")
    );
    if (found.length === 0) {
      problems.push(
        registry === "Vulkan"
          ? "the Vulkan driver reports no GPU (ggml skips CPU-type devices such as lavapipe unless GGML_VK_VISIBLE_DEVICES names one)"
          : `${registry} finds no device`,
      );
      continue;
    }
    if (request.mode === "amd" && named.length === 0) {
      const amd = found.filter(_isAmd);
      if (amd.length === 0) {
        problems.push(
          `no AMD GPU among the Vulkan devices (${found.map((d) => d.description).join(", ")})`,
        );
        continue;
      }
      devices.push(...amd);
    } else {
      devices.push(...found);
    }
  }
  if (named.length > 0) {
    const byName = new Map(devices.map((d) => [d.name, d]));
    const missing = named.filter((name) => !byName.has(name));
    devices = named.flatMap((name) => byName.get(name) ?? []);
    if (missing.length > 0) {
      return fallback(
        `no device named ${missing.join(", ")}${
          byName.size ? ` (there are ${[...byName.keys()].join(", ")})` : ""
        }${problems.length ? `: ${problems.join("; ")}` : ""}`,
      );
    }
  }
  if (devices.length === 0) return fallback(problems.join("; ") || "no GPU found");

  const opened = devices.filter((device) => {
    const failure = openDevice(lib, device);
    if (failure !== null) problems.push(failure);
    return failure === null;
  });
  if (opened.length === 0) return fallback(problems.join("; "));
  return { devices: opened, note: null, loaded };
}

/** What {@linkcode listGpuDevices} found. */
export interface GpuListing {
  /** The GPU devices of every backend that loaded. */
  devices: BackendDevice[];
  /** One line per backend that is installed but could not load. */
  problems: string[];
}

/**
 * `--list-devices`: loads every installed backend `mode` allows (all for `auto`; no probing:
 * listing is what was asked for) and lists their GPU devices.
 */
export async function listGpuDevices(
  mode: GpuMode,
  options: { probe?: GpuProbe; lib?: LlamaLibrary } = {},
): Promise<GpuListing> {
  const lib = options.lib ?? openLibrary();
  const probe = options.probe ?? probeSystem();
  const allowed: readonly GpuBuildName[] = {
    auto: ["cuda", "cuda-ext", "vulkan"] as const,
    nvidia: NVIDIA_BUILDS,
    amd: ["vulkan"] as const,
    vulkan: ["vulkan"] as const,
    disable: [] as const,
  }[mode];
  const problems: string[] = [];
  const backends = new Set<string>();
  for (const build of allowed) {
    const path = probe.builds[build];
    const { registry, library } = GPU_BUILDS[build];
    if (path === undefined || backends.has(registry)) continue;
    if (build === "vulkan") singleFileShaderCache();
    const result = await loadBackend(lib, path, registry);
    if (result.ok) backends.add(result.backend);
    else problems.push(`${library}: ${result.reason}`);
  }
  const devices = listDevices(lib).filter((d) =>
    backends.has(d.backend) && (d.type === "gpu" || d.type === "igpu") &&
    (mode !== "amd" || _isAmd(d))
  );
  return { devices, problems };
}
