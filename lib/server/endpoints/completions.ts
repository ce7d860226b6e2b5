/**
 * `POST /v1/completions`: OpenAI's legacy text completion, streamed or not, with the
 * legacy `logprobs` shape (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`).
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { TokenLogprob } from "../../engine/slots.ts";
import type { ServerState } from "../api/server_state.ts";
import {
  type AnswerFormat,
  checkTextFits,
  completionId,
  finishReason,
  reportedModel,
  respond,
  SYSTEM_FINGERPRINT,
  timings,
  unixTime,
  usage,
  vocabInfo,
} from "../api/generation.ts";
import {
  GENERATION_FIELDS,
  type GenerationParams,
  toGenerationParams,
} from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { PROMPT, promptTexts, promptTokensAsync, singlePrompt } from "../api/prompt.ts";
import { boolean, number, optional, string } from "../api/validate.ts";

type Probs = { logprob: TokenLogprob; top: TokenLogprob[] }[];

/** OpenAI's legacy `logprobs` object for `probs`, with offsets counted from `offset`. */
export function legacyLogprobs(probs: Probs, offset = 0): Record<string, unknown> {
  const textOffset: number[] = [];
  let at = offset;
  for (const p of probs) {
    textOffset.push(at);
    at += p.logprob.text.length;
  }
  return {
    tokens: probs.map((p) => p.logprob.text),
    token_logprobs: probs.map((p) => p.logprob.logprob),
    top_logprobs: probs.map((p) => Object.fromEntries(p.top.map((t) => [t.text, t.logprob]))),
    text_offset: textOffset,
  };
}

/** The request body of `POST /v1/completions`. */
export const COMPLETIONS_REQUEST = z.object({
  ...GENERATION_FIELDS.completions,
  prompt: PROMPT,
  echo: optional(boolean().check(z.refine((echo) => !echo, { error: "is not supported" }))),
  suffix: optional(
    string().check(z.refine((suffix) => suffix === "", { error: "is not supported" })),
  ),
  best_of: optional(number({ integer: true, min: 1, max: 1 }, "must be 1")),
});

/** The handlers of `POST /v1/completions`. */
export function completions(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(COMPLETIONS_REQUEST),
    async function completions(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const params = toGenerationParams(
        body,
        "completions",
        vocabInfo(engine),
        state.config.defaults,
      );
      const prompt = singlePrompt(body.prompt);
      checkTextFits(engine, promptTexts(prompt), "prompt");
      const tokens = await promptTokensAsync(prompt, engine.model);
      const base = {
        id: completionId("cmpl-"),
        object: "text_completion",
        created: unixTime(),
        model: reportedModel(body.model, state.config.modelName),
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      return await respond(c, engine, tokens, params, completionsFormat(base, params));
    },
  );
}

/** The legacy completion shapes: `choices[0].text`, streamed as `text_completion` chunks. */
function completionsFormat(base: Record<string, unknown>, params: GenerationParams): AnswerFormat {
  let offset = 0;
  return {
    done: true,
    whole: (out) => ({
      ...base,
      choices: [{
        text: out.text,
        index: 0,
        logprobs: params.logprobs ? legacyLogprobs(out.probs) : null,
        finish_reason: finishReason(out.result),
      }],
      usage: usage(out.result),
      timings: timings(out.result),
    }),
    chunks(event) {
      if (event.text === "" && !event.logprob) return [];
      const logprobs = event.logprob
        ? legacyLogprobs([{ logprob: event.logprob, top: event.top ?? [] }], offset)
        : null;
      offset += event.text.length;
      return [{
        ...base,
        choices: [{ text: event.text, index: 0, logprobs, finish_reason: null }],
      }];
    },
    closing(result) {
      const stats = { usage: usage(result), timings: timings(result) };
      const last = {
        ...base,
        choices: [{ text: "", index: 0, logprobs: null, finish_reason: finishReason(result) }],
        ...stats,
      };
      return params.includeUsage ? [last, { ...base, choices: [], ...stats }] : [last];
    },
  };
}
