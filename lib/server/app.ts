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
import { applyTemplate, chatCompletions, chatInputTokens } from "./endpoints/chat_completions.ts";
import { completion } from "./endpoints/completion.ts";
import { completions } from "./endpoints/completions.ts";
import { countTokens } from "./endpoints/count_tokens.ts";
import { detokenize } from "./endpoints/detokenize.ts";
import { embeddings, nativeEmbeddings } from "./endpoints/embeddings.ts";
import { health } from "./endpoints/health.ts";
import { infill } from "./endpoints/infill.ts";
import { getLoraAdapters, postLoraAdapters } from "./endpoints/lora_adapters.ts";
import { rerank } from "./endpoints/rerank.ts";
import { slotAction } from "./endpoints/slot_action.ts";
import { messages } from "./endpoints/messages.ts";
import { metrics } from "./endpoints/metrics.ts";
import { models } from "./endpoints/models.ts";
import { type EndpointSwitches, postProps, props } from "./endpoints/props.ts";
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
  /**
   * `--api-key` (comma-separated keys) and `--api-key-file`'s keys: one is required on every path
   * but `/`, the page's files, `/health` and `/v1/health`.
   */
  apiKey?: string | readonly string[];
  /**
   * `--cors-origins`: origins allowed besides loopback ones (`*` any, `localhost` loopback only);
   * without it, any origin is allowed when an API key is required (the key guards the server).
   */
  corsOrigins?: readonly string[];
  /** `--cors-methods`, `--cors-headers`, `--cors-credentials`: what a preflight allows. */
  cors?: { methods?: string; headers?: string; credentials?: boolean };
  /** Optional endpoints (`--no-slots`, `--metrics`, `--props`, `--no-ui`); default as llama.cpp. */
  endpoints?: Partial<EndpointSwitches>;
  /** `--path`: files served at `/` instead of the chat page (read before the sandbox). */
  staticFiles?: ReadonlyMap<string, { body: Uint8Array; type: string }>;
  /** `--api-prefix`: every route is served under this path. */
  apiPrefix?: string;
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

/** The 501 of an endpoint the command line left off, naming the flag that turns it on. */
function notServed(what: string, flag: string): H {
  return () => {
    throw new ApiError(
      "not_supported_error",
      `This server does not support ${what}: start it with ${flag}`,
    );
  };
}

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
function routes(
  state: ServerState,
  store: ResponseStore,
  endpoints: EndpointSwitches,
  staticFiles: ReadonlyMap<string, { body: Uint8Array; type: string }> | undefined,
): Route[] {
  const page: Route[] = [];
  if (staticFiles !== undefined) {
    for (const [path, file] of staticFiles) {
      page.push([
        "GET",
        path === "/index.html" ? ["/", path] : [path],
        [(c) => c.body(file.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": file.type })],
      ]);
    }
  } else if (endpoints.ui) {
    page.push(["GET", ["/"], [(c) => c.body(CHAT_HTML, 200, { ...CHAT_PAGE_HEADERS })]]);
  }
  return [
    ...page,
    ["GET", ["/health", "/v1/health"], [health(state)]],
    ["GET", ["/v1/models", "/models"], [models(state)]],
    ["POST", ["/v1/chat/completions", "/chat/completions"], chatCompletions(state)],
    [
      "POST",
      ["/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"],
      chatInputTokens(state),
    ],
    ["POST", ["/apply-template"], applyTemplate(state)],
    ["POST", ["/v1/completions"], completions(state)],
    ["POST", ["/completion", "/completions"], completion(state)],
    ["POST", ["/infill"], infill(state)],
    ["POST", ["/embedding", "/embeddings"], nativeEmbeddings(state)],
    ["POST", ["/rerank", "/reranking", "/v1/rerank", "/v1/reranking"], rerank(state)],
    ["GET", ["/lora-adapters"], [getLoraAdapters(state)]],
    ["POST", ["/lora-adapters"], postLoraAdapters(state)],
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
    [
      "GET",
      ["/metrics"],
      [endpoints.metrics ? metrics(state) : notServed("the metrics endpoint", "--metrics")],
    ],
    ["GET", ["/slots"], [
      endpoints.slots ? slots(state) : notServed("the slots endpoint", "--slots"),
    ]],
    ["POST", ["/slots/:id"], slotAction(state)],
    ["GET", ["/props"], [props(state, endpoints)]],
    [
      "POST",
      ["/props"],
      [endpoints.props ? postProps() : notServed("changing global properties", "--props")],
    ],
  ];
}

/** Builds the app: middleware, routes, one error handler. It does not listen. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { state } = deps;
  const o = deps.options ?? {};
  const prefix = o.apiPrefix ?? "";
  const app = prefix === "" ? new Hono<AppEnv>() : new Hono<AppEnv>().basePath(prefix);
  const keys = (typeof o.apiKey === "string" ? o.apiKey.split(",") : o.apiKey ?? [])
    .map((k) => k.trim()).filter((k) => k !== "");
  const endpoints: EndpointSwitches = {
    slots: o.endpoints?.slots ?? true,
    metrics: o.endpoints?.metrics ?? false,
    props: o.endpoints?.props ?? false,
    ui: o.endpoints?.ui ?? true,
  };
  const openPaths = [...OPEN_PATHS, ...(o.staticFiles?.keys() ?? [])].map((p) => prefix + p);
  if (o.requestLog) app.use(requestLog(o.requestLog));
  app.use(requestId());
  app.use(errorShape(ANTHROPIC_PATHS.map((p) => prefix + p)));
  app.use(hostCheck({ allowedHosts: o.allowedHosts ?? [] }));
  app.use(corsPolicy({
    origins: o.corsOrigins ?? [],
    ...(o.cors && { preflight: o.cors }),
  }));
  if (keys.length > 0) app.use(apiKeyAuth({ keys, openPaths }));
  app.use(
    deadline({ timeoutMs: o.timeoutMs ?? 600_000, ...(o.shutdown && { shutdown: o.shutdown }) }),
  );
  app.use(bodyLimit(o.bodyLimit ?? DEFAULT_BODY_LIMIT));
  // --sleep-idle-seconds: a request wakes a sleeping engine first; health, props and models
  // answer without waking it, as llama.cpp's do.
  const awake = new Set(
    ["/health", "/v1/health", "/props", "/models", "/v1/models"].map((p) => prefix + p),
  );
  app.use(async function wake(c, next) {
    const sleeper = state.sleeper;
    if (sleeper === null || awake.has(c.req.path)) return await next();
    await sleeper.enter();
    let left = false;
    try {
      await next();
    } finally {
      const generation = c.get("generation");
      if (generation !== undefined) generation.finally(() => sleeper.leave()).catch(() => {});
      else left = true;
      if (left) sleeper.leave();
    }
  });
  const table = routes(state, new ResponseStore(o.responseStore ?? {}), endpoints, o.staticFiles);
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
