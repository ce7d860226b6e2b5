/**
 * `--api-key`: requests must carry `Authorization: Bearer KEY` or `X-Api-Key: KEY`, with one
 * of the server's keys.
 * The comparison is constant-time (SHA-256 digests compared in full). A few paths
 * (health, the chat page) stay open, and CORS preflights pass.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, errorResponse } from "../api/errors.ts";
import type { AppEnv } from "../api/app_env.ts";

/** Options of {@linkcode apiKeyAuth}. */
export interface ApiKeyOptions {
  /** The keys any one of which a request may carry. */
  keys: readonly string[];
  /** Paths that need no key. */
  openPaths: readonly string[];
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Compares two strings in time that does not depend on where they differ. */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** The key a request presents, or `null`. */
export function presentedKey(
  authorization: string | undefined,
  xApiKey: string | undefined,
): string | null {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1]!.trim();
  }
  return xApiKey?.trim() ?? null;
}

/** Answers 401 unless the request carries the key. */
export function apiKeyAuth(options: ApiKeyOptions): MiddlewareHandler<AppEnv> {
  const open = new Set(options.openPaths);
  return async function apiKeyAuth(c, next) {
    if (open.has(c.req.path) || c.req.method === "OPTIONS") return await next();
    const key = presentedKey(c.req.header("authorization"), c.req.header("x-api-key"));
    let match = false;
    // Every key is compared (in constant time each), so timing does not tell which one matched.
    for (const candidate of options.keys) {
      if (key !== null && await timingSafeEqual(key, candidate)) match = true;
    }
    if (!match) {
      const response = errorResponse(
        new ApiError("authentication_error", "Invalid API Key"),
        c.get("errorShape"),
      );
      response.headers.set("WWW-Authenticate", 'Bearer realm="llamafile"');
      return response;
    }
    await next();
  };
}
