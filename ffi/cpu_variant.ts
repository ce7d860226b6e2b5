/**
 * Picks the ggml CPU backend variant for this processor from its feature flags, the
 * way ggml's build defines the variants, so that start-up loads one library instead of
 * scoring all fifteen (about 10 ms of a cold start). ggml itself still checks the pick:
 * `ggml_backend_load` refuses a variant the CPU cannot run, and then we score them all.
 *
 * @module
 */

/** x86-64 variants and the features each needs (ggml/src/CMakeLists.txt, v0.5.0). */
export const X86_VARIANTS: readonly (readonly [string, readonly string[]])[] = [
  ["x64", []],
  ["sse42", ["sse4_2"]],
  ["sandybridge", ["sse4_2", "avx"]],
  ["ivybridge", ["sse4_2", "avx", "f16c"]],
  ["piledriver", ["sse4_2", "avx", "f16c", "fma"]],
  ["haswell", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"]],
  ["skylakex", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
  ]],
  ["cannonlake", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512vbmi",
  ]],
  ["cascadelake", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512_vnni",
  ]],
  ["icelake", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512vbmi",
    "avx512_vnni",
  ]],
  ["cooperlake", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
  ]],
  ["zen4", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512vbmi",
    "avx512_vnni",
    "avx512_bf16",
  ]],
  ["alderlake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx_vnni"]],
  ["sapphirerapids", [
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "avx2",
    "bmi2",
    "avx512f",
    "avx512cd",
    "avx512vl",
    "avx512dq",
    "avx512bw",
    "avx512vbmi",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
  ]],
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
