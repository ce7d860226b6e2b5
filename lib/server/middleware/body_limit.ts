/**
 * Request body limit. The body is counted as it arrives, whatever `Content-Length`
 * claims (Hono's `bodyLimit` trusts that header when present), and a body over the limit
 * is refused with 413 without reading the rest.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, errorResponse, type ErrorShape } from "../api/errors.ts";
import type { AppEnv } from "../api/app_env.ts";

/** The default limit: 10 MiB. */
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

/**
 * Methods that `new Request()` refuses (Fetch's forbidden methods). No route takes them, so
 * their body is dropped unread and the request goes on to the 404 or 405 it gets.
 */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

function tooLarge(maxBytes: number, shape: ErrorShape): Response {
  return errorResponse(
    new ApiError(
      "payload_too_large_error",
      `The request body is larger than the limit of ${maxBytes} bytes`,
    ),
    shape,
  );
}

/** Reads the body with a cap and hands the handler a copy of what was read. */
export function bodyLimit(maxBytes = DEFAULT_BODY_LIMIT): MiddlewareHandler<AppEnv> {
  return async function bodyLimit(c, next) {
    const raw = c.req.raw;
    if (raw.body === null) return await next();
    if (FORBIDDEN_METHODS.has(raw.method.toUpperCase())) {
      await raw.body.cancel().catch(() => {});
      return await next();
    }
    const declared = Number(raw.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await raw.body.cancel().catch(() => {});
      return tooLarge(maxBytes, c.get("errorShape"));
    }
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return tooLarge(maxBytes, c.get("errorShape"));
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const headers = new Headers(raw.headers);
    headers.set("content-length", String(size));
    c.req.raw = new Request(raw.url, { method: raw.method, headers, body, signal: raw.signal });
    await next();
  };
}
