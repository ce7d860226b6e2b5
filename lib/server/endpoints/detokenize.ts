/**
 * `POST /detokenize`: `{tokens}` → `{content}`. Token ids outside the vocabulary are a 400.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { parseJsonBody, tokenArray } from "../api/validate.ts";

/** The handler of `POST /detokenize`. */
export function detokenize(state: ServerState): Handler<AppEnv> {
  return async function detokenize(c) {
    const engine = state.engine();
    const body = parseJsonBody(await c.req.text());
    if (body.tokens === undefined || body.tokens === null) return c.json({ content: "" });
    const tokens = tokenArray(body.tokens, "tokens", engine.model.vocabSize);
    return c.json({ content: engine.model.detokenize(tokens) });
  };
}
