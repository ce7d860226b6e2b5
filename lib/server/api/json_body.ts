/**
 * Route-level request validation. {@linkcode readJsonBody} reads the body as a JSON object
 * whatever its `Content-Type` (llama.cpp does, and `curl -d` sends
 * `application/x-www-form-urlencoded`), with our messages for an empty or malformed body;
 * {@linkcode jsonBody} then checks it against the route's declared schema with
 * `@hono/zod-validator`, and the handler reads the typed result with `c.req.valid("json")`. A
 * failure is a 400 naming the field, which the app's error handler answers in the route's
 * error shape. (The validator parses the text again: bodies are at most the body limit, 10 MiB
 * by default, and our own parse is what gives the reasons of a malformed body.)
 *
 * @module
 */
import { zValidator } from "@hono/zod-validator";
import { createMiddleware } from "hono/factory";
import type * as z from "zod/mini";
import type { AppEnv } from "./app_env.ts";
import { checkRequest, parseJsonBody, requestError } from "./validate.ts";

/** The media types Hono's validator reads as JSON. */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Reads the body as a JSON object (a 400 when it is not one), declared JSON for the validator. */
export const readJsonBody = createMiddleware<AppEnv>(async function readJsonBody(c, next) {
  const text = await c.req.text();
  parseJsonBody(text);
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
  if (!JSON_TYPE.test(type)) {
    const raw = c.req.raw;
    const headers = new Headers(raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers,
      body: text,
      signal: raw.signal,
    });
  }
  await next();
});

/** Validates the JSON body against `schema`; the handler gets its output from `c.req.valid("json")`. */
export function jsonBody<T extends z.ZodMiniType>(schema: T) {
  return zValidator("json", schema, (result) => {
    if (!result.success) throw requestError(result.error);
  }, {
    // Our messages (the validator's default parse has zod's own). The cast: zod-validator types
    // the result through a conditional on the schema type, which a generic `T` leaves open.
    validationFunction: (s, value) => checkRequest(s, value) as never,
  });
}
