/**
 * CORS limited to loopback origins (and the request's own origin), plus those given
 * with `--cors-origins` (`*` allows any). A request from any other origin is refused
 * with 403 before it reaches a handler, so a web page cannot make the server work for it.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, errorResponse } from "../api/errors.ts";
import type { AppEnv } from "../api/app_env.ts";
import { hostName, isLoopback } from "./loopback.ts";

/** Options of {@linkcode corsPolicy}. */
export interface CorsOptions {
  /** Extra allowed origins (`https://app.example`), or `*` for any. */
  origins: readonly string[];
}

const ALLOW_HEADERS = "Authorization, Content-Type, X-Api-Key, Anthropic-Version";
const ALLOW_METHODS = "GET, POST, DELETE, OPTIONS";

function originAllowed(origin: string, host: string | undefined, extra: Set<string>): boolean {
  if (extra.has("*") || extra.has(origin.toLowerCase())) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  if (isLoopback(hostName(url.host) ?? "")) return true;
  return host !== undefined && url.host.toLowerCase() === host.toLowerCase();
}

/** Handles preflights and sets `Access-Control-Allow-Origin` for allowed origins; refuses others. */
export function corsPolicy(options: CorsOptions): MiddlewareHandler<AppEnv> {
  const extra = new Set(
    options.origins.flatMap((o) => o.split(",")).map((o) =>
      o.trim().replace(/\/$/, "").toLowerCase()
    ),
  );
  return async function corsPolicy(c, next) {
    const origin = c.req.header("origin");
    if (origin === undefined) return await next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!originAllowed(origin, host, extra)) {
      return errorResponse(
        new ApiError(
          "permission_error",
          `Origin "${origin}" is not allowed: pass --cors-origins to allow it`,
        ),
        c.get("errorShape"),
      );
    }
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": origin,
          "Access-Control-Allow-Methods": ALLOW_METHODS,
          "Access-Control-Allow-Headers": c.req.header("access-control-request-headers") ??
            ALLOW_HEADERS,
          "Access-Control-Max-Age": "600",
          "Vary": "Origin",
        },
      });
    }
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.append("Vary", "Origin");
  };
}
