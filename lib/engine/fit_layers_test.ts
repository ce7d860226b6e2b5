import assert from "node:assert/strict";
import { FIT_MARGIN_BYTES, fitGpuLayers, layerBytes } from "./fit_layers.ts";
import type { GgufTensorInfo } from "./gguf_reader.ts";

const tensor = (name: string, byteSize: number) =>
  ({ name, byteSize, dims: [], type: 0, offset: 0, elements: 0 }) as GgufTensorInfo;

Deno.test("layerBytes() sums each block's tensors and the output layer's, not the embedding", () => {
  const sizes = layerBytes([
    tensor("token_embd.weight", 1000),
    tensor("blk.0.attn_q.weight", 10),
    tensor("blk.0.ffn_up.weight", 5),
    tensor("blk.1.attn_q.weight", 20),
    tensor("output_norm.weight", 1),
    tensor("output.weight", 100),
  ], 2);
  assert.deepEqual(sizes, { layers: [15, 20], output: 101 });
});

Deno.test("fitGpuLayers() counts the output layer first, then layers from the last down", () => {
  const sizes = { layers: [10, 10, 10], output: 5 };
  assert.equal(fitGpuLayers(sizes, 100, 0), 4, "all fit: n_layer + 1");
  assert.equal(fitGpuLayers(sizes, 25, 0), 3, "output + 2 layers");
  assert.equal(fitGpuLayers(sizes, 5, 0), 1, "output only");
  assert.equal(fitGpuLayers(sizes, 4, 0), 0, "nothing");
  assert.equal(fitGpuLayers(sizes, 100), 0, "the default margin is 1 GiB");
  assert.equal(fitGpuLayers(sizes, FIT_MARGIN_BYTES + 100), 4);
});
