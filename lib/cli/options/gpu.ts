/**
 * GPU options: llamafile's `--gpu` and llama.cpp's offload flags (`-ngl`, `-sm`, `-ts`, `-mg`,
 * `-dev`, `--list-devices`, `-fa`, `-nkvo`, `-ot`). Nothing GPU-related is loaded unless they
 * ask for offloading (see `lib/engine/gpu_setup.ts`).
 *
 * @module
 */
import { GPU_MODES, type GpuLayers, type GpuMode } from "../../engine/gpu_setup.ts";
import { SPLIT_MODES, type SplitMode } from "../../engine/model.ts";
import { type OptionSection, UsageError } from "../option_table.ts";

/** What the GPU options set. */
export interface GpuCliOptions {
  /** `-ngl` as given (absent: none, or all when `--gpu` or `-dev` names a GPU). */
  gpuLayers?: GpuLayers;
  gpu: GpuMode;
  splitMode?: SplitMode;
  tensorSplit?: number[];
  mainGpu?: number;
  /** `-dev` names, or `["none"]`. */
  devices?: string[];
  listDevices: boolean;
  /** `-fa`: on, off, or absent for libllama's auto. */
  flashAttention?: boolean;
  offloadKqv: boolean;
  overrideTensors: { pattern: string; buffer: string }[];
}

/** `-ngl N|auto|all`. */
export function parseGpuLayers(raw: string, name: string): GpuLayers {
  const text = raw.trim();
  if (text === "auto" || text === "all") return text;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected a number of layers, auto or all`,
    );
  }
  return Number(text);
}

function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: string, name: string): T => {
    const text = raw.trim().toLowerCase() as T;
    if (!choices.includes(text)) {
      throw new UsageError(
        `Invalid value "${raw}" for ${name}: must be one of ${choices.join(", ")}`,
      );
    }
    return text;
  };
}

/** `-ts 3,1` (or `3/1`): the proportion of the model each device gets. */
export function parseTensorSplit(raw: string, name: string): number[] {
  const parts = raw.split(/[,/]+/).map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === "") || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected proportions such as 3,1 (numbers, at least 0)`,
    );
  }
  if (values.length > 16) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: at most 16 devices`);
  }
  return values;
}

/** `-dev Vulkan0,CUDA0` or `-dev none`. */
export function parseDevices(raw: string, name: string): string[] {
  const names = raw.split(",").map((part) => part.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`Option ${name} needs a device name or none`);
  if (names.includes("none") && names.length > 1) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: none cannot be combined with devices`,
    );
  }
  return names;
}

/** One `-ot` rule, `PATTERN=BUFFER_TYPE`. */
export function parseOverride(raw: string, name: string): { pattern: string; buffer: string } {
  const eq = raw.lastIndexOf("=");
  const pattern = raw.slice(0, eq).trim();
  const buffer = raw.slice(eq + 1).trim();
  if (eq < 0 || pattern === "" || buffer === "") {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected TENSOR_PATTERN=BUFFER_TYPE, e.g. "ffn_.*=CPU"`,
    );
  }
  try {
    new RegExp(pattern);
  } catch {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: "${pattern}" is not a regular expression`,
    );
  }
  return { pattern, buffer };
}

/** `-fa on|off|auto` (auto = absent). */
function parseFlashAttention(raw: string, name: string): boolean | undefined {
  const value = oneOf(["on", "off", "auto"] as const)(raw, name);
  return value === "auto" ? undefined : value === "on";
}

/** The GPU options. */
export const GPU_SECTION: OptionSection<GpuCliOptions> = {
  title: "GPU",
  defaults: { gpu: "auto", listDevices: false, offloadKqv: true, overrideTensors: [] },
  specs: [
    {
      names: ["-ngl", "--n-gpu-layers", "--gpu-layers"],
      key: "gpuLayers",
      kind: "string",
      arg: "N|auto|all",
      parse: parseGpuLayers,
      help: "layers to offload to the GPU: a number (999 = all), auto (as many as fit) or all",
      defaultText: "0; all when --gpu or -dev names a GPU",
    },
    {
      names: ["--gpu"],
      key: "gpu",
      kind: "string",
      arg: GPU_MODES.join("|"),
      parse: oneOf(GPU_MODES),
      help:
        "which GPU: auto (NVIDIA's driver, else a /dev/dri GPU), nvidia (CUDA), amd or vulkan (Vulkan), disable",
    },
    {
      names: ["-sm", "--split-mode"],
      key: "splitMode",
      kind: "string",
      arg: Object.keys(SPLIT_MODES).join("|"),
      parse: oneOf(Object.keys(SPLIT_MODES) as SplitMode[]),
      help: "how to split the model over several GPUs",
      defaultText: "layer",
    },
    {
      names: ["-ts", "--tensor-split"],
      key: "tensorSplit",
      kind: "string",
      arg: "N0,N1,...",
      parse: parseTensorSplit,
      help: "proportion of the model each GPU gets, e.g. 3,1",
      defaultText: "by free memory",
    },
    {
      names: ["-mg", "--main-gpu"],
      key: "mainGpu",
      kind: "int",
      arg: "INDEX",
      min: 0,
      help: "the GPU that holds the model with --split-mode none",
      defaultText: "0",
    },
    {
      names: ["-dev", "--device"],
      key: "devices",
      kind: "string",
      arg: "DEV,...|none",
      parse: parseDevices,
      help: "the devices to offload to, by name (see --list-devices); none = no offloading",
    },
    {
      names: ["--list-devices"],
      key: "listDevices",
      kind: "flag",
      help: "list the GPU devices --gpu can use and exit",
    },
    {
      names: ["-fa", "--flash-attn"],
      key: "flashAttention",
      kind: "string",
      arg: "on|off|auto",
      parse: parseFlashAttention,
      help: "flash attention",
      defaultText: "auto",
    },
    {
      names: ["-kvo", "--kv-offload"],
      key: "offloadKqv",
      kind: "flag",
      env: "LLAMA_ARG_KV_OFFLOAD",
      help: "put the KV cache with the offloaded layers (default)",
    },
    {
      names: ["-nkvo", "--no-kv-offload"],
      key: "offloadKqv",
      kind: "flag",
      value: false,
      help: "keep the KV cache in host memory when layers are offloaded",
    },
    {
      names: ["-ot", "--override-tensor"],
      key: "overrideTensors",
      kind: "list",
      arg: "PATTERN=BUFFER,...",
      commaList: true,
      parse: parseOverride,
      help:
        'put tensors matching PATTERN in buffer type BUFFER (CPU, Vulkan0, ...), e.g. "ffn_.*=CPU"',
    },
  ],
};
