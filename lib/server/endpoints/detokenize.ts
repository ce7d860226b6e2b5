/**
 * `POST /detokenize`: `{tokens}` → `{content}`. Token ids outside the vocabulary are a 400.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { optional, parseField, tokenIds } from "../api/validate.ts";

/** The request body of `POST /detokenize` (ids are checked against the model's vocabulary). */
export const DETOKENIZE_REQUEST = z.object({ tokens: optional(tokenIds()) });

/** The handlers of `POST /detokenize`. */
export function detokenize(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(DETOKENIZE_REQUEST),
    function detokenize(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      if (body.tokens === undefined) return c.json({ content: "" });
      const tokens = parseField(tokenIds(engine.model.vocabSize), body.tokens, "tokens");
      return c.json({ content: engine.model.detokenize(tokens) });
    },
  );
}
