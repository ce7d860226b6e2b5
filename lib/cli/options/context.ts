/**
 * Context options (llama.cpp's KV cache, attention, pooling, context shift, RoPE and LoRA
 * adapter params), with llama.cpp's defaults and `LLAMA_ARG_*` variables.
 *
 * @module
 */
import { type OptionSection, UsageError } from "../option_table.ts";

/** KV cache types `-ctk`/`-ctv` take (llama.cpp's `kv_cache_types`), as ggml type ids. */
export const KV_CACHE_TYPES: Readonly<Record<string, number>> = {
  f32: 0,
  f16: 1,
  bf16: 30,
  q8_0: 8,
  q4_0: 2,
  q4_1: 3,
  iq4_nl: 20,
  q5_0: 6,
  q5_1: 7,
};

/** Pooling types `--pooling` takes, as `enum llama_pooling_type` values. */
export const POOLING_TYPES: Readonly<Record<string, number>> = {
  none: 0,
  mean: 1,
  cls: 2,
  last: 3,
  rank: 4,
};

/** A LoRA adapter to load and the scale it starts with. */
export interface LoraSpec {
  path: string;
  scale: number;
}

/** What the context options set. */
export interface ContextCliOptions {
  /** KV cache type of K (ggml type id, default F16). */
  cacheTypeK: number;
  /** KV cache type of V (ggml type id, default F16). */
  cacheTypeV: number;
  /** Full-size sliding-window-attention cache. */
  swaFull: boolean;
  /** One KV cache shared by all slots; unset: on when `-np` is auto. */
  kvUnified?: boolean;
  /** Shift the context when it fills instead of stopping. */
  contextShift: boolean;
  /** Prompt tokens kept when the context shifts (-1 = all). */
  keep: number;
  /** Embedding pooling (`enum llama_pooling_type`); unset: the model's. */
  pooling?: number;
  /** LoRA adapters (`--lora` at scale 1, `--lora-scaled` at theirs), in order. */
  lora: LoraSpec[];
  /** Load the adapters at scale 0 (set later with POST /lora-adapters). */
  loraInitWithoutApply: boolean;
  /** Normalization of embeddings: -1 none, 0 max-abs int16, 1 taxicab, 2 euclidean, >2 p-norm. */
  embdNormalize: number;
  /** Tokens one slot may use at most (0 = no cap beyond its share). */
  kvUnifiedPerSlot: number;
  /** RoPE scaling: -1 the model's, 0 none, 1 linear, 2 yarn. */
  ropeScaling: number;
  /** RoPE frequency base; 0 = the model's. */
  ropeFreqBase: number;
  /** RoPE frequency scale; 0 = the model's. */
  ropeFreqScale: number;
  /** YaRN: original context; 0 = the trained one. */
  yarnOrigCtx: number;
  /** YaRN: extrapolation mix factor; negative = the model's. */
  yarnExtFactor: number;
  /** YaRN: attention magnitude; negative = the model's. */
  yarnAttnFactor: number;
  /** YaRN: high correction dimension; negative = the model's. */
  yarnBetaSlow: number;
  /** YaRN: low correction dimension; negative = the model's. */
  yarnBetaFast: number;
}

function choice(table: Readonly<Record<string, number>>, what: string) {
  return (raw: string, name: string): number => {
    const value = table[raw.trim().toLowerCase()];
    if (value === undefined) {
      throw new UsageError(
        `Invalid value "${raw}" for ${name}: expected a ${what}: ${Object.keys(table).join(", ")}`,
      );
    }
    return value;
  };
}

/** `FNAME:SCALE` of `--lora-scaled`. */
export function parseLoraScaled(raw: string, name: string): LoraSpec {
  const at = raw.lastIndexOf(":");
  const scale = at < 0 ? NaN : Number(raw.slice(at + 1));
  if (at <= 0 || raw.slice(at + 1).trim() === "" || !Number.isFinite(scale)) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: expected FNAME:SCALE`);
  }
  return { path: raw.slice(0, at), scale };
}

/** The context options. */
export const CONTEXT_SECTION: OptionSection<ContextCliOptions> = {
  title: "Context, KV cache, adapters",
  defaults: {
    cacheTypeK: KV_CACHE_TYPES.f16,
    cacheTypeV: KV_CACHE_TYPES.f16,
    swaFull: false,
    contextShift: false,
    keep: 0,
    lora: [],
    loraInitWithoutApply: false,
    embdNormalize: 2,
    kvUnifiedPerSlot: 0,
    ropeScaling: -1,
    ropeFreqBase: 0,
    ropeFreqScale: 0,
    yarnOrigCtx: 0,
    yarnExtFactor: -1,
    yarnAttnFactor: -1,
    yarnBetaSlow: -1,
    yarnBetaFast: -1,
  },
  specs: [
    {
      names: ["-ctk", "--cache-type-k"],
      key: "cacheTypeK",
      kind: "string",
      arg: "TYPE",
      env: "LLAMA_ARG_CACHE_TYPE_K",
      parse: choice(KV_CACHE_TYPES, "KV cache type"),
      help: `KV cache type of K: ${Object.keys(KV_CACHE_TYPES).join(", ")}`,
      defaultText: "f16",
    },
    {
      names: ["-ctv", "--cache-type-v"],
      key: "cacheTypeV",
      kind: "string",
      arg: "TYPE",
      env: "LLAMA_ARG_CACHE_TYPE_V",
      parse: choice(KV_CACHE_TYPES, "KV cache type"),
      help: "KV cache type of V (quantized V needs flash attention)",
      defaultText: "f16",
    },
    {
      names: ["--swa-full"],
      key: "swaFull",
      kind: "flag",
      env: "LLAMA_ARG_SWA_FULL",
      help: "full-size cache for sliding-window attention layers",
    },
    {
      names: ["-kvu", "--kv-unified"],
      key: "kvUnified",
      kind: "flag",
      env: "LLAMA_ARG_KV_UNIFIED",
      help: "one KV cache shared by all slots (each may then fill the whole context)",
      defaultText: "on when -np is auto",
    },
    {
      names: ["-no-kvu", "--no-kv-unified"],
      key: "kvUnified",
      kind: "flag",
      value: false,
      help: "each slot gets its share of the context (-c divided by -np)",
    },
    {
      names: ["--context-shift"],
      key: "contextShift",
      kind: "flag",
      env: "LLAMA_ARG_CONTEXT_SHIFT",
      help: "when a slot's context fills, drop the oldest tokens after --keep and go on",
    },
    {
      names: ["--no-context-shift"],
      key: "contextShift",
      kind: "flag",
      value: false,
      help: "stop generating when a slot's context fills (default)",
    },
    {
      names: ["--keep"],
      key: "keep",
      kind: "int",
      arg: "N",
      min: -1,
      help: "prompt tokens kept when the context shifts, -1 = all",
    },
    {
      names: ["--pooling"],
      key: "pooling",
      kind: "string",
      arg: "{none,mean,cls,last,rank}",
      env: "LLAMA_ARG_POOLING",
      parse: choice(POOLING_TYPES, "pooling type"),
      help: "pooling of embeddings",
      defaultText: "the model's",
    },
    {
      names: ["--embd-normalize"],
      key: "embdNormalize",
      kind: "int",
      arg: "N",
      min: -1,
      help:
        "embeddings' normalization: -1 none, 0 max-abs int16, 1 taxicab, 2 euclidean, >2 p-norm",
    },
    {
      names: ["--kv-unified-per-slot"],
      key: "kvUnifiedPerSlot",
      kind: "int",
      arg: "N",
      min: 0,
      env: "LLAMA_ARG_KV_UNIFIED_PER_SLOT",
      help: "tokens one slot may use at most, 0 = no cap",
    },
    {
      names: ["--rope-scaling"],
      key: "ropeScaling",
      kind: "string",
      arg: "{none,linear,yarn}",
      env: "LLAMA_ARG_ROPE_SCALING_TYPE",
      parse: choice({ none: 0, linear: 1, yarn: 2 }, "RoPE scaling"),
      help: "RoPE frequency scaling method",
      defaultText: "the model's",
    },
    {
      names: ["--rope-scale"],
      key: "ropeFreqScale",
      kind: "float",
      arg: "N",
      min: 0,
      env: "LLAMA_ARG_ROPE_SCALE",
      parse: (raw, name) => {
        const n = Number(raw);
        if (!(n > 0)) throw new UsageError(`Invalid value "${raw}" for ${name}: expected N > 0`);
        return 1 / n;
      },
      help: "RoPE context scaling factor: expands the context N times",
    },
    {
      names: ["--rope-freq-base"],
      key: "ropeFreqBase",
      kind: "float",
      arg: "N",
      min: 0,
      env: "LLAMA_ARG_ROPE_FREQ_BASE",
      help: "RoPE base frequency, 0 = the model's",
    },
    {
      names: ["--rope-freq-scale"],
      key: "ropeFreqScale",
      kind: "float",
      arg: "N",
      min: 0,
      env: "LLAMA_ARG_ROPE_FREQ_SCALE",
      help: "RoPE frequency scaling factor (expands the context 1/N times), 0 = the model's",
    },
    {
      names: ["--yarn-orig-ctx"],
      key: "yarnOrigCtx",
      kind: "int",
      arg: "N",
      min: 0,
      env: "LLAMA_ARG_YARN_ORIG_CTX",
      help: "YaRN: the model's original context, 0 = the trained one",
    },
    {
      names: ["--yarn-ext-factor"],
      key: "yarnExtFactor",
      kind: "float",
      arg: "N",
      env: "LLAMA_ARG_YARN_EXT_FACTOR",
      help: "YaRN: extrapolation mix factor, negative = the model's",
    },
    {
      names: ["--yarn-attn-factor"],
      key: "yarnAttnFactor",
      kind: "float",
      arg: "N",
      env: "LLAMA_ARG_YARN_ATTN_FACTOR",
      help: "YaRN: attention magnitude scale, negative = the model's",
    },
    {
      names: ["--yarn-beta-slow"],
      key: "yarnBetaSlow",
      kind: "float",
      arg: "N",
      env: "LLAMA_ARG_YARN_BETA_SLOW",
      help: "YaRN: high correction dimension, negative = the model's",
    },
    {
      names: ["--yarn-beta-fast"],
      key: "yarnBetaFast",
      kind: "float",
      arg: "N",
      env: "LLAMA_ARG_YARN_BETA_FAST",
      help: "YaRN: low correction dimension, negative = the model's",
    },
    {
      names: ["--lora"],
      key: "lora",
      kind: "list",
      arg: "FNAME",
      commaList: true,
      parse: (raw) => ({ path: raw, scale: 1 }),
      help: "load a LoRA adapter at scale 1 (repeatable, comma-separated)",
    },
    {
      names: ["--lora-scaled"],
      key: "lora",
      kind: "list",
      arg: "FNAME:SCALE",
      commaList: true,
      parse: parseLoraScaled,
      help: "load a LoRA adapter at this scale (repeatable, comma-separated)",
    },
    {
      names: ["--lora-init-without-apply"],
      key: "loraInitWithoutApply",
      kind: "flag",
      help: "load the adapters at scale 0 (apply them with POST /lora-adapters)",
    },
  ],
};
