/**
 * `POST /infill`: fill-in-the-middle from the model's FIM tokens, as llama.cpp's server builds
 * the prompt (`format_prompt_infill`): the repository-level pattern with `input_extra` chunks
 * (files) first, then `[FIM_PRE]prefix[FIM_SUF]suffix[FIM_MID]prompt` (suffix first with
 * `--spm-infill`), the prefix and suffix cut to fit a batch 3:1. Answered like `/completion`.
 * A model without FIM tokens answers 501.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import { ApiError } from "../api/errors.ts";
import { checkTextFits, reportedModel, respondTasks, vocabInfo } from "../api/generation.ts";
import { GENERATION_FIELDS, toGenerationParams } from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { promptTokens, SINGLE_PROMPT } from "../api/prompt.ts";
import type { Engine, ServerState } from "../api/server_state.ts";
import { boolean, optional, string } from "../api/validate.ts";
import { completionsNotSupported, nativeFormat } from "./completion.ts";

/** One extra file of context: its text, and its name (default `tmp`). */
const EXTRA_CHUNK = z.object({ text: string(), filename: optional(string()) });

/** The request body of `POST /infill`. */
export const INFILL_REQUEST = z.object({
  ...GENERATION_FIELDS.native,
  input_prefix: SINGLE_PROMPT,
  input_suffix: SINGLE_PROMPT,
  input_extra: optional(z.array(EXTRA_CHUNK)),
  prompt: optional(string()),
  return_tokens: optional(boolean()),
  response_fields: optional(z.array(string())),
});

/** What the FIM prompt is built from. */
export interface InfillInput {
  prefix: unknown;
  suffix: unknown;
  extra: readonly { text: string; filename?: string | undefined }[];
  prompt: string;
}

/** llama.cpp's `format_prompt_infill`: the tokens of a FIM prompt. */
export function infillTokens(
  engine: Engine,
  input: InfillInput,
  limits: { batch: number; nPredict: number; context: number; spm: boolean },
): number[] {
  const model = engine.model;
  const fim = model.fim;
  const text = (s: string) =>
    Array.from(model.tokenize(s, { addSpecial: false, parseSpecial: false }));
  const prefix = promptTokens(input.prefix, model, {
    name: "input_prefix",
    addSpecial: false,
    parseSpecial: false,
  });
  const suffix = promptTokens(input.suffix, model, {
    name: "input_suffix",
    addSpecial: false,
    parseSpecial: false,
  });
  const prompt = input.prompt === ""
    ? []
    : Array.from(model.tokenize(input.prompt, { addSpecial: false, parseSpecial: true }));
  const extra: number[] = [];
  if (fim.rep >= 0) extra.push(fim.rep, ...text("myproject\n"));
  for (const chunk of input.extra) {
    if (fim.sep >= 0) extra.push(fim.sep, ...text(`${chunk.filename ?? "tmp"}\n`));
    else extra.push(...text("\n\n--- snippet ---\n\n"));
    extra.push(...text(chunk.text));
  }
  if (fim.sep >= 0) extra.push(fim.sep, ...text("filename\n"));
  const prefixTake = Math.min(prefix.length, 3 * Math.floor(limits.batch / 4));
  const suffixTake = Math.min(
    suffix.length,
    Math.max(0, Math.floor(limits.batch / 4) - (2 + prompt.length)),
  );
  const extraTake = Math.min(
    Math.max(0, limits.context - limits.batch - 2 * limits.nPredict),
    extra.length,
  );
  const pre = [fim.pre, ...prefix.slice(prefix.length - prefixTake), ...prompt];
  const suf = [fim.suf, ...suffix.slice(0, suffixTake)];
  const first = limits.spm ? suf : pre;
  const last = limits.spm ? pre : suf;
  const out: number[] = [];
  out.push(...extra.slice(extra.length - extraTake));
  if (model.addsBos && model.bos >= 0) out.push(model.bos);
  out.push(...first, ...last, fim.mid);
  return out;
}

/** The handlers of `POST /infill`. */
export function infill(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(INFILL_REQUEST),
    async function infill(c) {
      const engine = state.engine();
      if (engine.embeddingsOnly) throw completionsNotSupported();
      const fim = engine.model.fim;
      const missing = [
        fim.pre < 0 ? "prefix" : null,
        fim.suf < 0 ? "suffix" : null,
        fim.mid < 0 ? "middle" : null,
      ].filter((m) => m !== null);
      if (missing.length > 0) {
        throw new ApiError(
          "not_supported_error",
          `Infill is not supported by this model: it has no FIM ${missing.join(", ")} token`,
        );
      }
      const body = c.req.valid("json");
      const params = toGenerationParams(body, "native", vocabInfo(engine), state.config.defaults);
      const texts = [body.prompt ?? "", ...(body.input_extra ?? []).map((x) => x.text)];
      for (const v of [body.input_prefix, body.input_suffix]) {
        if (typeof v === "string") texts.push(v);
      }
      checkTextFits(engine, texts, "input_prefix");
      const context = engine.scheduler.slotContext;
      const tokens = infillTokens(engine, {
        prefix: body.input_prefix,
        suffix: body.input_suffix,
        extra: body.input_extra ?? [],
        prompt: body.prompt ?? "",
      }, {
        batch: engine.scheduler.context.batchSize,
        nPredict: Math.max(0, params.maxTokens),
        context,
        spm: state.config.spmInfill ?? false,
      });
      const model = reportedModel(body.model, state.config.modelName);
      return await respondTasks(
        c,
        engine,
        [{ tokens, params }],
        (index) =>
          nativeFormat({
            model,
            prompt: engine.model.detokenize(tokens, { unparseSpecial: true }),
            params,
            engine,
            index,
          }, body),
        (bodies) => bodies[0],
      );
    },
  );
}
