/**
 * Picks the error body shape of the API a request's path belongs to: Anthropic's on the
 * Messages API's routes, OpenAI's (which llama.cpp's routes share) everywhere else. It runs
 * first, so that every later refusal (Host, CORS, API key, body limit, validation, 404, 405)
 * answers in the shape the client's SDK reads.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../api/app_env.ts";

/** Sets `errorShape`: `anthropic` under `anthropicPaths` (and below them), else `openai`. */
export function errorShape(anthropicPaths: readonly string[]): MiddlewareHandler<AppEnv> {
  return async function errorShape(c, next) {
    const path = c.req.path;
    const anthropic = anthropicPaths.some((p) => path === p || path.startsWith(`${p}/`));
    c.set("errorShape", anthropic ? "anthropic" : "openai");
    await next();
  };
}
