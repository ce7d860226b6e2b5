/**
 * `POST /v1/embeddings`: OpenAI embeddings of a string, an array of strings, an array
 * of token ids or an array of those, as floats or base64 (little-endian float32, which
 * the official clients ask for by default). Vectors are L2-normalized.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";
import { reportedModel } from "../api/generation.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { promptTexts, promptTokensAsync, SINGLE_PROMPT, utf8Length } from "../api/prompt.ts";
import { integer, kind, oneOf, optional, string, tokenId } from "../api/validate.ts";

/** Inputs one request may embed. */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * `input`: a string, an array of token ids, or an array of those (strings or token arrays);
 * at most {@linkcode MAX_EMBEDDING_INPUTS} of them.
 */
const EMBEDDING_INPUT = z.pipe(
  z.union([string(), z.array(tokenId()), z.array(SINGLE_PROMPT)], {
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : `must be a string, an array of strings or an array of token ids, got ${
          kind(issue.input)
        }`,
  }),
  z.transform((value: string | z.output<typeof SINGLE_PROMPT>[] | number[], ctx) => {
    if (typeof value === "string") return [value];
    if (value.length === 0) {
      ctx.issues.push({ code: "custom", message: "must not be empty", input: value });
      return z.NEVER;
    }
    // An array of token ids is one input; anything else is a list of inputs.
    const inputs = value.every((item) => typeof item === "number") ? [value] : value;
    if (inputs.length > MAX_EMBEDDING_INPUTS) {
      ctx.issues.push({
        code: "custom",
        message: `holds ${inputs.length} items: at most ${MAX_EMBEDDING_INPUTS} per request`,
        input: value,
      });
      return z.NEVER;
    }
    return inputs;
  }),
);

/** The request body of `POST /v1/embeddings`. */
export const EMBEDDINGS_REQUEST = z.object({
  model: optional(string()),
  input: EMBEDDING_INPUT,
  encoding_format: optional(oneOf(["float", "base64"])),
  dimensions: optional(integer(1)),
});

function base64(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((x, i) => view.setFloat32(i * 4, x, true));
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The handlers of `POST /v1/embeddings`. */
export function embeddings(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(EMBEDDINGS_REQUEST),
    async function embeddings(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const format = body.encoding_format ?? "float";
      if (body.dimensions !== undefined && body.dimensions !== engine.model.embeddingSize) {
        throw invalidRequest(
          `dimensions must be ${engine.model.embeddingSize} (the model's embedding size), got ${body.dimensions}`,
          "dimensions",
        );
      }
      const limit = engine.embedder.contextSize;
      const tooLong = (i: number, n: number, least: boolean) =>
        new ApiError(
          "exceed_context_size_error",
          `input[${i}] is ${
            least ? "at least " : ""
          }${n} tokens and the embedding context holds ${limit}`,
          { param: "input", extra: { n_prompt_tokens: n, n_ctx: limit } },
        );
      const inputs: number[][] = [];
      for (const [i, input] of body.input.entries()) {
        // Refused before tokenizing when its bytes alone cannot fit (see checkTextFits).
        let bytes = 0;
        for (const text of promptTexts(input)) bytes += utf8Length(text);
        const least = Math.ceil(bytes / engine.model.maxTokenBytes);
        if (least > limit) throw tooLong(i, least, true);
        const tokens = await promptTokensAsync(input, engine.model, { name: `input[${i}]` });
        if (tokens.length === 0) throw invalidRequest(`input[${i}] is empty`, "input");
        if (tokens.length > limit) throw tooLong(i, tokens.length, false);
        inputs.push(tokens);
      }
      const signal = c.get("deadline").signal;
      const data = [];
      let total = 0;
      for (const [index, tokens] of inputs.entries()) {
        const { vector, tokens: count } = await engine.embedder.embed(tokens, signal);
        total += count;
        data.push({
          object: "embedding",
          index,
          embedding: format === "base64" ? base64(vector) : Array.from(vector),
        });
      }
      return c.json({
        object: "list",
        data,
        model: reportedModel(body.model, state.config.modelName),
        usage: { prompt_tokens: total, total_tokens: total },
      });
    },
  );
}
