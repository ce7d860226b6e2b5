/**
 * llamafile's HTTP server: the OpenAI-compatible API, llama.cpp's native endpoints and
 * the chat page, on Hono. {@linkcode createApp} builds the app without listening (tests
 * call `app.request`); {@linkcode runServer} listens with `Deno.serve` before the model
 * has loaded (`/health` answers 503 meanwhile), then serves until SIGINT or SIGTERM.
 *
 * @module
 */
import { Hono } from "hono";
import { openBrowser } from "./lib/server/browser.ts";
import type { CliOptions } from "./lib/cli/options.ts";
import type { LlamaModel } from "./lib/engine/model.ts";
import { apiKeyAuth } from "./lib/server/middleware/api_key.ts";
import type { AppEnv } from "./lib/server/api/app_env.ts";
import { bodyLimit, DEFAULT_BODY_LIMIT } from "./lib/server/middleware/body_limit.ts";
import { corsPolicy } from "./lib/server/middleware/cors.ts";
import { hostCheck } from "./lib/server/middleware/host_check.ts";
import { isWildcard } from "./lib/server/middleware/loopback.ts";
import { requestId } from "./lib/server/middleware/request_id.ts";
import { deadline } from "./lib/server/middleware/deadline.ts";
import { chatCompletions } from "./lib/server/endpoints/chat_completions.ts";
import { completion } from "./lib/server/endpoints/completion.ts";
import { completions } from "./lib/server/endpoints/completions.ts";
import { detokenize } from "./lib/server/endpoints/detokenize.ts";
import { embeddings } from "./lib/server/endpoints/embeddings.ts";
import {
  closeEngine,
  createEngine,
  type Engine,
  ServerState,
} from "./lib/server/api/server_state.ts";
import { ApiError, errorResponse, logServerError, toApiError } from "./lib/server/api/errors.ts";
import { health } from "./lib/server/endpoints/health.ts";
import { metrics } from "./lib/server/endpoints/metrics.ts";
import { models } from "./lib/server/endpoints/models.ts";
import { props } from "./lib/server/endpoints/props.ts";
import { slots } from "./lib/server/endpoints/slots.ts";
import { tokenize } from "./lib/server/endpoints/tokenize.ts";
import { samplingFromCli } from "./lib/cli/completion_mode.ts";
import { CHAT_HTML } from "./lib/server/ui/chat_html.ts";

export { createEngine, ServerState };

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
}

/** What {@linkcode createApp} wires together. */
export interface AppDeps {
  state: ServerState;
  options?: AppOptions;
}

const OPEN_PATHS = ["/", "/health", "/v1/health"];

const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** Builds the app: middleware, routes, one error handler. It does not listen. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { state } = deps;
  const o = deps.options ?? {};
  const app = new Hono<AppEnv>();
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

  app.get("/", (c) => c.body(CHAT_HTML, 200, PAGE_HEADERS));
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

/** Hooks of {@linkcode runServer}. */
export interface RunServerHooks {
  /**
   * Called once the model is loaded, the contexts exist and the browser was started:
   * the place to apply the sandbox. A throw shuts the server down.
   */
  onReady?: (info: { url: string; port: number }) => void | Promise<void>;
  /** Stops the server like a signal would. */
  signal?: AbortSignal;
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
}

/** Why {@linkcode runServer} returned. */
export interface ServerExit {
  reason: "SIGINT" | "SIGTERM" | "abort";
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function urlHost(host: string): string {
  if (isWildcard(host)) return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Listens on `--host`/`--port`, loads the engine on `model` (a model or the promise of
 * one: the server answers `/health` with 503 until it resolves), opens the browser
 * unless `--nobrowser`, then serves until SIGINT/SIGTERM (or `hooks.signal`): in-flight
 * generations are aborted, the listener drains, the contexts are freed. The model is the
 * caller's to close. A failed load or engine start shuts down and rethrows.
 */
export async function runServer(
  model: LlamaModel | Promise<LlamaModel>,
  options: CliOptions,
  hooks: RunServerHooks = {},
): Promise<ServerExit> {
  const log = hooks.log ?? ((line: string) => console.error(line));
  const state = new ServerState({
    modelName: options.alias ??
      (options.model !== undefined ? baseName(options.model) : "llamafile"),
    defaults: { ...(await samplingFromCli(options)), maxTokens: options.nPredict },
    startedAt: Math.floor(Date.now() / 1000),
  });
  const shutdown = new AbortController();
  let reason: ServerExit["reason"] = "abort";
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (why: ServerExit["reason"]) => {
    if (shutdown.signal.aborted) return;
    reason = why;
    state.stop();
    shutdown.abort();
    stopRequested();
  };
  const app = createApp({
    state,
    options: {
      ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
      corsOrigins: options.corsOrigins,
      allowedHosts: [options.host],
      timeoutMs: options.timeout * 1000,
      shutdown: shutdown.signal,
    },
  });

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: options.host, port: options.port, onListen() {} }, app.fetch);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new Error(
      `Cannot listen on ${options.host}:${options.port}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const url = `http://${urlHost(options.host)}:${server.addr.port}/`;
  log(`llamafile: listening on ${url}`);

  const onSigint = () => stop("SIGINT");
  const onSigterm = () => stop("SIGTERM");
  const listeners: [Deno.Signal, () => void][] = [["SIGINT", onSigint], ["SIGTERM", onSigterm]];
  for (const [signal, listener] of listeners) {
    try {
      Deno.addSignalListener(signal, listener);
    } catch {
      // SIGTERM cannot be listened to on Windows
    }
  }
  const onAbort = () => stop("abort");
  hooks.signal?.addEventListener("abort", onAbort, { once: true });
  if (hooks.signal?.aborted) stop("abort");

  let engine: Engine | null = null;
  let failure: unknown = null;
  try {
    const loaded = await Promise.race([model, stopped.then(() => null)]);
    if (loaded !== null && !shutdown.signal.aborted) {
      if (options.alias === undefined) state.config.modelName = baseName(loaded.path);
      engine = await createEngine(loaded, {
        contextSize: options.ctxSize,
        parallel: options.parallel,
        batchSize: options.batchSize,
        ubatchSize: options.ubatchSize,
        ...(options.threads !== undefined && { threads: options.threads }),
        ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
        poll: options.poll,
        ...(options.chatTemplate !== undefined && { chatTemplate: options.chatTemplate }),
        eagerEmbeddings: options.embedding,
        warn: log,
      });
      if (shutdown.signal.aborted) {
        await closeEngine(engine);
        engine = null;
      } else {
        state.ready(engine);
        log(
          `llamafile: model loaded (${engine.scheduler.slotCount} slots of ${engine.scheduler.slotContext} tokens); chat at ${url}`,
        );
        if (!options.nobrowser) openBrowser(url);
        await hooks.onReady?.({ url, port: server.addr.port });
      }
    }
  } catch (error) {
    failure = error;
    if (state.status === "loading") state.fail();
    stop("abort");
  }

  await stopped;
  if (failure === null && reason !== "abort") log(`llamafile: ${reason}: shutting down`);
  await server.shutdown();
  if (engine !== null) await closeEngine(engine);
  for (const [signal, listener] of listeners) {
    try {
      Deno.removeSignalListener(signal, listener);
    } catch {
      // never added
    }
  }
  hooks.signal?.removeEventListener("abort", onAbort);
  if (failure !== null) throw failure;
  return { reason };
}
