/**
 * `POST /v1/messages/count_tokens`: Anthropic's token count of a Messages request's prompt
 * (system, messages, tools) as this server's chat template renders it: `{"input_tokens": N}`.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import { anthropicTurn, COUNT_TOKENS_REQUEST } from "../api/anthropic.ts";
import type { AppEnv } from "../api/app_env.ts";
import { chatTokens } from "../api/chat_turn.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import type { ServerState } from "../api/server_state.ts";

/** The handlers of `POST /v1/messages/count_tokens`. */
export function countTokens(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(COUNT_TOKENS_REQUEST),
    async function countTokens(c) {
      const engine = state.engine();
      const tokens = await chatTokens(engine, anthropicTurn(c.req.valid("json")));
      return c.json({ input_tokens: tokens.length });
    },
  );
}
