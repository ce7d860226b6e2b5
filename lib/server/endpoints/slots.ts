/**
 * `GET /slots` (on by default; `--no-slots` answers 501): each slot as llama.cpp reports it:
 * `id`, `n_ctx`, `is_processing`, and for a slot at work its task's prompt size, cache and
 * parameters, and `next_token` (`n_remain`, `n_decoded`). `?fail_on_no_slot=1` answers 503 when
 * no slot is idle.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { ApiError } from "../api/errors.ts";

/** The handler of `GET /slots`. */
export function slots(state: ServerState): Handler<AppEnv> {
  return function slots(c) {
    const engine = state.engine();
    const list = engine.scheduler.slots();
    if (c.req.query("fail_on_no_slot") && list.every((s) => s.busy)) {
      throw new ApiError("unavailable_error", "No slot available", {
        headers: { "Retry-After": "1" },
      });
    }
    return c.json(list.map((slot) => ({
      id: slot.id,
      n_ctx: engine.scheduler.slotContext,
      speculative: false,
      is_processing: slot.busy,
      cache_n: slot.cachedTokens,
      ...(slot.busy && {
        n_prompt_tokens: slot.promptTokens,
        n_prompt_tokens_cache: slot.cachedTokens,
      }),
      next_token: [{
        has_next_token: slot.busy,
        has_new_line: false,
        n_remain: slot.remaining,
        n_decoded: slot.generated,
      }],
    })));
  };
}
