import assert from "node:assert/strict";
import { ContextFullError, GrammarError } from "../../engine/errors.ts";
import { QueueFullError } from "../../engine/slots.ts";
import {
  ApiError,
  ERROR_STATUS,
  errorResponse,
  RequestTimeoutError,
  toApiError,
} from "./errors.ts";

Deno.test("ApiError.body() is OpenAI-shaped with llama.cpp's numeric code", () => {
  const error = new ApiError("invalid_request_error", "temperature must be between 0 and 2", {
    param: "temperature",
  });
  assert.deepEqual(error.body(), {
    error: {
      message: "temperature must be between 0 and 2",
      type: "invalid_request_error",
      param: "temperature",
      code: 400,
    },
  });
  assert.equal(new ApiError("not_found_error", "x").body().error.param, null);
});

Deno.test("ERROR_STATUS follows llama.cpp's type to status mapping", () => {
  assert.equal(ERROR_STATUS.invalid_request_error, 400);
  assert.equal(ERROR_STATUS.authentication_error, 401);
  assert.equal(ERROR_STATUS.permission_error, 403);
  assert.equal(ERROR_STATUS.not_found_error, 404);
  assert.equal(ERROR_STATUS.server_error, 500);
  assert.equal(ERROR_STATUS.not_supported_error, 501);
  assert.equal(ERROR_STATUS.unavailable_error, 503);
  assert.equal(ERROR_STATUS.exceed_context_size_error, 400);
});

Deno.test("toApiError() maps library errors and hides anything else behind the request id", () => {
  assert.equal(toApiError(new GrammarError("Cannot parse grammar: x"), "r").status, 400);
  assert.equal(toApiError(new GrammarError("x"), "r").param, "grammar");
  assert.equal(toApiError(new ContextFullError("full"), "r").type, "exceed_context_size_error");
  const queue = toApiError(new QueueFullError("busy"), "r");
  assert.equal(queue.status, 503);
  assert.equal(queue.headers["Retry-After"], "1");
  assert.equal(toApiError(new RequestTimeoutError("slow"), "r").status, 408);
  const hidden = toApiError(new Error("/secret/path failed"), "abc123");
  assert.equal(hidden.status, 500);
  assert.equal(hidden.message, "Internal server error (request id abc123)");
  assert.doesNotMatch(JSON.stringify(hidden.body()), /secret/);
});

Deno.test("errorResponse() sets the status, JSON type and extra headers", async () => {
  const response = errorResponse(
    new ApiError("unavailable_error", "busy", { headers: { "Retry-After": "1" } }),
  );
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.match(response.headers.get("content-type")!, /application\/json/);
  assert.equal((await response.json()).error.message, "busy");
});
