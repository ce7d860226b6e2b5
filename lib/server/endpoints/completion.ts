/**
 * `POST /completion`: llama.cpp's native completion (`n_predict`, `n_probs`, `grammar`,
 * `json_schema`, `cache_prompt`, `id_slot`, `stream`), answered in llama.cpp's shape:
 * `content`, `stop`, `stop_type`, `tokens_predicted`, `timings`, ... Streamed events
 * carry one token each and end with the final object; there is no `[DONE]`.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { SlotResult, TokenLogprob } from "../../engine/slots.ts";
import type { ServerState } from "../api/server_state.ts";
import {
  type AnswerFormat,
  checkPromptFits,
  checkTextFits,
  reportedModel,
  respond,
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
import {
  isMultimodalPrompt,
  NATIVE_PROMPT,
  promptTexts,
  promptTokensAsync,
  singlePrompt,
} from "../api/prompt.ts";
import { boolean, optional } from "../api/validate.ts";

/** The request body of `POST /completion`. */
export const COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.native,
  prompt: NATIVE_PROMPT,
  return_tokens: optional(boolean()),
});

/** llama.cpp's `completion_probabilities` entry for one token. */
export function nativeProbs(
  p: { logprob: TokenLogprob; top: TokenLogprob[] },
): Record<string, unknown> {
  return {
    id: p.logprob.token,
    token: p.logprob.text,
    bytes: p.logprob.bytes,
    logprob: p.logprob.logprob,
    top_logprobs: p.top.map((t) => ({
      id: t.token,
      token: t.text,
      bytes: t.bytes,
      logprob: t.logprob,
    })),
  };
}

function settings(params: GenerationParams, model: string): Record<string, unknown> {
  const s = params.sampling;
  return {
    model,
    n_predict: params.maxTokens,
    temperature: s.temperature,
    top_k: s.topK,
    top_p: s.topP,
    min_p: s.minP,
    typical_p: s.typicalP,
    repeat_penalty: s.repeatPenalty,
    repeat_last_n: s.repeatLastN,
    presence_penalty: s.presencePenalty,
    frequency_penalty: s.frequencyPenalty,
    mirostat: s.mirostat,
    mirostat_tau: s.mirostatTau,
    mirostat_eta: s.mirostatEta,
    seed: s.seed ?? -1,
    ignore_eos: s.ignoreEos ?? false,
    stop: params.stop,
    n_probs: params.topLogprobs,
    grammar: s.grammar ?? "",
    cache_prompt: params.cachePrompt,
    id_slot: params.slot,
  };
}

function final(
  result: SlotResult,
  content: string,
  extra: { model: string; prompt: unknown; params: GenerationParams; tokens: number[] },
): Record<string, unknown> {
  return {
    index: 0,
    content,
    tokens: extra.tokens,
    id_slot: result.slot,
    stop: true,
    model: extra.model,
    tokens_predicted: result.completionTokens,
    tokens_evaluated: result.promptTokens,
    generation_settings: settings(extra.params, extra.model),
    prompt: extra.prompt,
    has_new_line: content.includes("\n"),
    truncated: false,
    stop_type: stopType(result),
    stopping_word: result.stopString ?? "",
    tokens_cached: result.promptTokens + result.completionTokens,
    timings: timings(result),
    usage: usage(result),
  };
}

/** The handlers of `POST /completion`. */
export function completion(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(COMPLETION_REQUEST),
    async function completion(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const params = toGenerationParams(body, "native", vocabInfo(engine), state.config.defaults);
      const model = reportedModel(body.model, state.config.modelName);
      const format = (prompt: unknown) =>
        nativeFormat({ model, prompt, params }, body.return_tokens ?? false);
      if (isMultimodalPrompt(body.prompt)) {
        const { prompt_string: text, multimodal_data: data } = body.prompt;
        checkTextFits(engine, [text], "prompt.prompt_string");
        if (data !== undefined && data.length > 0) {
          const input = await multimodalPrompt(engine, text, data);
          return await respond(c, engine, input, params, format(text));
        }
        const tokens = await promptTokensAsync(text, engine.model);
        return await respond(c, engine, tokens, params, format(text));
      }
      const prompt = singlePrompt(body.prompt);
      checkTextFits(engine, promptTexts(prompt), "prompt");
      const tokens = await promptTokensAsync(prompt, engine.model);
      // Checked first: detokenizing a prompt that cannot fit would be work for nothing.
      checkPromptFits(engine, tokens.length);
      const promptText = typeof prompt === "string" ? prompt : engine.model.detokenize(tokens);
      return await respond(c, engine, tokens, params, format(promptText));
    },
  );
}

/** llama.cpp's shapes: one object with `content`, or one event per token and the final object. */
function nativeFormat(
  extra: { model: string; prompt: unknown; params: GenerationParams },
  returnTokens: boolean,
): AnswerFormat {
  let predicted = 0;
  return {
    done: false,
    whole(out) {
      const answer = final(out.result, out.text, {
        ...extra,
        tokens: returnTokens ? out.tokens : [],
      });
      if (extra.params.topLogprobs > 0) {
        answer.completion_probabilities = out.probs.map(nativeProbs);
      }
      return answer;
    },
    chunks(event) {
      if (event.token >= 0) predicted++;
      if (event.text === "" && !event.logprob) return [];
      const chunk: Record<string, unknown> = {
        index: 0,
        content: event.text,
        tokens: event.token >= 0 ? [event.token] : [],
        stop: false,
        id_slot: -1,
        tokens_predicted: predicted,
      };
      if (event.logprob) {
        chunk.completion_probabilities = [
          nativeProbs({ logprob: event.logprob, top: event.top ?? [] }),
        ];
      }
      return [chunk];
    },
    closing: (result) => [final(result, "", { ...extra, tokens: [] })],
  };
}
