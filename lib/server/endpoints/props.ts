/**
 * `GET /props`: server properties as llama.cpp reports them: default generation
 * settings, slot count, model alias and path, the modalities the projector adds and the media
 * marker, chat template, BOS/EOS text, build info.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import { LLAMA_CPP_RELEASE, VERSION } from "../../util/version.ts";
import { MEDIA_MARKER } from "../api/media.ts";
import type { ServerState } from "../api/server_state.ts";

/** Which optional endpoints the server serves (for `/props`). */
export interface EndpointSwitches {
  slots: boolean;
  props: boolean;
  metrics: boolean;
  ui: boolean;
}

/** The handler of `POST /props` (`--props`: accepted, nothing to change, as llama.cpp). */
export function postProps(): Handler<AppEnv> {
  return function postProps(c) {
    return c.json({ success: true });
  };
}

/** The handler of `GET /props`. */
export function props(
  state: ServerState,
  endpoints: EndpointSwitches = { slots: true, props: false, metrics: false, ui: true },
): Handler<AppEnv> {
  return function props(c) {
    const engine = state.engine();
    const model = engine.model;
    const text = (
      token: number,
    ) => (token < 0 ? "" : new TextDecoder().decode(model.tokenBytes(token, true)));
    const d = state.config.defaults;
    return c.json({
      default_generation_settings: {
        n_ctx: engine.scheduler.slotContext,
        params: {
          n_predict: d.maxTokens,
          temperature: d.temperature,
          top_k: d.topK,
          top_p: d.topP,
          min_p: d.minP,
          typical_p: d.typicalP,
          repeat_penalty: d.repeatPenalty,
          repeat_last_n: d.repeatLastN,
          presence_penalty: d.presencePenalty,
          frequency_penalty: d.frequencyPenalty,
          mirostat: d.mirostat,
          mirostat_tau: d.mirostatTau,
          mirostat_eta: d.mirostatEta,
          seed: d.seed ?? -1,
          n_keep: d.keep ?? 0,
          ignore_eos: d.ignoreEos ?? false,
          stream: false,
          n_probs: 0,
          min_keep: 0,
        },
      },
      total_slots: engine.scheduler.slotCount,
      model_alias: state.config.modelName,
      model_path: model.path,
      modalities: { vision: engine.projector?.vision ?? false, video: false, audio: false },
      // Where a raw prompt (`/completion` with `multimodal_data`) puts an image.
      media_marker: MEDIA_MARKER,
      endpoint_slots: endpoints.slots,
      endpoint_props: endpoints.props,
      endpoint_metrics: endpoints.metrics,
      ui: endpoints.ui,
      chat_template: engine.template.source,
      chat_template_origin: engine.template.origin,
      chat_template_caps: { supports_tools: engine.template.supportsTools },
      bos_token: text(model.bos),
      eos_token: text(model.eos),
      build_info: `llamafile ${VERSION} (llama.cpp ${LLAMA_CPP_RELEASE})`,
      is_sleeping: state.sleeping,
    });
  };
}
