import assert from "node:assert/strict";
import type { BackendDevice } from "../../ffi/backend_registry.ts";
import {
  _isAmd,
  _requestLabel,
  type GpuProbe,
  offloadLayers,
  planGpu,
  setUpGpu,
  wantsGpu,
} from "./gpu_setup.ts";

const NOTHING: GpuProbe = { nvidiaDriver: false, renderNode: false, builds: {} };
const ALL_BUILDS = { vulkan: "/v.so", cuda: "/c.so", "cuda-ext": "/ce.so" } as const;

Deno.test("offloadLayers() is -ngl as given; without it all when a GPU is named, else none", () => {
  assert.equal(offloadLayers({ mode: "auto" }), 0);
  assert.equal(offloadLayers({ mode: "auto", layers: 12 }), 12);
  assert.equal(offloadLayers({ mode: "auto", layers: "auto" }), "auto");
  assert.equal(offloadLayers({ mode: "nvidia" }), "all");
  assert.equal(offloadLayers({ mode: "vulkan", layers: 0 }), 0);
  assert.equal(offloadLayers({ mode: "auto", devices: ["Vulkan0"] }), "all");
});

Deno.test("wantsGpu() is false by default, for -ngl 0, --gpu disable and -dev none", () => {
  assert.equal(wantsGpu({ mode: "auto" }), false);
  assert.equal(wantsGpu({ mode: "auto", layers: 0 }), false);
  assert.equal(wantsGpu({ mode: "disable", layers: 99 }), false);
  assert.equal(wantsGpu({ mode: "auto", layers: 99, devices: ["none"] }), false);
  assert.equal(wantsGpu({ mode: "auto", layers: 99 }), true);
  assert.equal(wantsGpu({ mode: "nvidia" }), true);
});

Deno.test("_requestLabel() names what the user asked for", () => {
  assert.equal(_requestLabel({ mode: "nvidia" }), "--gpu nvidia");
  assert.equal(_requestLabel({ mode: "auto", devices: ["CUDA0", "CUDA1"] }), "-dev CUDA0,CUDA1");
  assert.equal(_requestLabel({ mode: "auto", layers: 999 }), "-ngl 999");
});

Deno.test("planGpu() --gpu auto probes NVIDIA's driver, then a render node, before loading", () => {
  assert.deepEqual(planGpu({ mode: "auto", layers: 99 }, { ...NOTHING, builds: ALL_BUILDS }), {
    builds: [],
    problem: "no GPU found (no NVIDIA driver, no /dev/dri render node)",
  });
  assert.deepEqual(
    planGpu({ mode: "auto", layers: 99 }, {
      nvidiaDriver: true,
      renderNode: true,
      builds: ALL_BUILDS,
    }),
    { builds: ["cuda", "cuda-ext", "vulkan"], problem: null },
  );
  assert.deepEqual(
    planGpu({ mode: "auto", layers: 99 }, { ...NOTHING, renderNode: true, builds: ALL_BUILDS }),
    { builds: ["vulkan"], problem: null },
  );
  const noBuild = planGpu({ mode: "auto", layers: 99 }, { ...NOTHING, nvidiaDriver: true });
  assert.deepEqual(noBuild.builds, []);
  assert.match(noBuild.problem!, /CUDA backend \(libggml-cuda\.so\) is not installed/);
});

Deno.test("planGpu() --gpu nvidia needs the driver and a CUDA build; vulkan and amd the Vulkan build", () => {
  assert.deepEqual(planGpu({ mode: "nvidia" }, { ...NOTHING, builds: ALL_BUILDS }), {
    builds: [],
    problem: "no NVIDIA driver (/dev/nvidiactl is missing)",
  });
  assert.deepEqual(
    planGpu({ mode: "nvidia" }, { ...NOTHING, nvidiaDriver: true, builds: { "cuda-ext": "/x" } }),
    { builds: ["cuda-ext"], problem: null },
  );
  assert.deepEqual(planGpu({ mode: "vulkan" }, { ...NOTHING, builds: ALL_BUILDS }), {
    builds: ["vulkan"],
    problem: null,
  });
  assert.match(planGpu({ mode: "amd" }, NOTHING).problem!, /Vulkan backend .* is not installed/);
});

Deno.test("planGpu() -dev loads the backends of the devices named, whatever the probes say", () => {
  assert.deepEqual(
    planGpu({ mode: "auto", devices: ["Vulkan0", "CUDA1"] }, { ...NOTHING, builds: ALL_BUILDS }),
    { builds: ["cuda", "cuda-ext", "vulkan"], problem: null },
  );
  assert.match(
    planGpu({ mode: "auto", devices: ["Metal0"] }, { ...NOTHING, builds: ALL_BUILDS }).problem!,
    /no backend has a device named "Metal0"/,
  );
});

Deno.test("setUpGpu() falls back with one line and loads nothing when the plan is empty", async () => {
  const none = await setUpGpu({ mode: "auto" }, { probe: NOTHING });
  assert.deepEqual(none, { devices: [], note: null, loaded: [] });
  const nvidia = await setUpGpu({ mode: "nvidia" }, { probe: NOTHING });
  assert.deepEqual(nvidia.devices, []);
  assert.equal(
    nvidia.note,
    "--gpu nvidia: no NVIDIA driver (/dev/nvidiactl is missing); running on the CPU",
  );
  assert.equal(nvidia.note!.includes("\n"), false);
});

Deno.test("_isAmd() reads the Vulkan device name", () => {
  const device = (description: string) => ({ description }) as BackendDevice;
  assert.equal(_isAmd(device("AMD Radeon RX 7900 XTX (RADV NAVI31)")), true);
  assert.equal(_isAmd(device("NVIDIA GeForce RTX 4090")), false);
  assert.equal(_isAmd(device("llvmpipe (LLVM 15.0.6, 256 bits)")), false);
});
