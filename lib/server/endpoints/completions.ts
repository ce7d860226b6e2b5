/**
 * `POST /v1/completions`: OpenAI's legacy text completion, streamed or not, with the
 * legacy `logprobs` shape (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`).
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { TokenLogprob } from "../../engine/slots.ts";
import type { ServerState } from "../api/server_state.ts";
import { invalidRequest } from "../api/errors.ts";
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
import { type GenerationParams, parseGenerationParams } from "../api/generation_params.ts";
import { promptTexts, promptTokens, singlePrompt } from "../api/prompt.ts";
import {
  type Body,
  optionalBoolean,
  optionalNumber,
  optionalString,
  parseJsonBody,
} from "../api/validate.ts";

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

function refuseUnsupported(body: Body): void {
  if (optionalBoolean(body, "echo")) throw invalidRequest("echo is not supported", "echo");
  const suffix = optionalString(body, "suffix");
  if (suffix !== undefined && suffix !== "") {
    throw invalidRequest("suffix is not supported", "suffix");
  }
  const bestOf = optionalNumber(body, "best_of", { integer: true, min: 1 });
  if (bestOf !== undefined && bestOf !== 1) {
    throw invalidRequest(`best_of must be 1, got ${bestOf}`, "best_of");
  }
}

/** The handler of `POST /v1/completions`. */
export function completions(state: ServerState): Handler<AppEnv> {
  return async function completions(c) {
    const engine = state.engine();
    const body = parseJsonBody(await c.req.text());
    refuseUnsupported(body);
    const params = parseGenerationParams(
      body,
      "completions",
      vocabInfo(engine),
      state.config.defaults,
    );
    const prompt = singlePrompt(body.prompt);
    checkTextFits(engine, promptTexts(prompt), "prompt");
    const tokens = promptTokens(prompt, engine.model);
    const base = {
      id: completionId("cmpl-"),
      object: "text_completion",
      created: unixTime(),
      model: reportedModel(body, state.config.modelName),
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    return await respond(c, engine, tokens, params, completionsFormat(base, params));
  };
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
