/**
 * The HTTP app: middleware, one route per endpoint, one error handler. {@linkcode createApp}
 * builds it without listening (tests call `app.request`); `run_server.ts` listens.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "./api/app_env.ts";
import { ApiError, errorResponse, logServerError, toApiError } from "./api/errors.ts";
import type { ServerState } from "./api/server_state.ts";
import { chatCompletions } from "./endpoints/chat_completions.ts";
import { completion } from "./endpoints/completion.ts";
import { completions } from "./endpoints/completions.ts";
import { detokenize } from "./endpoints/detokenize.ts";
import { embeddings } from "./endpoints/embeddings.ts";
import { health } from "./endpoints/health.ts";
import { metrics } from "./endpoints/metrics.ts";
import { models } from "./endpoints/models.ts";
import { props } from "./endpoints/props.ts";
import { slots } from "./endpoints/slots.ts";
import { tokenize } from "./endpoints/tokenize.ts";
import { apiKeyAuth } from "./middleware/api_key.ts";
import { bodyLimit, DEFAULT_BODY_LIMIT } from "./middleware/body_limit.ts";
import { corsPolicy } from "./middleware/cors.ts";
import { deadline } from "./middleware/deadline.ts";
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
}

/** What {@linkcode createApp} wires together. */
export interface AppDeps {
  state: ServerState;
  options?: AppOptions;
}

const OPEN_PATHS = ["/", "/health", "/v1/health"];

/** Builds the app: middleware, routes, one error handler. It does not listen. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { state } = deps;
  const o = deps.options ?? {};
  const app = new Hono<AppEnv>();
  if (o.requestLog) app.use(requestLog(o.requestLog));
  app.use(requestId());
  app.use(hostCheck({ allowedHosts: o.allowedHosts ?? [] }));
  app.use(corsPolicy({ origins: o.corsOrigins ?? [] }));
  if (o.apiKey !== undefined && o.apiKey !== "") {
    app.use(apiKeyAuth({ key: o.apiKey, openPaths: OPEN_PATHS }));
  }
  app.use(
    deadline({ timeoutMs: o.timeoutMs ?? 600_000, ...(o.shutdown && { shutdown: o.shutdown }) }),
  );
  app.use(bodyLimit(o.bodyLimit ?? DEFAULT_BODY_LIMIT));

  app.get("/", (c) => c.body(CHAT_HTML, 200, { ...CHAT_PAGE_HEADERS }));
  for (const path of ["/health", "/v1/health"]) app.get(path, health(state));
  for (const path of ["/v1/models", "/models"]) app.get(path, models(state));
  for (const path of ["/v1/chat/completions", "/chat/completions"]) {
    app.post(path, chatCompletions(state));
  }
  for (const path of ["/v1/completions", "/completions"]) app.post(path, completions(state));
  app.post("/completion", completion(state));
  app.post("/v1/embeddings", embeddings(state));
  app.post("/tokenize", tokenize(state));
  app.post("/detokenize", detokenize(state));
  app.get("/metrics", metrics(state));
  app.get("/slots", slots(state));
  app.get("/props", props(state));

  app.notFound((c) =>
    errorResponse(
      new ApiError("not_found_error", `Cannot ${c.req.method} ${c.req.path}: no such endpoint`),
    )
  );
  app.onError((error, c) => {
    const id = c.get("requestId") ?? "-";
    const apiError = toApiError(error, id);
    logServerError(apiError, id);
    return errorResponse(apiError);
  });
  return app;
}
