/**
 * `POST /completion` (and `/completions`): llama.cpp's native completion (`n_predict`,
 * `n_probs`, `grammar`, `json_schema`, `cache_prompt`, `id_slot`, `stream`, `return_progress`,
 * `timings_per_token`, `response_fields`, ...), answered in llama.cpp's shape: `content`,
 * `stop`, `stop_type`, `truncated`, `tokens_predicted`, `generation_settings`, `timings`, ...
 * A batch of prompts (an array of prompts) answers an array, one object per prompt. Streamed
 * events carry one token each and end with the final object; there is no `[DONE]`.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { SlotResult, TokenLogprob } from "../../engine/slots.ts";
import type { Engine, ServerState } from "../api/server_state.ts";
import {
  type AnswerFormat,
  checkTextFits,
  eventTimings,
  promptProgress,
  reportedModel,
  respond,
  respondTasks,
  stopType,
  timings,
  usage,
  vocabInfo,
} from "../api/generation.ts";
import {
  GENERATION_FIELDS,
  type GenerationParams,
  toGenerationParams,
} from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { multimodalPrompt } from "../api/media.ts";
import { isMultimodalPrompt, PROMPT, promptListAsync, promptTexts } from "../api/prompt.ts";
import { boolean, optional, string } from "../api/validate.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";

/** The request body of `POST /completion`. */
export const COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.native,
  prompt: PROMPT,
  return_tokens: optional(boolean()),
  response_fields: optional(z.array(string())),
});

/** llama.cpp's `completion_probabilities` entry for one token (post-sampling: `prob`s). */
export function nativeProbs(
  p: { logprob: TokenLogprob; top: TokenLogprob[] },
  post = false,
): Record<string, unknown> {
  const value = (t: TokenLogprob) =>
    post ? { prob: t.prob ?? Math.exp(t.logprob) } : { logprob: safeLog(t.logprob) };
  return {
    id: p.logprob.token,
    token: p.logprob.text,
    bytes: p.logprob.bytes,
    ...value(p.logprob),
    [post ? "top_probs" : "top_logprobs"]: p.top.map((t) => ({
      id: t.token,
      token: t.text,
      bytes: t.bytes,
      ...value(t),
    })),
  };
}

/** -inf as llama.cpp sends it (the lowest float: JSON has no infinity). */
function safeLog(x: number): number {
  return Number.isFinite(x) ? x : -3.4028234663852886e38;
}

/** llama.cpp's `generation_settings` (its `task_params::to_json`). */
export function generationSettings(
  params: GenerationParams,
  model: string,
  engine: Engine,
): Record<string, unknown> {
  const s = params.sampling;
  // ignore_eos bans end-of-generation tokens with a -inf bias (sent as null, as llama.cpp does).
  const bias: { token: number; bias: number | null }[] = (s.logitBias ?? []).map((b) => ({
    token: b.token,
    bias: Number.isFinite(b.bias) ? b.bias : null,
  }));
  if (s.ignoreEos) {
    for (let t = 0; t < engine.model.vocabSize; t++) {
      if (engine.model.isEndOfGeneration(t)) bias.push({ token: t, bias: null });
    }
  }
  return {
    model,
    seed: s.seed ?? -1,
    temperature: s.temperature,
    dynatemp_range: 0,
    dynatemp_exponent: 1,
    top_k: s.topK,
    top_p: s.topP,
    min_p: s.minP,
    top_n_sigma: -1,
    xtc_probability: 0,
    xtc_threshold: 0.1,
    typical_p: s.typicalP,
    repeat_last_n: s.repeatLastN,
    repeat_penalty: s.repeatPenalty,
    presence_penalty: s.presencePenalty,
    frequency_penalty: s.frequencyPenalty,
    dry_multiplier: 0,
    dry_base: 1.75,
    dry_allowed_length: 2,
    dry_penalty_last_n: -1,
    mirostat: s.mirostat,
    mirostat_tau: s.mirostatTau,
    mirostat_eta: s.mirostatEta,
    adaptive_target: -1,
    adaptive_decay: 0.9,
    stop: params.stop,
    max_tokens: params.maxTokens,
    n_predict: params.maxTokens,
    n_keep: params.keep ?? 0,
    n_discard: params.discard ?? 0,
    ignore_eos: s.ignoreEos ?? false,
    stream: params.stream,
    logit_bias: bias,
    n_probs: params.topLogprobs,
    min_keep: 0,
    grammar: s.grammar ?? "",
    samplers: ["penalties", "top_k", "typ_p", "top_p", "min_p", "temperature"],
    timings_per_token: params.timingsPerToken,
    post_sampling_probs: params.postSampling,
    lora: (params.lora ?? engine.scheduler.loraScales).map((scale, id) => ({ id, scale })),
    cache_prompt: params.cachePrompt,
    id_slot: params.slot,
  };
}

/** What the final object of a native completion carries besides the result. */
interface FinalExtra {
  model: string;
  prompt: string;
  params: GenerationParams;
  tokens: number[];
  engine: Engine;
  index: number;
}

function final(result: SlotResult, content: string, extra: FinalExtra): Record<string, unknown> {
  return {
    index: extra.index,
    content,
    tokens: extra.tokens,
    id_slot: result.slot,
    stop: true,
    model: extra.model,
    tokens_predicted: result.completionTokens,
    tokens_evaluated: result.promptTokens,
    generation_settings: generationSettings(extra.params, extra.model, extra.engine),
    prompt: extra.prompt,
    has_new_line: content.includes("\n"),
    truncated: result.truncated,
    stop_type: stopType(result),
    stopping_word: result.stopString ?? "",
    tokens_cached: result.promptTokens + Math.max(0, result.completionTokens - 1),
    timings: timings(result),
    usage: usage(result),
  };
}

/** The fields of `body` named by llama.cpp's `response_fields` paths (`a/b` is nested). */
export function pickFields(body: Record<string, unknown>, paths: readonly string[]) {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    let value: unknown = body;
    for (const key of path.split("/")) {
      value = value !== null && typeof value === "object"
        ? (value as Record<string, unknown>)[key]
        : undefined;
    }
    if (value !== undefined) out[path] = value;
  }
  return out;
}

/** What a native completion request asks besides its prompts. */
export interface NativeRequest {
  return_tokens?: boolean | undefined;
  response_fields?: string[] | undefined;
}

/** The handlers of `POST /completion`. */
export function completion(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(COMPLETION_REQUEST),
    async function completion(c) {
      const engine = state.engine();
      if (engine.embeddingsOnly) throw completionsNotSupported();
      const body = c.req.valid("json");
      const params = toGenerationParams(body, "native", vocabInfo(engine), state.config.defaults);
      const model = reportedModel(body.model, state.config.modelName);
      const prompt = body.prompt;
      if (isMultimodalPrompt(prompt) && prompt.multimodal_data !== undefined) {
        // llama.cpp's multimodal prompt: images at the server's media markers.
        const data = prompt.multimodal_data;
        const text = prompt.prompt_string;
        if (!Array.isArray(data) || data.some((item) => typeof item !== "string")) {
          throw invalidRequest(
            "prompt.multimodal_data must be an array of base64 strings",
            "prompt.multimodal_data",
          );
        }
        if (typeof text !== "string") {
          throw invalidRequest(
            "prompt.prompt_string must be a string when multimodal_data is given",
            "prompt.prompt_string",
          );
        }
        checkTextFits(engine, [text], "prompt.prompt_string");
        const input = await multimodalPrompt(engine, text, data as string[]);
        return await respond(
          c,
          engine,
          input,
          params,
          nativeFormat({ model, prompt: text, params, engine, index: 0 }, body),
        );
      }
      checkTextFits(engine, promptTexts(body.prompt), "prompt");
      const prompts = await promptListAsync(body.prompt, engine.model);
      const tasks = prompts.map((tokens) => ({ tokens, params: { ...params } }));
      const batch = prompts.length > 1;
      return await respondTasks(
        c,
        engine,
        tasks,
        (index) =>
          nativeFormat({
            model,
            prompt: engine.model.detokenize(prompts[index]!, { unparseSpecial: true }),
            params: tasks[index]!.params,
            engine,
            index,
          }, body),
        (bodies) => (batch ? bodies : bodies[0]),
      );
    },
  );
}

/** The 501 of a completion on an embeddings-only server (`--embedding`, `--reranking`). */
export function completionsNotSupported(): ApiError {
  return new ApiError(
    "not_supported_error",
    "This server does not support completions: it was started with --embedding or --reranking",
  );
}

/** llama.cpp's shapes: one object with `content`, or one event per token and the final object. */
export function nativeFormat(
  extra: { model: string; prompt: string; params: GenerationParams; engine: Engine; index: number },
  body: NativeRequest,
): AnswerFormat {
  let predicted = 0;
  const params = extra.params;
  const returnTokens = body.return_tokens ?? false;
  const fields = body.response_fields ?? [];
  const partial = (event: { token: number; text: string }) => ({
    index: extra.index,
    content: event.text,
    tokens: event.token >= 0 ? [event.token] : [],
    stop: false,
    id_slot: -1,
    tokens_predicted: predicted,
    tokens_evaluated: 0,
  });
  return {
    done: false,
    whole(out) {
      const answer = final(out.result, out.text, {
        ...extra,
        tokens: returnTokens ? out.tokens : [],
      });
      if (params.topLogprobs > 0 || params.postSampling) {
        answer.completion_probabilities = out.probs.map((p) => nativeProbs(p, params.postSampling));
      }
      return fields.length > 0 ? pickFields(answer, fields) : answer;
    },
    chunks(event) {
      if (event.token >= 0) predicted++;
      if (event.text === "" && !event.logprob) return [];
      const chunk: Record<string, unknown> = partial(event);
      if (event.logprob) {
        chunk.completion_probabilities = [
          nativeProbs({ logprob: event.logprob, top: event.top ?? [] }, params.postSampling),
        ];
      }
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) chunk.timings = t;
      return [chunk];
    },
    progress(event) {
      const chunk: Record<string, unknown> = partial(event);
      const t = eventTimings(event);
      if (t !== null) chunk.timings = t;
      chunk.prompt_progress = promptProgress(event);
      return [chunk];
    },
    closing: (result) => [final(result, "", { ...extra, tokens: [] })],
  };
}
