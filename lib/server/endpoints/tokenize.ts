/**
 * `POST /tokenize`: `{content, add_special?, parse_special?, with_pieces?}` →
 * `{tokens}`; with pieces, each token is `{id, piece}` where `piece` is text, or the
 * byte values when the piece is not valid UTF-8 on its own (llama.cpp).
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { promptTokensAsync, SINGLE_PROMPT } from "../api/prompt.ts";
import { boolean, optional } from "../api/validate.ts";

/** The request body of `POST /tokenize`. */
export const TOKENIZE_REQUEST = z.object({
  content: optional(SINGLE_PROMPT),
  add_special: optional(boolean()),
  parse_special: optional(boolean()),
  with_pieces: optional(boolean()),
});

const strict = new TextDecoder("utf-8", { fatal: true });

/** A token's piece as llama.cpp's `/tokenize` shows it. */
export function piece(bytes: Uint8Array): string | number[] {
  try {
    return strict.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

/** The handlers of `POST /tokenize`. */
export function tokenize(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(TOKENIZE_REQUEST),
    async function tokenize(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      if (body.content === undefined) return c.json({ tokens: [] });
      const tokens = await promptTokensAsync(body.content, engine.model, {
        name: "content",
        addSpecial: body.add_special ?? false,
        parseSpecial: body.parse_special ?? true,
      });
      if (!(body.with_pieces ?? false)) return c.json({ tokens });
      return c.json({
        tokens: tokens.map((id) => ({ id, piece: piece(engine.model.tokenBytes(id, true)) })),
      });
    },
  );
}
