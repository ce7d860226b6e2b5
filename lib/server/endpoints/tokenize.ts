/**
 * `POST /tokenize`: `{content, add_special?, parse_special?, with_pieces?}` →
 * `{tokens}`; with pieces, each token is `{id, piece}` where `piece` is text, or the
 * byte values when the piece is not valid UTF-8 on its own (llama.cpp).
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { promptTokens } from "../api/prompt.ts";
import { optionalBoolean, parseJsonBody } from "../api/validate.ts";

const strict = new TextDecoder("utf-8", { fatal: true });

/** A token's piece as llama.cpp's `/tokenize` shows it. */
export function piece(bytes: Uint8Array): string | number[] {
  try {
    return strict.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

/** The handler of `POST /tokenize`. */
export function tokenize(state: ServerState): Handler<AppEnv> {
  return async function tokenize(c) {
    const engine = state.engine();
    const body = parseJsonBody(await c.req.text());
    if (body.content === undefined || body.content === null) return c.json({ tokens: [] });
    const tokens = promptTokens(body.content, engine.model, {
      name: "content",
      addSpecial: optionalBoolean(body, "add_special") ?? false,
      parseSpecial: optionalBoolean(body, "parse_special") ?? true,
    });
    if (!(optionalBoolean(body, "with_pieces") ?? false)) return c.json({ tokens });
    return c.json({
      tokens: tokens.map((id) => ({ id, piece: piece(engine.model.tokenBytes(id, true)) })),
    });
  };
}
