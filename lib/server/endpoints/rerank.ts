/**
 * `POST /rerank` (and `/reranking`, `/v1/rerank`, `/v1/reranking`): scores each document
 * against the query with a reranker model (`--reranking`: pooling `rank`), as llama.cpp does:
 * Jina's shape (`documents` → `{results: [{index, relevance_score}], usage}`) or TEI's
 * (`texts` → `[{index, score}]`), sorted best first, cut to `top_n`. The pair is the model's
 * `rerank` template when it has one, else `[BOS] query [EOS] [SEP] document [EOS]`.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import { ApiError, invalidRequest } from "../api/errors.ts";
import { reportedModel } from "../api/generation.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { utf8Length } from "../api/prompt.ts";
import type { Engine, ServerState } from "../api/server_state.ts";
import { boolean, integer, optional, string } from "../api/validate.ts";

/** Documents one request may rank. */
export const MAX_RERANK_DOCUMENTS = 1024;

const DOCUMENTS = z.array(string()).check(
  z.minLength(1, { error: "must be a non-empty array of strings" }),
  z.maxLength(MAX_RERANK_DOCUMENTS, {
    error: `must hold at most ${MAX_RERANK_DOCUMENTS} documents`,
  }),
);

/** The request body of `POST /rerank`. */
export const RERANK_REQUEST = z.object({
  model: optional(string()),
  query: string(),
  documents: optional(DOCUMENTS),
  texts: optional(DOCUMENTS),
  top_n: optional(integer(0)),
  return_text: optional(boolean()),
});

/** The tokens of one (query, document) pair, as llama.cpp's `format_prompt_rerank` builds them. */
export function rerankTokens(engine: Engine, query: string, document: string): number[] {
  const model = engine.model;
  const template = model.namedChatTemplate("rerank");
  if (template !== null) {
    const text = template.replaceAll("{query}", query).replaceAll("{document}", document);
    return Array.from(model.tokenize(text, { addSpecial: false, parseSpecial: true }));
  }
  const plain = (s: string) => model.tokenize(s, { addSpecial: false, parseSpecial: false });
  const eos = model.eos >= 0 ? model.eos : model.sep;
  const out: number[] = [];
  if (model.addsBos && model.bos >= 0) out.push(model.bos);
  out.push(...plain(query));
  if (model.addsEos) out.push(eos);
  if (model.addsSep) out.push(model.sep);
  out.push(...plain(document));
  if (model.addsEos) out.push(eos);
  return out;
}

/** The handlers of `POST /rerank`. */
export function rerank(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(RERANK_REQUEST),
    async function rerank(c) {
      const engine = state.engine();
      if (!engine.reranking) {
        throw new ApiError(
          "not_supported_error",
          "This server does not support reranking: start it with --reranking (and a reranker model)",
        );
      }
      const body = c.req.valid("json");
      const tei = body.texts !== undefined;
      const documents = body.texts ?? body.documents;
      if (documents === undefined) {
        throw invalidRequest("documents must be a non-empty array of strings", "documents");
      }
      const limit = engine.embedder.inputLimit;
      const tooLong = (n: number, i: number) =>
        new ApiError(
          "exceed_context_size_error",
          `documents[${i}] with the query is ${n} tokens: the reranker takes ${limit} at once`,
          { param: "documents", extra: { n_prompt_tokens: n, n_ctx: limit } },
        );
      // Refused before tokenizing: a text of n bytes is at least n / maxTokenBytes tokens.
      documents.forEach((doc, i) => {
        const bytes = utf8Length(body.query) + utf8Length(doc);
        const least = Math.ceil(bytes / engine.model.maxTokenBytes);
        if (least > limit) throw tooLong(least, i);
      });
      const pairs = documents.map((doc, i) => {
        const tokens = rerankTokens(engine, body.query, doc);
        if (tokens.length > limit) throw tooLong(tokens.length, i);
        return tokens;
      });
      const signal = c.get("deadline").signal;
      const label = tei ? "score" : "relevance_score";
      let total = 0;
      const ranked: Record<string, unknown>[] = [];
      for (const [index, tokens] of pairs.entries()) {
        const result = await engine.embedder.embed(tokens, signal);
        total += result.tokens;
        const entry: Record<string, unknown> = { index, [label]: result.scores?.[0] ?? -1e6 };
        if (tei && body.return_text) entry.text = documents[index];
        ranked.push(entry);
      }
      ranked.sort((a, b) => (b[label] as number) - (a[label] as number));
      const results = ranked.slice(0, body.top_n ?? ranked.length);
      if (tei) return c.json(results);
      return c.json({
        model: reportedModel(body.model, state.config.modelName),
        object: "list",
        usage: { prompt_tokens: total, total_tokens: total },
        results,
      });
    },
  );
}
