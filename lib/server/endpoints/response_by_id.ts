/**
 * `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`: a stored response, as it was
 * answered, or its removal (`{"id", "object": "response", "deleted": true}`). Responses made with
 * `store: false`, deleted or evicted ones are a 404.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import { ApiError } from "../api/errors.ts";
import type { ResponseStore } from "../api/response_store.ts";

function notFound(id: string): ApiError {
  return new ApiError(
    "not_found_error",
    `Response with id "${id}" not found: it was never stored, was deleted, or was evicted`,
  );
}

/** The handler of `GET /v1/responses/{id}`. */
export function getResponse(store: ResponseStore): Handler<AppEnv, "/:id"> {
  return function getResponse(c) {
    const id = c.req.param("id");
    const stored = store.get(id);
    if (stored === undefined) throw notFound(id);
    return c.json(stored.response);
  };
}

/** The handler of `DELETE /v1/responses/{id}`. */
export function deleteResponse(store: ResponseStore): Handler<AppEnv, "/:id"> {
  return function deleteResponse(c) {
    const id = c.req.param("id");
    if (!store.delete(id)) throw notFound(id);
    return c.json({ id, object: "response", deleted: true });
  };
}
