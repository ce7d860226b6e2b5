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
import {
  closeEngine,
  createEngine,
  type Engine,
  IdleSleeper,
  ServerState,
} from "./api/server_state.ts";
import { DirectSlotFiles, HelperSlotFiles, type SlotFiles } from "./api/slot_files.ts";
import { type ChatOptions, DEFAULT_CHAT_OPTIONS } from "./api/chat_turn.ts";
import { createApp } from "./app.ts";
import { ropeFromFlags } from "../engine/context.ts";
import { defaultTemplateKwargs } from "../engine/chat_template.ts";
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
  /** Model names, comma-separated (`--alias`). */
  alias?: string;
  /** Model tags, comma-separated (`--tags`). */
  tags?: string;
  /** Addresses to listen on, comma-separated. */
  host: string;
  port: number;
  /** API keys, comma-separated. */
  apiKey?: string;
  /** A file of API keys, one per line (read before the sandbox). */
  apiKeyFile?: string;
  corsOrigins: readonly string[];
  corsMethods?: string;
  corsHeaders?: string;
  corsCredentials?: boolean;
  /** TLS: PEM key and certificate files (read before the sandbox). */
  sslKeyFile?: string;
  sslCertFile?: string;
  reusePort?: boolean;
  /** `GET /slots` and the slot actions (default on). */
  slots?: boolean;
  /** `GET /metrics` (default off). */
  metrics?: boolean;
  /** `POST /props` (default off). */
  props?: boolean;
  /** Free the contexts after this many idle seconds (-1 never). */
  sleepIdleSeconds?: number;
  /** The chat page (default on). */
  ui?: boolean;
  /** A folder of files served at `/` (read before the sandbox). */
  staticPath?: string;
  /** Every route under this prefix. */
  apiPrefix?: string;
  /** Folder of slot files (`--slot-save-path`). */
  slotSavePath?: string;
  /** `--unsecure`: slot files are read and written in-process. */
  unsecure?: boolean;
  /** A request's `cache_prompt` default. */
  cachePrompt?: boolean;
  /** `--verbose`: answers carry llama.cpp's `__verbose` object. */
  verbose?: boolean;
  spmInfill?: boolean;
  prefillAssistant?: boolean;
  /** `--chat-template-file`. */
  chatTemplateFile?: string;
  /** Engine settings of the context options section (RoPE and YaRN as `RopeFlags`). */
  kvUnified?: boolean;
  kvUnifiedPerSlot?: number;
  contextShift?: boolean;
  keep?: number;
  pooling?: number;
  embdNormalize?: number;
  cacheTypeK?: number;
  cacheTypeV?: number;
  swaFull?: boolean;
  ropeScaling?: number;
  ropeFreqBase?: number;
  ropeFreqScale?: number;
  yarnOrigCtx?: number;
  yarnExtFactor?: number;
  yarnAttnFactor?: number;
  yarnBetaSlow?: number;
  yarnBetaFast?: number;
  lora?: readonly { path: string; scale: number }[];
  loraInitWithoutApply?: boolean;
  reranking?: boolean;
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
  /** `--reasoning-format`. */
  reasoningFormat?: ChatOptions["reasoningFormat"];
  /** `--reasoning`. */
  reasoning?: ChatOptions["reasoning"];
  /** `--reasoning-budget`. */
  reasoningBudget?: number;
  /** `--reasoning-budget-message`. */
  reasoningBudgetMessage?: string;
  /** `--chat-template-kwargs`, `--reasoning-effort`, `--reasoning-preserve`. */
  chatTemplateKwargs?: Record<string, unknown>;
  reasoningEffort?: string;
  reasoningPreserve?: boolean;
  /** `--skip-chat-parsing`. */
  skipChatParsing?: boolean;
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

/** The media types of the files `--path` serves, by extension. */
const MEDIA_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  webmanifest: "application/manifest+json",
  wasm: "application/wasm",
};

/** The most bytes `--path` reads (the files are held in memory: the sandbox forbids opens). */
export const MAX_STATIC_BYTES = 256 * 2 ** 20;

/** Reads the files under `dir` (recursively) for `--path`, keyed by URL path. */
export async function readStaticFiles(
  dir: string,
): Promise<Map<string, { body: Uint8Array; type: string }>> {
  const files = new Map<string, { body: Uint8Array; type: string }>();
  let total = 0;
  const walk = async (folder: string, prefix: string) => {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.startsWith(".")) continue;
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path, `${prefix}/${entry.name}`);
      else if (entry.isFile) {
        const body = await Deno.readFile(path);
        total += body.length;
        if (total > MAX_STATIC_BYTES) {
          throw new Error(`Cannot serve --path "${dir}": its files are larger than 256 MiB`);
        }
        const ext = entry.name.split(".").pop()?.toLowerCase() ?? "";
        files.set(`${prefix}/${entry.name}`, {
          body,
          type: MEDIA_TYPES[ext] ?? "application/octet-stream",
        });
      }
    }
  };
  try {
    await walk(dir, "");
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new Error(`Cannot serve --path "${dir}": ${(cause as Error).message}`, { cause });
  }
  return files;
}

/** Model names: the `--alias` list sorted (llama.cpp keeps a set), the first being the id. */
export function aliasList(alias: string | undefined): string[] {
  if (alias === undefined) return [];
  return [...new Set(alias.split(",").map((a) => a.trim()).filter((a) => a !== ""))].sort();
}

/** `--host a,b`: the addresses, each once. */
export function hostList(host: string): string[] {
  const hosts = [...new Set(host.split(",").map((h) => h.trim()).filter((h) => h !== ""))];
  return hosts.length > 0 ? hosts : ["127.0.0.1"];
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
  // Files the command line names are read now, while the process may still open files.
  const keys = await apiKeys(options);
  const staticFiles = options.staticPath === undefined
    ? undefined
    : await readStaticFiles(options.staticPath);
  const tls = await tlsFiles(options);
  const aliases = aliasList(options.alias);
  const state = new ServerState({
    modelName: aliases[0] ??
      (options.model !== undefined ? baseName(options.model) : "llamafile"),
    aliases,
    tags: (options.tags ?? "").split(",").map((t) => t.trim()).filter((t) => t !== ""),
    defaults: serverDefaults(options, pickSampling(options)),
    startedAt: Math.floor(Date.now() / 1000),
    spmInfill: options.spmInfill ?? false,
    prefillAssistant: options.prefillAssistant ?? true,
    chat: {
      reasoningFormat: options.reasoningFormat ?? DEFAULT_CHAT_OPTIONS.reasoningFormat,
      reasoning: options.reasoning ?? DEFAULT_CHAT_OPTIONS.reasoning,
      reasoningBudget: options.reasoningBudget ?? DEFAULT_CHAT_OPTIONS.reasoningBudget,
      reasoningBudgetMessage: options.reasoningBudgetMessage ??
        DEFAULT_CHAT_OPTIONS.reasoningBudgetMessage,
      templateKwargs: defaultTemplateKwargs(options),
      pureContent: options.skipChatParsing ?? DEFAULT_CHAT_OPTIONS.pureContent,
    },
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
  const hosts = hostList(options.host);
  const app = createApp({
    state,
    options: {
      ...(keys.length > 0 && { apiKey: keys }),
      corsOrigins: options.corsOrigins,
      cors: {
        ...(options.corsMethods !== undefined && { methods: options.corsMethods }),
        ...(options.corsHeaders !== undefined && { headers: options.corsHeaders }),
        ...(options.corsCredentials !== undefined && { credentials: options.corsCredentials }),
      },
      endpoints: {
        slots: options.slots ?? true,
        metrics: options.metrics ?? false,
        props: options.props ?? false,
        ui: options.ui ?? true,
      },
      ...(staticFiles !== undefined && { staticFiles }),
      ...(options.apiPrefix !== undefined && options.apiPrefix !== "" &&
        { apiPrefix: options.apiPrefix }),
      allowedHosts: hosts,
      timeoutMs: options.timeout * 1000,
      shutdown: shutdown.signal,
      ...(options.mmproj !== undefined && { bodyLimit: VISION_BODY_LIMIT }),
      ...(!options.logDisable && { requestLog: log }),
    },
  });

  // Slot files: a folder checked now, and (sandboxed) a helper started before the sandbox
  // forbids running programs.
  let slotFiles: SlotFiles | null = null;
  if (options.slotSavePath !== undefined) {
    const dir = options.slotSavePath.replace(/(.)\/+$/, "$1");
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(dir);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      throw new Error(`Cannot use --slot-save-path "${dir}": ${(cause as Error).message}`, {
        cause,
      });
    }
    if (!info.isDirectory) throw new Error(`Cannot use --slot-save-path "${dir}": not a directory`);
    slotFiles = options.unsecure ? new DirectSlotFiles(dir) : HelperSlotFiles.start(dir);
    state.config.slotFiles = slotFiles;
  }

  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  let port = options.port;
  try {
    for (const hostname of hosts) {
      const server = Deno.serve({
        hostname,
        port,
        ...(options.reusePort && { reusePort: true }),
        ...tls,
        onListen() {},
      }, app.fetch);
      servers.push(server);
      port = server.addr.port;
    }
  } catch (cause) {
    for (const server of servers) await server.shutdown();
    await slotFiles?.close();
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new Error(
      `Cannot listen on ${options.host}:${options.port}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const server = servers[0]!;
  const scheme = tls.cert !== undefined ? "https" : "http";
  const url = `${scheme}://${urlHost(hosts[0]!)}:${server.addr.port}${options.apiPrefix ?? ""}/`;
  for (const hostname of hosts) {
    log(`llamafile: listening on ${scheme}://${urlHost(hostname)}:${server.addr.port}/`);
  }

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
    if (hooks.sampling) state.config.defaults = serverDefaults(options, await hooks.sampling());
    if (typeof model === "function") owned = model();
    const given = typeof model === "function" ? owned! : model;
    const loaded = await Promise.race([given, stopped.then(() => null)]);
    if (loaded !== null && !shutdown.signal.aborted) {
      if (aliases.length === 0) state.config.modelName = baseName(loaded.path);
      if (hooks.projector) projector = await hooks.projector(loaded);
      engine = await createEngine(loaded, { ...engineOptions(options, log), projector });
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
        if ((options.sleepIdleSeconds ?? -1) > 0) {
          state.sleeper = new IdleSleeper(
            state,
            options.sleepIdleSeconds!,
            (asleep) =>
              createEngine(loaded, {
                ...engineOptions(options, log),
                projector,
                loraAdapters: asleep.lora,
              }),
            log,
          );
        }
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
  for (const s of servers) await s.shutdown();
  await slotFiles?.close();
  state.sleeper?.close();
  // After a sleep the state holds the rebuilt engine (the first one's contexts are freed).
  const last = state.lastEngine ?? engine;
  if (last !== null) await closeEngine(last);
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

/** The generation defaults of the server: the command line's sampling, length and caching. */
function serverDefaults(options: ServerSettings, sampling: SamplingOptions) {
  return {
    ...sampling,
    maxTokens: options.nPredict,
    ...(options.cachePrompt !== undefined && { cachePrompt: options.cachePrompt }),
    ...(options.keep !== undefined && { keep: options.keep }),
    ...(options.verbose && { verbose: true }),
  };
}

/** The keys of `--api-key` and `--api-key-file`. */
async function apiKeys(options: ServerSettings): Promise<string[]> {
  const keys = (options.apiKey ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  if (options.apiKeyFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(options.apiKeyFile);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      throw new Error(
        `Cannot read --api-key-file "${options.apiKeyFile}": ${(cause as Error).message}`,
        { cause },
      );
    }
    keys.push(...parseApiKeyLines(text));
    if (keys.length === 0) {
      throw new Error(`Cannot use --api-key-file "${options.apiKeyFile}": it holds no key`);
    }
  }
  return keys;
}

/** One key per line; blank lines and lines starting with `#` skipped. */
export function parseApiKeyLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

/** `--ssl-key-file` and `--ssl-cert-file`, read for `Deno.serve`. */
async function tlsFiles(options: ServerSettings): Promise<{ cert?: string; key?: string }> {
  if (options.sslKeyFile === undefined && options.sslCertFile === undefined) return {};
  if (options.sslKeyFile === undefined || options.sslCertFile === undefined) {
    throw new Error("Cannot serve HTTPS: give both --ssl-key-file and --ssl-cert-file");
  }
  const read = async (path: string, what: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      throw new Error(`Cannot read ${what} "${path}": ${(cause as Error).message}`, { cause });
    }
  };
  return {
    key: await read(options.sslKeyFile, "--ssl-key-file"),
    cert: await read(options.sslCertFile, "--ssl-cert-file"),
  };
}

/** The engine settings of the command line. */
function engineOptions(
  options: ServerSettings,
  warn: (line: string) => void,
): import("./api/server_state.ts").EngineOptions {
  const rope = ropeFromFlags(options);
  const template = options.chatTemplateFile ?? options.chatTemplate;
  return {
    ...(options.contextSize !== undefined && { contextSize: options.contextSize }),
    parallel: options.parallel,
    batchSize: options.batchSize,
    ubatchSize: options.ubatchSize,
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
    poll: options.poll,
    ...(template !== undefined && { chatTemplate: template }),
    eagerEmbeddings: options.embedding,
    embeddingsOnly: options.embedding,
    ...(options.reranking && { reranking: true }),
    ...(options.kvUnified !== undefined && { kvUnified: options.kvUnified }),
    ...(options.kvUnifiedPerSlot !== undefined && { perSlotLimit: options.kvUnifiedPerSlot }),
    ...(options.contextShift !== undefined && { contextShift: options.contextShift }),
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
    ...(options.offloadKqv !== undefined && { offloadKqv: options.offloadKqv }),
    ...(options.cacheTypeK !== undefined && { cacheTypeK: options.cacheTypeK }),
    ...(options.cacheTypeV !== undefined && { cacheTypeV: options.cacheTypeV }),
    ...(options.swaFull !== undefined && { swaFull: options.swaFull }),
    ...(rope !== undefined && { rope }),
    ...(options.pooling !== undefined && { pooling: options.pooling }),
    ...(options.embdNormalize !== undefined && { embdNormalize: options.embdNormalize }),
    ...(options.lora !== undefined && { lora: options.lora }),
    ...(options.loraInitWithoutApply && { loraInitWithoutApply: true }),
    warn,
  };
}
