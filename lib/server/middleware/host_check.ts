/**
 * DNS-rebinding defense: the `Host` header must name a loopback address or a host this
 * server was told about (`--host`), unless it listens on every interface.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, errorResponse } from "../api/errors.ts";
import type { AppEnv } from "../api/app_env.ts";
import { hostName, isLoopback, isWildcard } from "./loopback.ts";

/** Options of {@linkcode hostCheck}. */
export interface HostCheckOptions {
  /** Host names allowed besides loopback ones (the `--host` value). */
  allowedHosts: readonly string[];
}

/** Answers 403 to a request whose `Host` is not allowed. */
export function hostCheck(options: HostCheckOptions): MiddlewareHandler<AppEnv> {
  const allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, "")));
  const anyHost = options.allowedHosts.some(isWildcard);
  return async function hostCheck(c, next) {
    if (anyHost) return await next();
    const header = c.req.header("host") ?? new URL(c.req.url).host;
    const name = hostName(header);
    if (name === null || !(isLoopback(name) || allowed.has(name))) {
      return errorResponse(
        new ApiError(
          "permission_error",
          `Host "${header}" is not allowed: use a loopback address or the --host name`,
        ),
        c.get("errorShape"),
      );
    }
    await next();
  };
}
