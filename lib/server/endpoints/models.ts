/**
 * `GET /v1/models` (and `/models`): the one model this server runs, as llama.cpp reports it:
 * its name (`id`: the first `--alias` in order, or the file name), every alias, the tags, and
 * `meta` (vocabulary, context, embedding size, parameters, size); and llama.cpp's Ollama-style
 * `models` list, whose `capabilities` say `multimodal` when a projector is loaded.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";

/** The handler of `GET /v1/models`. */
export function models(state: ServerState): Handler<AppEnv> {
  return function models(c) {
    const engine = state.engine();
    const model = engine.model;
    const name = state.config.modelName;
    const multimodal = engine.projector?.vision ?? false;
    const capabilities = engine.embeddingsOnly
      ? [engine.reranking ? "rerank" : "embedding"]
      : ["completion", ...(multimodal ? ["multimodal"] : [])];
    return c.json({
      models: [{
        name,
        model: name,
        modified_at: "",
        size: "",
        digest: "",
        type: "model",
        description: "",
        tags: state.config.tags ?? [""],
        capabilities,
        parameters: "",
        details: {
          parent_model: "",
          format: "gguf",
          family: "",
          families: [""],
          parameter_size: "",
          quantization_level: "",
        },
      }],
      object: "list",
      data: [{
        id: name,
        aliases: state.config.aliases ?? [],
        tags: state.config.tags ?? [],
        object: "model",
        created: state.config.startedAt,
        owned_by: "llamafile",
        meta: {
          vocab_type: model.meta("tokenizer.ggml.model"),
          n_vocab: model.vocabSize,
          n_ctx: engine.scheduler.slotContext,
          n_ctx_train: model.trainedContext,
          n_embd: model.embeddingSize,
          n_params: model.parameterCount,
          size: model.sizeBytes,
          modalities: { vision: multimodal, audio: false },
        },
      }],
    });
  };
}
