import assert from "node:assert/strict";
import { cpuFlags, pickCpuVariant } from "./cpu_variant.ts";

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
