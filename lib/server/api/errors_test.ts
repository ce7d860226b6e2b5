import assert from "node:assert/strict";
import { ContextFullError, GrammarError } from "../../engine/errors.ts";
import { QueueFullError } from "../../engine/slots.ts";
import {
  ApiError,
  ERROR_STATUS,
  errorResponse,
  methodNotAllowed,
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

Deno.test("ApiError.bodyIn() answers in Anthropic's shape with Anthropic's error types", () => {
  const error = new ApiError("invalid_request_error", "max_tokens is required", {
    param: "max_tokens",
  });
  assert.deepEqual(error.bodyIn("anthropic"), {
    type: "error",
    error: { type: "invalid_request_error", message: "max_tokens is required" },
  });
  assert.deepEqual(error.bodyIn("openai"), error.body());
  const types = (type: ConstructorParameters<typeof ApiError>[0]) =>
    (new ApiError(type, "x").bodyIn("anthropic").error as { type: string }).type;
  assert.equal(types("server_error"), "api_error");
  assert.equal(types("unavailable_error"), "overloaded_error");
  assert.equal(types("payload_too_large_error"), "request_too_large");
  assert.equal(types("exceed_context_size_error"), "invalid_request_error");
});

Deno.test("methodNotAllowed() is a 405 invalid_request_error with Allow", async () => {
  const error = methodNotAllowed("TRACE", "/v1/messages", ["POST"]);
  assert.equal(error.status, 405);
  assert.equal(error.type, "invalid_request_error");
  assert.equal(error.message, "Cannot TRACE /v1/messages: the endpoint takes POST");
  const response = errorResponse(error, "anthropic");
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
  assert.equal((await response.json()).type, "error");
});
