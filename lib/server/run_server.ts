/**
 * Runs the server: listens with `Deno.serve` before the model has loaded (`/health` answers 503
 * meanwhile), builds the engine, hands over to the sandbox (`onReady`), then serves until
 * SIGINT or SIGTERM.
 *
 * @module
 */
import type { LlamaModel } from "../engine/model.ts";
import type { Projector } from "../engine/projector.ts";
import { pickSampling, type SamplingOptions } from "../engine/sampler.ts";
import { closeEngine, createEngine, type Engine, ServerState } from "./api/server_state.ts";
import { createApp } from "./app.ts";
import { openBrowser } from "./browser.ts";
import { isWildcard } from "./middleware/loopback.ts";
import { trainedContextWarning } from "../util/trained_context_warning.ts";

/**
 * What the server runs with: the command line's fields it reads (`CliOptions` has them under
 * the same names), sampling defaults included, the grammar already read.
 */
export interface ServerSettings extends SamplingOptions {
  /** The `-m` path, whose base name `/v1/models` reports unless `alias` is set. */
  model?: string;
  alias?: string;
  host: string;
  port: number;
  apiKey?: string;
  corsOrigins: readonly string[];
  /** Seconds a request may take. */
  timeout: number;
  /** Tokens to generate when a request names no limit; -1 = until EOG or a full slot. */
  nPredict: number;
  /** `-c`; unset: 4096, or the model's trained context when that is smaller. */
  contextSize?: number;
  parallel: number;
  batchSize: number;
  ubatchSize: number;
  threads?: number;
  threadsBatch?: number;
  poll: number;
  /** Flash attention on or off (absent: libllama's auto). */
  flashAttention?: boolean;
  /** Keep the KV cache on the GPU the layers went to (`--no-kv-offload` turns it off). */
  offloadKqv?: boolean;
  chatTemplate?: string;
  /** Create the embeddings context at start-up. */
  embedding: boolean;
  nobrowser: boolean;
  /** `--log-disable`: no request log, no warnings. */
  logDisable?: boolean;
  /** `--mmproj`: requests may carry images (a larger body limit); see `RunServerHooks.projector`. */
  mmproj?: string;
}

/** The body limit of a server with a projector: requests carry images as base64. */
export const VISION_BODY_LIMIT = 64 * 1024 * 1024;

/** Hooks of {@linkcode runServer}. */
export interface RunServerHooks {
  /**
   * Called once the listener is open and the browser was started, before the model is loaded
   * (a loader function is called only after it): the place for the sandbox's first stage. A
   * throw shuts the server down.
   */
  onListening?: (info: { url: string; port: number }) => void | Promise<void>;
  /**
   * The sampling defaults, resolved after `onListening` (a grammar file or JSON schema is read
   * and converted inside the sandbox); default: the sampling fields of the settings.
   */
  sampling?: () => Promise<SamplingOptions>;
  /**
   * Called once the model is loaded, the contexts exist and the browser was started:
   * the place to apply the sandbox. A throw shuts the server down.
   */
  onReady?: (info: { url: string; port: number }) => void | Promise<void>;
  /**
   * Loads the multimodal projector for the model once it is loaded (in the sandbox's first
   * stage, like the model); the server closes it on shutdown.
   */
  projector?: (model: LlamaModel) => Promise<Projector>;
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
 * Listens on `--host`/`--port`, opens the browser unless `--nobrowser`, calls
 * `hooks.onListening`, then builds the engine on `model` (a model, the promise of one, or a
 * loader called now; the server answers `/health` with 503 until it is ready) and calls
 * `hooks.onReady`; serves until SIGINT/SIGTERM (or `hooks.signal`): in-flight generations are
 * aborted, the listener drains, the contexts are freed. A model passed in is the caller's to
 * close; one a loader made is closed here. A failed load or engine start shuts down and
 * rethrows.
 */
export async function runServer(
  model: LlamaModel | Promise<LlamaModel> | (() => Promise<LlamaModel>),
  options: ServerSettings,
  hooks: RunServerHooks = {},
): Promise<ServerExit> {
  const log = hooks.log ?? ((line: string) => console.error(line));
  const state = new ServerState({
    modelName: options.alias ??
      (options.model !== undefined ? baseName(options.model) : "llamafile"),
    defaults: { ...pickSampling(options), maxTokens: options.nPredict },
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
      ...(options.mmproj !== undefined && { bodyLimit: VISION_BODY_LIMIT }),
      ...(!options.logDisable && { requestLog: log }),
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
  let projector: Projector | null = null;
  let failure: unknown = null;
  let owned: Promise<LlamaModel> | null = null;
  try {
    // Before the sandbox forbids starting processes.
    if (!options.nobrowser) openBrowser(url);
    await hooks.onListening?.({ url, port: server.addr.port });
    if (hooks.sampling) {
      state.config.defaults = { ...(await hooks.sampling()), maxTokens: options.nPredict };
    }
    if (typeof model === "function") owned = model();
    const given = typeof model === "function" ? owned! : model;
    const loaded = await Promise.race([given, stopped.then(() => null)]);
    if (loaded !== null && !shutdown.signal.aborted) {
      if (options.alias === undefined) state.config.modelName = baseName(loaded.path);
      if (hooks.projector) projector = await hooks.projector(loaded);
      engine = await createEngine(loaded, {
        projector,
        ...(options.contextSize !== undefined && { contextSize: options.contextSize }),
        parallel: options.parallel,
        batchSize: options.batchSize,
        ubatchSize: options.ubatchSize,
        ...(options.threads !== undefined && { threads: options.threads }),
        ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
        poll: options.poll,
        ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
        ...(options.offloadKqv !== undefined && { offloadKqv: options.offloadKqv }),
        ...(options.chatTemplate !== undefined && { chatTemplate: options.chatTemplate }),
        eagerEmbeddings: options.embedding,
        warn: log,
      });
      if (shutdown.signal.aborted) {
        await closeEngine(engine);
        engine = null;
      } else {
        state.ready(engine);
        const warning = trainedContextWarning(
          engine.scheduler.slotContext,
          loaded.trainedContext,
        );
        if (warning !== null && !options.logDisable) log(`llamafile: ${warning}`);
        log(
          `llamafile: model loaded (${engine.scheduler.slotCount} slots of ${engine.scheduler.slotContext} tokens); chat at ${url}`,
        );
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
  projector?.close();
  for (const [signal, listener] of listeners) {
    try {
      Deno.removeSignalListener(signal, listener);
    } catch {
      // never added
    }
  }
  hooks.signal?.removeEventListener("abort", onAbort);
  (await owned?.catch(() => null))?.close();
  if (failure !== null) throw failure;
  return { reason };
}
