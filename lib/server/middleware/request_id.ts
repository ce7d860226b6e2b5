/**
 * Gives every request an id (`X-Request-Id` on the response), named in server errors
 * and logs so that a 500 can be matched to its log line without showing a stack.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../api/app_env.ts";

/** A short random request id. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sets `requestId` and the `X-Request-Id` response header. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    const id = newRequestId();
    c.set("requestId", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  };
}
