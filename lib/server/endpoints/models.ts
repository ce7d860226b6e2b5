/**
 * `GET /v1/models` (and `/models`): the one model this server runs, with llama.cpp's
 * `meta` (vocabulary, context, embedding size, parameters, size), and llama.cpp's `models`
 * list whose `capabilities` say `multimodal` when a projector is loaded.
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
    const multimodal = engine.projector?.vision ?? false;
    return c.json({
      models: [{
        name: state.config.modelName,
        model: state.config.modelName,
        type: "model",
        capabilities: multimodal ? ["completion", "multimodal"] : ["completion"],
      }],
      object: "list",
      data: [{
        id: state.config.modelName,
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
