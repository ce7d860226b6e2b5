/**
 * CORS. By default only loopback origins (and the request's own origin) are allowed, with or
 * without an API key (llama.cpp allows any origin always). `--cors-origins` names others: `*`
 * allows any, `localhost` the loopback ones only. A request from an origin that is not allowed is refused
 * with 403 before it reaches a handler, so a web page cannot make the server work for it; its
 * preflight answers without `Access-Control-Allow-Origin`, as llama.cpp's does.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, errorResponse } from "../api/errors.ts";
import type { AppEnv } from "../api/app_env.ts";
import { hostName, isLoopback } from "./loopback.ts";

/** Options of {@linkcode corsPolicy}. */
export interface CorsOptions {
  /** Extra allowed origins (`https://app.example`), `*` for any, `localhost` for loopback. */
  origins: readonly string[];
  /** What a preflight allows (llama.cpp's `--cors-methods`, `--cors-headers`, `--cors-credentials`). */
  preflight?: { methods?: string; headers?: string; credentials?: boolean };
}

function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  return isLoopback(hostName(url.host) ?? "");
}

function originAllowed(
  origin: string,
  host: string | undefined,
  extra: Set<string>,
  any: boolean,
): boolean {
  if (any || extra.has(origin.toLowerCase().replace(/\/$/, ""))) return true;
  if (isLoopbackOrigin(origin)) return true;
  if (extra.has("localhost")) return false;
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Handles preflights and sets `Access-Control-Allow-Origin` for allowed origins; refuses others. */
export function corsPolicy(options: CorsOptions): MiddlewareHandler<AppEnv> {
  const extra = new Set(
    options.origins.flatMap((o) => o.split(",")).map((o) =>
      o.trim().replace(/\/$/, "").toLowerCase()
    ).filter((o) => o !== ""),
  );
  const any = extra.has("*");
  const methods = options.preflight?.methods ?? "GET, POST, DELETE, OPTIONS";
  const headers = options.preflight?.headers ?? "*";
  const credentials = options.preflight?.credentials ?? true;
  return async function corsPolicy(c, next) {
    const origin = c.req.header("origin");
    if (origin === undefined) return await next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const allowed = originAllowed(origin, host, extra, any);
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      const response = new Response(null, {
        status: 200,
        headers: {
          "Access-Control-Allow-Credentials": credentials ? "true" : "false",
          "Access-Control-Allow-Methods": methods,
          "Access-Control-Allow-Headers": headers,
          "Access-Control-Max-Age": "600",
          "Vary": "Origin",
        },
      });
      if (allowed) response.headers.set("Access-Control-Allow-Origin", origin);
      return response;
    }
    if (!allowed) {
      return errorResponse(
        new ApiError(
          "permission_error",
          `Origin "${origin}" is not allowed: pass --cors-origins to allow it`,
        ),
        c.get("errorShape"),
      );
    }
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    if (credentials) c.res.headers.set("Access-Control-Allow-Credentials", "true");
    c.res.headers.append("Vary", "Origin");
  };
}
