/**
 * Embeddings: `POST /v1/embeddings` (OpenAI: a string, an array of token ids, or an array of
 * those, as floats or base64 little-endian float32, which the official clients ask for by
 * default) and llama.cpp's native `POST /embedding` and `/embeddings` (`content` or `input`,
 * answered as `[{index, embedding: [[...]]}]`: with pooling `none`, one vector per token,
 * not normalized). Prompts are read as llama.cpp reads them (`promptItems`).
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { Engine, ServerState } from "../api/server_state.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";
import { reportedModel } from "../api/generation.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { PROMPT, promptItems, promptTexts, promptTokensAsync, utf8Length } from "../api/prompt.ts";
import { integer, oneOf, optional, string } from "../api/validate.ts";
import type { Embedding } from "../../engine/embedder.ts";

/** Inputs one request may embed. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** The request body of `POST /v1/embeddings`. */
export const EMBEDDINGS_REQUEST = z.object({
  model: optional(string()),
  input: PROMPT,
  encoding_format: optional(oneOf(["float", "base64"])),
  dimensions: optional(integer(1)),
});

/** The request body of llama.cpp's `POST /embedding(s)`: `content` or `input`. */
export const NATIVE_EMBEDDINGS_REQUEST = z.object({
  content: optional(PROMPT),
  input: optional(PROMPT),
  model: optional(string()),
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

/** Embeds every prompt of `value` (`field` names it in errors), one after the other. */
export async function embedPrompts(
  c: Context<AppEnv>,
  engine: Engine,
  value: unknown,
  field: string,
): Promise<Embedding[]> {
  const items = promptItems(value, field);
  if (items.length > MAX_EMBEDDING_INPUTS) {
    throw invalidRequest(
      `${field} holds ${items.length} inputs: at most ${MAX_EMBEDDING_INPUTS} per request`,
      field,
    );
  }
  const limit = engine.embedder.inputLimit;
  const tooLarge = (i: number, n: number, least: boolean) =>
    new ApiError(
      "exceed_context_size_error",
      `${field}[${i}] is ${
        least ? "at least " : ""
      }${n} tokens, too large to process: the embedding context takes ${limit} tokens at once (increase --ubatch-size and --ctx-size)`,
      { param: field, extra: { n_prompt_tokens: n, n_ctx: limit } },
    );
  const inputs: number[][] = [];
  for (const [i, [item, name]] of items.entries()) {
    // Refused before tokenizing when its bytes alone cannot fit.
    let bytes = 0;
    for (const text of promptTexts(item)) bytes += utf8Length(text);
    const least = Math.ceil(bytes / engine.model.maxTokenBytes);
    if (least > limit) throw tooLarge(i, least, true);
    const tokens = await promptTokensAsync(item, engine.model, { name });
    if (tokens.length === 0) throw invalidRequest(`${field}[${i}] is empty`, field);
    if (tokens.length > limit) throw tooLarge(i, tokens.length, false);
    inputs.push(tokens);
  }
  const signal = c.get("deadline").signal;
  const out: Embedding[] = [];
  for (const tokens of inputs) out.push(await engine.embedder.embed(tokens, signal));
  return out;
}

/** The handlers of `POST /v1/embeddings`. */
export function embeddings(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(EMBEDDINGS_REQUEST),
    async function embeddings(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      if (engine.reranking) throw notEmbeddings();
      if (await engine.embedder.poolingType() === 0 && engine.embedder.pooling === 0) {
        throw invalidRequest(
          "Pooling type 'none' is not OAI compatible: start the server with another --pooling, or use /embeddings",
          "input",
        );
      }
      const format = body.encoding_format ?? "float";
      if (body.dimensions !== undefined && body.dimensions !== engine.model.embeddingSize) {
        throw invalidRequest(
          `dimensions must be ${engine.model.embeddingSize} (the model's embedding size), got ${body.dimensions}`,
          "dimensions",
        );
      }
      const results = await embedPrompts(c, engine, body.input, "input");
      let total = 0;
      const data = results.map((e, index) => {
        total += e.tokens;
        return {
          object: "embedding",
          index,
          embedding: format === "base64" ? base64(e.vector) : Array.from(e.vector),
          ...(format === "base64" && { encoding_format: "base64" }),
        };
      });
      return c.json({
        object: "list",
        data,
        model: reportedModel(body.model, state.config.modelName),
        usage: { prompt_tokens: total, total_tokens: total },
      });
    },
  );
}

function notEmbeddings(): ApiError {
  return new ApiError(
    "not_supported_error",
    "This server serves reranking (--reranking): it computes no embeddings",
  );
}

/** The handlers of llama.cpp's `POST /embedding` and `/embeddings`. */
export function nativeEmbeddings(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(NATIVE_EMBEDDINGS_REQUEST),
    async function nativeEmbeddings(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      if (engine.reranking) throw notEmbeddings();
      const value = body.input ?? body.content;
      if (value === undefined) throw invalidRequest("input or content is required", "input");
      const field = body.input !== undefined ? "input" : "content";
      const results = await embedPrompts(c, engine, value, field);
      return c.json(results.map((e, index) => ({
        index,
        embedding: e.tokenVectors !== undefined
          ? e.tokenVectors.map((v) => Array.from(v))
          : [Array.from(e.vector)],
      })));
    },
  );
}
