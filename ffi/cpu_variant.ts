/**
 * Picks the ggml CPU backend variant for this processor from its feature flags, the
 * way ggml's build defines the variants, so that start-up loads one library instead of
 * scoring all fifteen (about 10 ms of a cold start). ggml itself still checks the pick:
 * `ggml_backend_load` refuses a variant the CPU cannot run, and then we score them all.
 *
 * @module
 */

const SSE42 = ["sse4_2"];
const AVX = [...SSE42, "avx"];
const F16C = [...AVX, "f16c"];
const FMA = [...F16C, "fma"];
const AVX2 = [...FMA, "avx2", "bmi2"];
const AVX512 = [...AVX2, "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"];
const AVX512_VNNI = [...AVX512, "avx512_vnni"];

/** x86-64 variants and the features each needs (ggml/src/CMakeLists.txt, v0.5.0). */
export const X86_VARIANTS: readonly (readonly [string, readonly string[]])[] = [
  ["x64", []],
  ["sse42", SSE42],
  ["sandybridge", AVX],
  ["ivybridge", F16C],
  ["piledriver", FMA],
  ["haswell", AVX2],
  ["skylakex", AVX512],
  ["cannonlake", [...AVX512, "avx512vbmi"]],
  ["cascadelake", AVX512_VNNI],
  ["icelake", [...AVX512_VNNI, "avx512vbmi"]],
  ["cooperlake", [...AVX512_VNNI, "avx512_bf16"]],
  ["zen4", [...AVX512_VNNI, "avx512vbmi", "avx512_bf16"]],
  ["alderlake", [...AVX2, "avx_vnni"]],
  ["sapphirerapids", [...AVX512_VNNI, "avx512vbmi", "avx512_bf16", "amx_tile", "amx_int8"]],
];

/** The feature flags of the first processor in `/proc/cpuinfo` text. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  return new Set(line.split(/\s+/).filter(Boolean));
}

/**
 * The name of the variant needing the most features this CPU has (`zen4` for an AMD
 * Zen 4), or `null` when the flags say nothing (not x86-64, no /proc).
 */
export function pickCpuVariant(flags: ReadonlySet<string>): string | null {
  if (flags.size === 0) return null;
  let best: string | null = null;
  let most = -1;
  for (const [name, needs] of X86_VARIANTS) {
    if (needs.every((f) => flags.has(f)) && needs.length > most) {
      best = name;
      most = needs.length;
    }
  }
  return best;
}

/**
 * ggml's x86 feature options (`GGML_<NAME>` in ggml/CMakeLists.txt) and the `/proc/cpuinfo`
 * flags each needs, for a CPU backend built for this machine.
 */
export const GGML_X86_FEATURES: readonly (readonly [string, readonly string[]])[] = [
  ["SSE42", SSE42],
  ["AVX", ["avx"]],
  ["F16C", ["f16c"]],
  ["FMA", ["fma"]],
  ["AVX2", ["avx2"]],
  ["BMI2", ["bmi2"]],
  ["AVX_VNNI", ["avx_vnni"]],
  ["AVX512", AVX512.slice(AVX2.length)],
  ["AVX512_VBMI", ["avx512vbmi"]],
  ["AVX512_VNNI", ["avx512_vnni"]],
  ["AVX512_BF16", ["avx512_bf16"]],
  ["AMX_TILE", ["amx_tile"]],
  ["AMX_INT8", ["amx_int8"]],
  ["AMX_BF16", ["amx_bf16"]],
];

/**
 * The `-DGGML_<NAME>=ON|OFF` CMake options that build ggml's CPU backend for a CPU with
 * `flags`: every feature option ggml has, on where the CPU has it (an AVX-512 option only with
 * the AVX-512 foundation it builds on).
 */
export function ggmlFeatureOptions(flags: ReadonlySet<string>): string[] {
  const has = (name: string) =>
    GGML_X86_FEATURES.find(([n]) => n === name)![1].every((f) => flags.has(f));
  return GGML_X86_FEATURES.map(([name]) => {
    const on = has(name) && (!name.startsWith("AVX512_") || has("AVX512")) &&
      (!name.startsWith("AMX_") || has("AMX_TILE"));
    return `-DGGML_${name}=${on ? "ON" : "OFF"}`;
  });
}

/**
 * What identifies this processor for a CPU backend built on it: vendor, family, model and its
 * feature flags, from `/proc/cpuinfo` text (the first processor). A build is only loaded on a
 * machine that gives the same text.
 */
export function cpuIdentity(cpuinfo: string): string {
  const field = (name: string) =>
    new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim() ?? "";
  const flags = [...cpuFlags(cpuinfo)].sort().join(" ");
  return [field("vendor_id"), field("cpu family"), field("model"), field("model name"), flags]
    .join("\n");
}
