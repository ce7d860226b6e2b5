/**
 * HTTP errors: OpenAI-shaped `{"error":{"message","type","param","code"}}` with llama.cpp's
 * mapping between error type and HTTP status (`code` is the status, as llama.cpp sends it), or
 * Anthropic-shaped `{"type":"error","error":{"type","message"}}` on the Messages API's routes
 * ({@linkcode ErrorShape}). Server errors carry a request id and never a stack or a path.
 *
 * @module
 */
import { ContextFullError, GrammarError } from "../../engine/errors.ts";
import { QueueFullError } from "../../engine/slots.ts";
import { oneLine } from "../../util/one_line.ts";

/** Error types and the HTTP status llama.cpp answers them with. */
export const ERROR_STATUS = {
  invalid_request_error: 400,
  exceed_context_size_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  timeout_error: 408,
  payload_too_large_error: 413,
  server_error: 500,
  not_supported_error: 501,
  unavailable_error: 503,
} as const;

/** One of the error types in {@linkcode ERROR_STATUS}. */
export type ErrorType = keyof typeof ERROR_STATUS;

/** Which API family's error body a route answers with. */
export type ErrorShape = "openai" | "anthropic";

/** Anthropic's error type for each of ours (its statuses are the same, but for 503 and 529). */
const ANTHROPIC_TYPES: Record<ErrorType, string> = {
  invalid_request_error: "invalid_request_error",
  exceed_context_size_error: "invalid_request_error",
  authentication_error: "authentication_error",
  permission_error: "permission_error",
  not_found_error: "not_found_error",
  timeout_error: "timeout_error",
  payload_too_large_error: "request_too_large",
  server_error: "api_error",
  not_supported_error: "invalid_request_error",
  unavailable_error: "overloaded_error",
};

/** Extra fields of an {@linkcode ApiError}. */
export interface ApiErrorOptions {
  /** The request field at fault. */
  param?: string;
  /** Response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>;
  /** Fields added to the error object (llama.cpp's `n_prompt_tokens`, `n_ctx`). */
  extra?: Record<string, unknown>;
  /** The HTTP status when it is not the type's (405 is an `invalid_request_error`, as OpenAI answers it). */
  status?: number;
  cause?: unknown;
}

/** An error answered to the client as it is. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly type: ErrorType;
  readonly status: number;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(type: ErrorType, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.type = type;
    this.status = options.status ?? ERROR_STATUS[type];
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }

  /** The JSON body (OpenAI's shape). */
  body(): { error: Record<string, unknown> } {
    return {
      error: {
        message: this.message,
        type: this.type,
        param: this.param,
        code: this.status,
        ...this.extra,
      },
    };
  }

  /** The JSON body in `shape`. */
  bodyIn(shape: ErrorShape): Record<string, unknown> {
    if (shape === "openai") return this.body();
    return { type: "error", error: { type: ANTHROPIC_TYPES[this.type], message: this.message } };
  }
}

/** The 405 for a method a route does not take, with the `Allow` header. */
export function methodNotAllowed(
  method: string,
  path: string,
  allowed: readonly string[],
): ApiError {
  return new ApiError(
    "invalid_request_error",
    `Cannot ${method} ${path}: the endpoint takes ${allowed.join(", ")}`,
    { status: 405, headers: { Allow: allowed.join(", ") } },
  );
}

/** A 400 `invalid_request_error` about `param`. */
export function invalidRequest(message: string, param?: string): ApiError {
  return new ApiError("invalid_request_error", message, param === undefined ? {} : { param });
}

/** The reason a request's signal carries when its time limit ran out. */
export class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
}

/** Seconds a client should wait before retrying when every slot is busy. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Turns any error into the {@linkcode ApiError} to answer with. Errors the client caused
 * keep their message; anything else becomes a 500 naming only `requestId`.
 */
export function toApiError(error: unknown, requestId: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof RequestTimeoutError) {
    return new ApiError("timeout_error", error.message, { cause: error });
  }
  if (error instanceof DOMException && error.name === "AbortError") {
    return new ApiError("timeout_error", "The request was aborted", { cause: error });
  }
  if (error instanceof GrammarError) {
    return new ApiError("invalid_request_error", error.message, { param: "grammar", cause: error });
  }
  if (error instanceof ContextFullError) {
    return new ApiError("exceed_context_size_error", error.message, { cause: error });
  }
  if (error instanceof QueueFullError) {
    return new ApiError("unavailable_error", error.message, {
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
      cause: error,
    });
  }
  return new ApiError("server_error", `Internal server error (request id ${requestId})`, {
    cause: error,
  });
}

/**
 * Logs a server error (a 500) on stderr with its request id: message and cause chain, on one
 * line (see `oneLine`: a message can quote a request), never shown to the client.
 */
export function logServerError(apiError: ApiError, requestId: string): void {
  if (apiError.type !== "server_error") return;
  let line = `llamafile: request ${requestId} failed`;
  let cause = apiError.cause;
  while (cause !== undefined) {
    line += `: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  console.error(oneLine(line));
}

/** The error to report in the middle of a stream (logged when it is a 500). */
export function streamFailure(error: unknown, requestId: string): ApiError {
  const apiError = toApiError(error, requestId);
  logServerError(apiError, requestId);
  return apiError;
}

/** The JSON response for `error`, in `shape`. */
export function errorResponse(error: ApiError, shape: ErrorShape = "openai"): Response {
  return new Response(JSON.stringify(error.bodyIn(shape)), {
    status: error.status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...error.headers },
  });
}
