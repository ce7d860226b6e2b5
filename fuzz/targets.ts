/**
 * The fuzz targets by name.
 *
 * @module
 */
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { fuzzGguf } from "./gguf_target.ts";
import { fuzzGrammar, fuzzSchema } from "./grammar_target.ts";
import { fuzzHttp } from "./http_target.ts";
import { fuzzImage } from "./image_target.ts";
import { fuzzLlamafile } from "./llamafile_target.ts";
import { fuzzLora } from "./lora_target.ts";
import { fuzzProjector } from "./projector_target.ts";

/** Every target `deno task fuzz --target` takes. */
export const TARGETS = {
  gguf: fuzzGguf,
  llamafile: fuzzLlamafile,
  grammar: fuzzGrammar,
  schema: fuzzSchema,
  http: fuzzHttp,
  image: fuzzImage,
  projector: fuzzProjector,
  lora: fuzzLora,
} as const satisfies Record<string, (options: FuzzOptions) => Promise<FuzzCounts>>;

/** A target name. */
export type TargetName = keyof typeof TARGETS;
