import assert from "node:assert/strict";
import {
  formatPlacement,
  offloadedCount,
  parsePlacementLine,
  PlacementCollector,
} from "./layer_placement.ts";

Deno.test("parsePlacementLine() reads libllama's layer assignment lines", () => {
  assert.deepEqual(
    parsePlacementLine("load_tensors: layer   3 assigned to device Vulkan0, is_swa = 0"),
    [3, "Vulkan0"],
  );
  assert.equal(parsePlacementLine("load_tensors: offloaded 6/6 layers to GPU"), null);
});

Deno.test("PlacementCollector collects a load's lines into one placement", () => {
  const collector = new PlacementCollector();
  assert.equal(collector.result(), null);
  for (let i = 0; i <= 5; i++) {
    collector.listen(
      1,
      `load_tensors: layer ${i} assigned to device ${i < 2 ? "CPU" : "CUDA0"}, is_swa = 0`,
    );
  }
  collector.listen(2, "load_tensors: offloaded 4/6 layers to GPU");
  const placement = collector.result()!;
  assert.deepEqual(placement.layers, ["CPU", "CPU", "CUDA0", "CUDA0", "CUDA0", "CUDA0"]);
  assert.equal(offloadedCount(placement), 4);
});

Deno.test("formatPlacement() says which device each layer went to, output last", () => {
  assert.equal(
    formatPlacement({ layers: ["Vulkan0", "Vulkan0", "Vulkan0", "Vulkan0", "Vulkan0", "Vulkan0"] }),
    "6/6 layers offloaded: layers 0-4 and output on Vulkan0",
  );
  assert.equal(
    formatPlacement({ layers: ["CPU", "CPU", "CPU", "Vulkan0", "Vulkan0", "Vulkan0"] }),
    "3/6 layers offloaded: layers 0-2 on CPU; layers 3-4 and output on Vulkan0",
  );
  assert.equal(
    formatPlacement({ layers: ["CUDA0", "CUDA0", "CUDA1", "CUDA1", "CPU"] }),
    "4/5 layers offloaded: layers 0-1 on CUDA0; layers 2-3 on CUDA1; output on CPU",
  );
  assert.equal(
    formatPlacement({ layers: ["CPU", "CUDA0"] }),
    "1/2 layers offloaded: layer 0 on CPU; output on CUDA0",
  );
});
