/**
 * Server options: llama.cpp's `llama-server` params, with its defaults and its `LLAMA_ARG_*`
 * environment variables.
 *
 * @module
 */
import { type OptionSection, UsageError } from "../option_table.ts";

/** What the server options set. */
export interface ServerCliOptions {
  server: boolean;
  /** Addresses to listen on, comma-separated (`127.0.0.1,::1`). */
  host: string;
  port: number;
  /** Slots; -1 = auto (4, with one KV cache they all share: llama.cpp's default). */
  parallel: number;
  /** API keys, comma-separated. */
  apiKey?: string;
  /** A file of API keys, one per line (`#` starts a comment line). */
  apiKeyFile?: string;
  nobrowser: boolean;
  timeout: number;
  corsOrigins: string[];
  /** `Access-Control-Allow-Methods` of a preflight. */
  corsMethods: string;
  /** `Access-Control-Allow-Headers` of a preflight. */
  corsHeaders: string;
  /** `Access-Control-Allow-Credentials` of a preflight. */
  corsCredentials: boolean;
  /** PEM private key: serve HTTPS (with `sslCertFile`). */
  sslKeyFile?: string;
  /** PEM certificate chain: serve HTTPS (with `sslKeyFile`). */
  sslCertFile?: string;
  /** Let other processes listen on the same port (`SO_REUSEPORT`). */
  reusePort: boolean;
  /** `/infill` in suffix-prefix-middle order (some models want it). */
  spmInfill: boolean;
  /** A trailing assistant message is continued (prefilled) rather than answered. */
  prefillAssistant: boolean;
  /** Serve embeddings only (`--embedding`: llama.cpp's embedding-only server). */
  embedding: boolean;
  /** Serve reranking (`--reranking`). */
  reranking: boolean;
  /** Model names, comma-separated: `/v1/models` reports them as `aliases`, the first in order as `id`. */
  alias?: string;
  /** Model tags, comma-separated (informational). */
  tags?: string;
  /** `GET /slots` (and the slot actions). */
  slots: boolean;
  /** `GET /metrics`. */
  metrics: boolean;
  /** `POST /props`. */
  props: boolean;
  /** Folder of `POST /slots/ID?action=save|restore` files. */
  slotSavePath?: string;
  /** The chat page at `/`. */
  ui: boolean;
  /** A folder of static files served at `/` instead of the chat page. */
  staticPath?: string;
  /** A prefix every route is served under (`/api` → `/api/v1/models`). */
  apiPrefix: string;
  /** Prompt caching, the default of a request's `cache_prompt`. */
  cachePrompt: boolean;
  /** Seconds of idleness before the server frees the model's context; -1 = never. */
  sleepIdleSeconds: number;
}

function apiPrefix(raw: string, name: string): string {
  if (raw === "") return "";
  if (!raw.startsWith("/") || raw.endsWith("/") || /[?#\s]/.test(raw)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected a path such as /api (a leading slash, no trailing one)`,
    );
  }
  return raw;
}

/** The server options. */
export const SERVER_SECTION: OptionSection<ServerCliOptions> = {
  title: "Server",
  defaults: {
    server: false,
    host: "127.0.0.1",
    port: 8080,
    parallel: -1,
    nobrowser: false,
    timeout: 600,
    corsOrigins: [],
    corsMethods: "GET, POST, DELETE, OPTIONS",
    corsHeaders: "*",
    corsCredentials: true,
    reusePort: false,
    spmInfill: false,
    prefillAssistant: true,
    embedding: false,
    reranking: false,
    slots: true,
    metrics: false,
    props: false,
    ui: true,
    apiPrefix: "",
    cachePrompt: true,
    sleepIdleSeconds: -1,
  },
  specs: [
    {
      names: ["--server"],
      key: "server",
      kind: "flag",
      help: "serve the OpenAI, Anthropic and llama.cpp APIs and the chat page",
    },
    {
      names: ["--host"],
      key: "host",
      kind: "string",
      arg: "ADDR[,ADDR]",
      env: "LLAMA_ARG_HOST",
      help: "addresses to listen on, comma-separated",
    },
    {
      names: ["--port"],
      key: "port",
      kind: "int",
      arg: "N",
      min: 0,
      max: 65535,
      env: "LLAMA_ARG_PORT",
      help: "port to listen on",
    },
    {
      names: ["-np", "--parallel"],
      key: "parallel",
      kind: "int",
      arg: "N",
      min: -1,
      max: 64,
      env: "LLAMA_ARG_N_PARALLEL",
      help: "slots, -1 = auto (4 sharing one KV cache)",
      parse: (raw, name) => {
        const n = Number(raw);
        if (!/^-?\d+$/.test(raw.trim()) || n < -1 || n === 0 || n > 64) {
          throw new UsageError(`Invalid value "${raw}" for ${name}: expected -1 or 1 to 64`);
        }
        return n;
      },
    },
    {
      names: ["--api-key"],
      key: "apiKey",
      kind: "string",
      arg: "KEY[,KEY]",
      env: "LLAMA_API_KEY",
      help: "require one of these keys (Authorization: Bearer KEY or X-Api-Key)",
    },
    {
      names: ["--api-key-file"],
      key: "apiKeyFile",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_API_KEY_FILE",
      help: "require one of the keys in this file (one per line, # comments)",
    },
    {
      names: ["--nobrowser"],
      key: "nobrowser",
      kind: "flag",
      help: "do not open a browser when the server starts",
    },
    {
      names: ["-to", "--timeout"],
      key: "timeout",
      kind: "int",
      arg: "SECONDS",
      min: 1,
      max: 2_147_483,
      env: "LLAMA_ARG_TIMEOUT",
      help: "request timeout",
    },
    {
      names: ["--cors-origins"],
      key: "corsOrigins",
      kind: "list",
      arg: "ORIGINS",
      commaList: true,
      env: "LLAMA_ARG_CORS_ORIGINS",
      help: "origins allowed by CORS (comma-separated; * = any, localhost = loopback ones)",
      defaultText: "loopback and same-origin pages",
    },
    {
      names: ["--cors-methods"],
      key: "corsMethods",
      kind: "string",
      arg: "METHODS",
      env: "LLAMA_ARG_CORS_METHODS",
      help: "methods a CORS preflight allows",
    },
    {
      names: ["--cors-headers"],
      key: "corsHeaders",
      kind: "string",
      arg: "HEADERS",
      env: "LLAMA_ARG_CORS_HEADERS",
      help: "headers a CORS preflight allows",
    },
    {
      names: ["--cors-credentials"],
      key: "corsCredentials",
      kind: "flag",
      env: "LLAMA_ARG_CORS_CREDENTIALS",
      help: "a CORS preflight allows credentials (default: on)",
    },
    {
      names: ["--no-cors-credentials"],
      key: "corsCredentials",
      kind: "flag",
      value: false,
      help: "a CORS preflight does not allow credentials",
    },
    {
      names: ["--ssl-key-file"],
      key: "sslKeyFile",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_SSL_KEY_FILE",
      help: "PEM private key: serve HTTPS (with --ssl-cert-file)",
    },
    {
      names: ["--ssl-cert-file"],
      key: "sslCertFile",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_SSL_CERT_FILE",
      help: "PEM certificate: serve HTTPS (with --ssl-key-file)",
    },
    {
      names: ["--reuse-port"],
      key: "reusePort",
      kind: "flag",
      env: "LLAMA_ARG_REUSE_PORT",
      help: "let other processes listen on the same port (SO_REUSEPORT)",
    },
    {
      names: ["--spm-infill"],
      key: "spmInfill",
      kind: "flag",
      help: "/infill in suffix-prefix-middle order (some models want it)",
    },
    {
      names: ["--prefill-assistant"],
      key: "prefillAssistant",
      kind: "flag",
      env: "LLAMA_ARG_PREFILL_ASSISTANT",
      help: "continue a trailing assistant message instead of answering it (default: on)",
    },
    {
      names: ["--no-prefill-assistant"],
      key: "prefillAssistant",
      kind: "flag",
      value: false,
      help: "answer after a trailing assistant message",
    },
    {
      names: ["--embedding", "--embeddings"],
      key: "embedding",
      kind: "flag",
      env: "LLAMA_ARG_EMBEDDINGS",
      help: "serve embeddings only (an embedding model: no completions)",
    },
    {
      names: ["--rerank", "--reranking"],
      key: "reranking",
      kind: "flag",
      env: "LLAMA_ARG_RERANKING",
      help: "serve /rerank (a reranker model)",
    },
    {
      names: ["-a", "--alias"],
      key: "alias",
      kind: "string",
      arg: "NAME[,NAME]",
      env: "LLAMA_ARG_ALIAS",
      help: "model names /v1/models reports (comma-separated)",
    },
    {
      names: ["--tags"],
      key: "tags",
      kind: "string",
      arg: "TAG[,TAG]",
      env: "LLAMA_ARG_TAGS",
      help: "model tags /v1/models reports (comma-separated)",
    },
    {
      names: ["--slots"],
      key: "slots",
      kind: "flag",
      env: "LLAMA_ARG_ENDPOINT_SLOTS",
      help: "serve GET /slots and the slot actions",
      defaultText: "on",
    },
    {
      names: ["--no-slots"],
      key: "slots",
      kind: "flag",
      value: false,
      help: "answer GET /slots with 501",
    },
    {
      names: ["--metrics"],
      key: "metrics",
      kind: "flag",
      env: "LLAMA_ARG_ENDPOINT_METRICS",
      help: "serve the Prometheus metrics at GET /metrics (otherwise 501)",
    },
    {
      names: ["--props"],
      key: "props",
      kind: "flag",
      env: "LLAMA_ARG_ENDPOINT_PROPS",
      help: "let POST /props change the default generation settings",
    },
    {
      names: ["--slot-save-path"],
      key: "slotSavePath",
      kind: "string",
      arg: "PATH",
      help: "folder of POST /slots/ID?action=save|restore files (names only, no paths)",
    },
    {
      names: ["--ui", "--webui"],
      key: "ui",
      kind: "flag",
      env: "LLAMA_ARG_UI",
      help: "serve the chat page at /",
      defaultText: "on",
    },
    {
      names: ["--no-ui", "--no-webui"],
      key: "ui",
      kind: "flag",
      value: false,
      help: "no chat page (/ answers 404)",
    },
    {
      names: ["--path"],
      key: "staticPath",
      kind: "string",
      arg: "PATH",
      env: "LLAMA_ARG_STATIC_PATH",
      help: "serve the files of this folder at / instead of the chat page (read at start)",
    },
    {
      names: ["--api-prefix"],
      key: "apiPrefix",
      kind: "string",
      arg: "PREFIX",
      env: "LLAMA_ARG_API_PREFIX",
      parse: apiPrefix,
      help: "serve every route under this path prefix (e.g. /api)",
    },
    {
      names: ["--cache-prompt"],
      key: "cachePrompt",
      kind: "flag",
      env: "LLAMA_ARG_CACHE_PROMPT",
      help: "reuse a slot's cached prompt prefix (a request's cache_prompt default)",
      defaultText: "on",
    },
    {
      names: ["--no-cache-prompt"],
      key: "cachePrompt",
      kind: "flag",
      value: false,
      help: "evaluate every prompt whole unless a request asks for cache_prompt",
    },
    {
      names: ["--sleep-idle-seconds"],
      key: "sleepIdleSeconds",
      kind: "int",
      arg: "SECONDS",
      min: -1,
      help:
        "free the contexts (KV cache) after this many idle seconds (the next request rebuilds them), -1 = never",
    },
  ],
};
