/**
 * `POST /v1/responses/input_tokens`: the prompt tokens of a Responses request (instructions,
 * the conversation of `previous_response_id`, input and tools) as this server's chat template
 * renders it: `{"object": "response.input_tokens", "input_tokens": N}`.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { AppEnv } from "../api/app_env.ts";
import { chatTokens } from "../api/chat_turn.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import type { ResponseStore } from "../api/response_store.ts";
import { INPUT_TOKENS_REQUEST, responsesTurn } from "../api/responses.ts";
import type { ServerState } from "../api/server_state.ts";

/** The handlers of `POST /v1/responses/input_tokens`. */
export function responsesInputTokens(state: ServerState, store: ResponseStore) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(INPUT_TOKENS_REQUEST),
    async function responsesInputTokens(c) {
      const engine = state.engine();
      const tokens = await chatTokens(engine, responsesTurn(c.req.valid("json"), store), "input");
      return c.json({ object: "response.input_tokens", input_tokens: tokens.length });
    },
  );
}
