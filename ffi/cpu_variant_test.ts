import assert from "node:assert/strict";
import { cpuFlags, cpuIdentity, ggmlFeatureOptions, pickCpuVariant } from "./cpu_variant.ts";

const ZEN4 =
  "flags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 avx512_vpopcntdq\n";

Deno.test("pickCpuVariant() picks the variant needing the most features present", () => {
  assert.equal(pickCpuVariant(cpuFlags(ZEN4)), "zen4");
  assert.equal(pickCpuVariant(cpuFlags("flags : sse4_2 avx f16c fma avx2 bmi2\n")), "haswell");
  assert.equal(
    pickCpuVariant(cpuFlags("flags : sse4_2 avx f16c fma avx2 bmi2 avx_vnni\n")),
    "alderlake",
  );
  assert.equal(pickCpuVariant(cpuFlags("flags : fpu mmx\n")), "x64");
});

Deno.test("pickCpuVariant() gives up without flags", () => {
  assert.equal(pickCpuVariant(cpuFlags("processor : 0\n")), null);
});

Deno.test("ggmlFeatureOptions() turns on the ggml options a CPU's flags allow", () => {
  const options = ggmlFeatureOptions(cpuFlags(ZEN4));
  assert.ok(options.includes("-DGGML_AVX512=ON"));
  assert.ok(options.includes("-DGGML_AVX512_BF16=ON"));
  assert.ok(options.includes("-DGGML_AVX_VNNI=OFF"));
  assert.ok(options.includes("-DGGML_AMX_INT8=OFF"));
  assert.equal(options.length, 14);
  // No AVX-512 extension without the foundation.
  const partial = ggmlFeatureOptions(cpuFlags("flags : sse4_2 avx f16c fma avx2 avx512_vnni\n"));
  assert.ok(partial.includes("-DGGML_AVX512_VNNI=OFF"));
  assert.ok(partial.includes("-DGGML_AVX2=ON") && partial.includes("-DGGML_BMI2=OFF"));
});

Deno.test("cpuIdentity() names vendor, family, model and the sorted flags", () => {
  const info = "vendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n" +
    "model name\t: AMD EPYC\nflags\t\t: sse4_2 avx\n";
  assert.equal(cpuIdentity(info), "AuthenticAMD\n26\n2\nAMD EPYC\navx sse4_2");
});
