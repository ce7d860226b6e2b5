/**
 * llamafile.ts as a library: load a GGUF model through libllama, tokenize,
 * and generate text as an async iterator; with a multimodal projector (libmtmd, see
 * `deno task build-mtmd`), from a prompt with images:
 * `generate(context, await buildMediaPrompt(projector, [image, "Describe it."]))`.
 *
 * @example Generate a short story greedily
 * ```ts
 * import { createContext, generate, loadModel } from "./mod.ts";
 *
 * using model = await loadModel("../shared/models/stories260K.gguf");
 * await using context = await createContext(model, { threads: 1, contextSize: 256 });
 * let text = "";
 * for await (const piece of generate(context, "Once upon a time", { temperature: 0, maxTokens: 12 })) {
 *   text += piece;
 * }
 * console.log(text); // ", there was a little girl named Lily."
 * ```
 *
 * @example Tokenize and look at metadata
 * ```ts
 * import { loadModel } from "./mod.ts";
 *
 * using model = await loadModel("../shared/models/stories260K.gguf", { vocabOnly: true });
 * const tokens = model.tokenize("Hello world");
 * console.log(model.vocabSize, tokens.length, model.meta("general.architecture"));
 * ```
 *
 * @module
 */
export {
  LlamaModel,
  loadModel,
  type LoadModelOptions,
  type SplitMode,
  type TokenizeOptions,
} from "./lib/engine/model.ts";
export {
  GPU_MODES,
  type GpuMode,
  type GpuRequest,
  type GpuSetup,
  setUpGpu,
} from "./lib/engine/gpu_setup.ts";
export { formatPlacement, type LayerPlacement } from "./lib/engine/layer_placement.ts";
export {
  type ContextOptions,
  createContext,
  defaultThreads,
  LlamaContext,
  type PerfData,
} from "./lib/engine/context.ts";
export {
  type FinishReason,
  generate,
  type GenerateOptions,
  type GenerateResult,
} from "./lib/engine/generate.ts";
export { Sampler, SAMPLING_DEFAULTS, type SamplingOptions } from "./lib/engine/sampler.ts";
export {
  loadProjector,
  type MediaChunk,
  Projector,
  ProjectorImage,
  type ProjectorOptions,
} from "./lib/engine/projector.ts";
export { ProjectorError } from "./lib/engine/projector_error.ts";
export {
  buildMediaPrompt,
  MediaPrompt,
  type MediaPromptOptions,
  splitAtMarkers,
} from "./lib/engine/media_prompt.ts";
export { type ImageInfo, inspectImage, MAX_IMAGE_BYTES } from "./lib/engine/image_check.ts";
export { JSON_GRAMMAR, jsonSchemaToGrammar } from "./lib/engine/json_schema_to_grammar.ts";
export {
  ClosedError,
  ContextFullError,
  GrammarError,
  ModelLoadError,
  NativeError,
} from "./lib/engine/errors.ts";
export { AbiMismatchError } from "./ffi/structs.ts";
export { VERSION } from "./lib/util/version.ts";
