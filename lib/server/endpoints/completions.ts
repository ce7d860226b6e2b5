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
  eventTimings,
  finishReason,
  promptProgress,
  reportedModel,
  respondTasks,
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
import { PROMPT, promptListAsync, promptTexts } from "../api/prompt.ts";
import { mergeChoices } from "./chat_completions.ts";
import { completionsNotSupported } from "./completion.ts";
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
      if (engine.embeddingsOnly) throw completionsNotSupported();
      const body = c.req.valid("json");
      const params = toGenerationParams(
        body,
        "completions",
        vocabInfo(engine),
        state.config.defaults,
      );
      checkTextFits(engine, promptTexts(body.prompt), "prompt");
      const prompts = await promptListAsync(body.prompt, engine.model);
      const base = {
        id: completionId("cmpl-"),
        object: "text_completion",
        created: unixTime(),
        model: reportedModel(body.model, state.config.modelName),
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      // Each prompt, n times: choice i is prompt floor(i / n).
      const tasks = prompts.flatMap((tokens) =>
        Array.from({ length: params.n }, () => ({ tokens, params: { ...params } }))
      );
      return await respondTasks(
        c,
        engine,
        tasks,
        (index) => completionsFormat(base, params, index),
        mergeChoices,
      );
    },
  );
}

/** The legacy completion shapes: `choices[0].text`, streamed as `text_completion` chunks. */
function completionsFormat(
  base: Record<string, unknown>,
  params: GenerationParams,
  index = 0,
): AnswerFormat {
  let offset = 0;
  return {
    done: true,
    whole: (out) => ({
      ...base,
      choices: [{
        text: out.text,
        index,
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
      const chunk: Record<string, unknown> = {
        ...base,
        choices: [{ text: event.text, index, logprobs, finish_reason: null }],
      };
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) chunk.timings = t;
      return [chunk];
    },
    progress(event) {
      const chunk: Record<string, unknown> = {
        ...base,
        choices: [{ text: "", index, logprobs: null, finish_reason: null }],
        prompt_progress: promptProgress(event),
      };
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) chunk.timings = t;
      return [chunk];
    },
    closing(result) {
      const stats = { usage: usage(result), timings: timings(result) };
      const last = {
        ...base,
        choices: [{ text: "", index, logprobs: null, finish_reason: finishReason(result) }],
        ...stats,
      };
      return params.includeUsage ? [last, { ...base, choices: [], ...stats }] : [last];
    },
  };
}
