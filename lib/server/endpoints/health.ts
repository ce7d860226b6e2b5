/**
 * `GET /health`: `{"status":"ok"}` once the model is loaded; 503 with
 * `{"status":"loading model"}` before, and `{"status":"error"}` after a failed load.
 * It needs no API key.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";

/** The handler of `GET /health`. */
export function health(state: ServerState): Handler<AppEnv> {
  return function health(c) {
    switch (state.status) {
      case "ready": {
        const stats = state.current!.scheduler.stats();
        return c.json({
          status: "ok",
          slots_idle: stats.slots - stats.busy,
          slots_processing: stats.busy,
        });
      }
      case "loading":
        return c.json({ status: "loading model" }, 503, { "Retry-After": "1" });
      case "stopping":
        return c.json({ status: "shutting down" }, 503);
      default:
        return c.json({ status: "error" }, 500);
    }
  };
}
