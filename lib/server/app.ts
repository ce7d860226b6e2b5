/**
 * The HTTP app: middleware, one route per endpoint, one error handler. {@linkcode createApp}
 * builds it without listening (tests call `app.request`); `run_server.ts` listens.
 *
 * @module
 */
import { Hono } from "hono";
import type { H } from "hono/types";
import type { AppEnv } from "./api/app_env.ts";
import {
  ApiError,
  errorResponse,
  logServerError,
  methodNotAllowed,
  toApiError,
} from "./api/errors.ts";
import { ResponseStore, type ResponseStoreLimits } from "./api/response_store.ts";
import type { ServerState } from "./api/server_state.ts";
import { applyTemplate, chatCompletions } from "./endpoints/chat_completions.ts";
import { completion } from "./endpoints/completion.ts";
import { completions } from "./endpoints/completions.ts";
import { countTokens } from "./endpoints/count_tokens.ts";
import { detokenize } from "./endpoints/detokenize.ts";
import { embeddings } from "./endpoints/embeddings.ts";
import { health } from "./endpoints/health.ts";
import { messages } from "./endpoints/messages.ts";
import { metrics } from "./endpoints/metrics.ts";
import { models } from "./endpoints/models.ts";
import { props } from "./endpoints/props.ts";
import { deleteResponse, getResponse } from "./endpoints/response_by_id.ts";
import { responses } from "./endpoints/responses.ts";
import { responsesInputTokens } from "./endpoints/responses_input_tokens.ts";
import { slots } from "./endpoints/slots.ts";
import { tokenize } from "./endpoints/tokenize.ts";
import { apiKeyAuth } from "./middleware/api_key.ts";
import { bodyLimit, DEFAULT_BODY_LIMIT } from "./middleware/body_limit.ts";
import { corsPolicy } from "./middleware/cors.ts";
import { deadline } from "./middleware/deadline.ts";
import { errorShape } from "./middleware/error_shape.ts";
import { hostCheck } from "./middleware/host_check.ts";
import { requestId } from "./middleware/request_id.ts";
import { requestLog } from "./middleware/request_log.ts";
import { CHAT_HTML, CHAT_PAGE_HEADERS } from "./ui/chat_html.ts";

/** HTTP-level settings of {@linkcode createApp}. */
export interface AppOptions {
  /** `--api-key`: required on every path but `/`, `/health` and `/v1/health`. */
  apiKey?: string;
  /** `--cors-origins`: origins allowed besides loopback ones. */
  corsOrigins?: readonly string[];
  /** Host names allowed in `Host` besides loopback ones (the `--host` value). */
  allowedHosts?: readonly string[];
  /** Largest request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** `--timeout` in milliseconds (default 600 s). */
  timeoutMs?: number;
  /** Aborts every request (server shutdown). */
  shutdown?: AbortSignal;
  /** Where the one line per request goes (none without it). */
  requestLog?: (line: string) => void;
  /** Limits of the Responses API's store (default 1000 responses, 64 MiB). */
  responseStore?: ResponseStoreLimits;
}

/** What {@linkcode createApp} wires together. */
export interface AppDeps {
  state: ServerState;
  options?: AppOptions;
}

const OPEN_PATHS = ["/", "/health", "/v1/health"];

/** Routes whose errors are Anthropic-shaped (the Messages API). */
const ANTHROPIC_PATHS = ["/v1/messages"];

/**
 * A route's handlers: each endpoint's validator narrows the request type its handler sees,
 * which a table of routes cannot spell out.
 */
// deno-lint-ignore no-explicit-any
type Handlers = readonly H<any, any, any, any>[];

/** One route: its method, its paths (aliases included) and its handlers. */
type Route = [method: "GET" | "POST" | "DELETE", paths: readonly string[], handlers: Handlers];

/** A stored response (ids start with `resp_`, so `/v1/responses/input_tokens` is not one). */
const RESPONSE_PATHS = ["/v1/responses/:id{resp_[^/]+}", "/responses/:id{resp_[^/]+}"];

/** Every route the app serves. */
function routes(state: ServerState, store: ResponseStore): Route[] {
  return [
    ["GET", ["/"], [(c) => c.body(CHAT_HTML, 200, { ...CHAT_PAGE_HEADERS })]],
    ["GET", ["/health", "/v1/health"], [health(state)]],
    ["GET", ["/v1/models", "/models"], [models(state)]],
    ["POST", ["/v1/chat/completions", "/chat/completions"], chatCompletions(state)],
    ["POST", ["/apply-template"], applyTemplate(state)],
    ["POST", ["/v1/completions", "/completions"], completions(state)],
    ["POST", ["/completion"], completion(state)],
    ["POST", ["/v1/messages"], messages(state)],
    ["POST", ["/v1/messages/count_tokens"], countTokens(state)],
    ["POST", ["/v1/responses", "/responses"], responses(state, store)],
    [
      "POST",
      ["/v1/responses/input_tokens", "/responses/input_tokens"],
      responsesInputTokens(state, store),
    ],
    ["GET", RESPONSE_PATHS, [getResponse(store)]],
    ["DELETE", RESPONSE_PATHS, [deleteResponse(store)]],
    ["POST", ["/v1/embeddings"], embeddings(state)],
    ["POST", ["/tokenize"], tokenize(state)],
    ["POST", ["/detokenize"], detokenize(state)],
    ["GET", ["/metrics"], [metrics(state)]],
    ["GET", ["/slots"], [slots(state)]],
    ["GET", ["/props"], [props(state)]],
  ];
}

/** Builds the app: middleware, routes, one error handler. It does not listen. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { state } = deps;
  const o = deps.options ?? {};
  const app = new Hono<AppEnv>();
  if (o.requestLog) app.use(requestLog(o.requestLog));
  app.use(requestId());
  app.use(errorShape(ANTHROPIC_PATHS));
  app.use(hostCheck({ allowedHosts: o.allowedHosts ?? [] }));
  app.use(corsPolicy({ origins: o.corsOrigins ?? [] }));
  if (o.apiKey !== undefined && o.apiKey !== "") {
    app.use(apiKeyAuth({ key: o.apiKey, openPaths: OPEN_PATHS }));
  }
  app.use(
    deadline({ timeoutMs: o.timeoutMs ?? 600_000, ...(o.shutdown && { shutdown: o.shutdown }) }),
  );
  app.use(bodyLimit(o.bodyLimit ?? DEFAULT_BODY_LIMIT));
  const table = routes(state, new ResponseStore(o.responseStore ?? {}));
  const allowed = new Map<string, string[]>();
  for (const [method, paths, handlers] of table) {
    app.on(method, [...paths], ...handlers);
    for (const path of paths) {
      const methods = allowed.get(path) ?? [];
      methods.push(method, ...(method === "GET" ? ["HEAD"] : []));
      allowed.set(path, methods);
    }
  }
  // A method a route does not take answers 405 with `Allow`, never a 404 or a 500.
  for (const [path, methods] of allowed) {
    app.all(path, (c) => {
      throw methodNotAllowed(c.req.method, c.req.path, methods);
    });
  }
  app.notFound((c) =>
    errorResponse(
      new ApiError("not_found_error", `Cannot ${c.req.method} ${c.req.path}: no such endpoint`),
      c.get("errorShape"),
    )
  );
  app.onError((error, c) => {
    const id = c.get("requestId") ?? "-";
    const apiError = toApiError(error, id);
    logServerError(apiError, id);
    return errorResponse(apiError, c.get("errorShape"));
  });
  return app;
}
