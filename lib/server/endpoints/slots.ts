/**
 * `GET /slots`: each slot's state (llama.cpp's field names where they apply).
 * `?fail_on_no_slot=1` answers 503 when no slot is idle.
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
      is_processing: slot.busy,
      cache_n: slot.cachedTokens,
      next_token: { has_next_token: slot.busy, n_decoded: slot.generated },
    })));
  };
}
