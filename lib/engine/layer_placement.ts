/**
 * Which device each layer of a model went to, as libllama decides it while loading and says in
 * its log (`load_tensors: layer   3 assigned to device Vulkan0, is_swa = 0`; the layer after
 * the last repeating one is the output layer). libllama has no function that tells.
 *
 * @module
 */

/** Where the layers are: the device of each repeating layer, then the output layer's. */
export interface LayerPlacement {
  /** Device names: `layers[i]` for layer i, the last one for the output layer. */
  readonly layers: readonly string[];
}

const ASSIGNED = /^load_tensors: layer\s+(\d+) assigned to device (\S+?),/;

/** `[layer, device]` from one log line, or `null` for another line. */
export function parsePlacementLine(line: string): [number, string] | null {
  const match = ASSIGNED.exec(line);
  return match ? [Number(match[1]), match[2]!] : null;
}

/** Collects placement lines from a log; `result()` is `null` when none was seen. */
export class PlacementCollector {
  readonly #devices: string[] = [];

  /** A log listener (level, line). */
  readonly listen = (_level: number, line: string): void => {
    const parsed = parsePlacementLine(line);
    if (parsed !== null) this.#devices[parsed[0]] = parsed[1];
  };

  /** The placement seen, or `null`. */
  result(): LayerPlacement | null {
    if (this.#devices.length === 0) return null;
    return { layers: Array.from(this.#devices, (d) => d ?? "?") };
  }
}

/** Layers (the output layer included) on a device other than the CPU. */
export function offloadedCount(placement: LayerPlacement): number {
  return placement.layers.filter((device) => device !== "CPU").length;
}

function ranges(indexes: readonly number[]): string[] {
  const out: string[] = [];
  let start = -1;
  let previous = -2;
  const flush = () => {
    if (start < 0) return;
    out.push(start === previous ? `layer ${start}` : `layers ${start}-${previous}`);
  };
  for (const i of indexes) {
    if (i !== previous + 1) {
      flush();
      start = i;
    }
    previous = i;
  }
  flush();
  return out;
}

/**
 * One line: `6/6 layers offloaded: layers 0-4 and output on Vulkan0`, or
 * `12/23 layers offloaded: layers 0-10 on CPU; layers 11-21 and output on CUDA0`.
 */
export function formatPlacement(placement: LayerPlacement): string {
  const output = placement.layers.length - 1;
  const byDevice = new Map<string, number[]>();
  placement.layers.forEach((device, i) => {
    byDevice.set(device, [...(byDevice.get(device) ?? []), i]);
  });
  const parts = [...byDevice].map(([device, indexes]) => {
    const repeating = indexes.filter((i) => i !== output);
    const names = ranges(repeating);
    if (indexes.includes(output)) names.push("output");
    const list = names.length > 1
      ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`
      : names[0];
    return `${list} on ${device}`;
  });
  return `${offloadedCount(placement)}/${placement.layers.length} layers offloaded: ${
    parts.join("; ")
  }`;
}
