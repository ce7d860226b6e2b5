/**
 * `POST /v1/embeddings`: OpenAI embeddings of a string, an array of strings, an array
 * of token ids or an array of those, as floats or base64 (little-endian float32, which
 * the official clients ask for by default). Vectors are L2-normalized.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";
import { reportedModel } from "../api/generation.ts";
import { promptTokens } from "../api/prompt.ts";
import { kind, optionalString, parseJsonBody } from "../api/validate.ts";

/** Inputs one request may embed. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** The inputs of `body.input`, each a string or an array of token ids. */
export function embeddingInputs(value: unknown): unknown[] {
  if (value === undefined || value === null) throw invalidRequest("input is required", "input");
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) {
    throw invalidRequest(
      `input must be a string, an array of strings or an array of token ids, got ${kind(value)}`,
      "input",
    );
  }
  if (value.length === 0) throw invalidRequest("input must not be empty", "input");
  const inputs = value.every((item) => typeof item === "number") ? [value] : value;
  if (inputs.length > MAX_EMBEDDING_INPUTS) {
    throw invalidRequest(
      `input holds ${inputs.length} items: at most ${MAX_EMBEDDING_INPUTS} per request`,
      "input",
    );
  }
  return inputs;
}

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

/** The handler of `POST /v1/embeddings`. */
export function embeddings(state: ServerState): Handler<AppEnv> {
  return async function embeddings(c) {
    const engine = state.engine();
    const body = parseJsonBody(await c.req.text());
    const format = optionalString(body, "encoding_format") ?? "float";
    if (format !== "float" && format !== "base64") {
      throw invalidRequest(
        `encoding_format must be "float" or "base64", got "${format}"`,
        "encoding_format",
      );
    }
    const inputs = embeddingInputs(body.input).map((input, i) => {
      if (typeof input !== "string" && !Array.isArray(input)) {
        throw invalidRequest(
          `input[${i}] must be a string or an array of token ids, got ${kind(input)}`,
          "input",
        );
      }
      const tokens = promptTokens(input, engine.model, { name: `input[${i}]` });
      if (tokens.length === 0) throw invalidRequest(`input[${i}] is empty`, "input");
      const limit = engine.embedder.contextSize;
      if (tokens.length > limit) {
        throw new ApiError(
          "exceed_context_size_error",
          `input[${i}] is ${tokens.length} tokens and the embedding context holds ${limit}`,
          { param: "input", extra: { n_prompt_tokens: tokens.length, n_ctx: limit } },
        );
      }
      return tokens;
    });
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
      model: reportedModel(body, state.config.modelName),
      usage: { prompt_tokens: total, total_tokens: total },
    });
  };
}
