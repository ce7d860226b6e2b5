/**
 * `-ngl auto`: how many layers fit in the GPUs' free memory. libllama offloads the output layer
 * first and then the repeating layers from the last one down (`-ngl N` puts layers n-N+1 .. n-1
 * and the output layer on the GPU), so layers are counted in that order against the free memory
 * less a margin for the KV cache and the compute buffers (llama.cpp's own fitting keeps 1 GiB
 * per device free by default).
 *
 * @module
 */
import type { GgufTensorInfo } from "./gguf_reader.ts";

/** What llama.cpp's fitting leaves free on each device. */
export const FIT_MARGIN_BYTES = 1024 * 1024 * 1024;

/** Weight bytes of each repeating layer (`blk.N.*`) and of the output layer. */
export interface LayerBytes {
  layers: number[];
  output: number;
}

/** Sums the tensors of `nLayer` repeating layers and of the output layer. */
export function layerBytes(tensors: readonly GgufTensorInfo[], nLayer: number): LayerBytes {
  const layers = new Array<number>(nLayer).fill(0);
  let output = 0;
  for (const tensor of tensors) {
    const block = /^blk\.(\d+)\./.exec(tensor.name);
    if (block !== null) {
      const i = Number(block[1]);
      if (i < nLayer) layers[i]! += tensor.byteSize;
    } else if (/^output(_norm)?\./.test(tensor.name)) {
      output += tensor.byteSize;
    }
  }
  return { layers, output };
}

/**
 * The `-ngl` count whose weights fit in `freeBytes` less `marginBytes`: 0 when not even the
 * output layer fits, `layers.length + 1` when all do.
 */
export function fitGpuLayers(
  sizes: LayerBytes,
  freeBytes: number,
  marginBytes = FIT_MARGIN_BYTES,
): number {
  let budget = freeBytes - marginBytes - sizes.output;
  if (budget < 0) return 0;
  let count = 1;
  for (let i = sizes.layers.length - 1; i >= 0; i--) {
    budget -= sizes.layers[i]!;
    if (budget < 0) break;
    count++;
  }
  return count;
}
