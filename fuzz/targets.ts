/**
 * The fuzz targets by name.
 *
 * @module
 */
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { fuzzGguf } from "./gguf_target.ts";

/** Every target `deno task fuzz --target` takes. */
export const TARGETS = {
  gguf: fuzzGguf,
} as const satisfies Record<string, (options: FuzzOptions) => Promise<FuzzCounts>>;

/** A target name. */
export type TargetName = keyof typeof TARGETS;
