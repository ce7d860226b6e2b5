/**
 * Common options (llama.cpp's "common params"): the model, context, threads, loading, logs.
 *
 * @module
 */
import { CONTEXT_DEFAULTS } from "../../engine/context.ts";
import { LOAD_DEFAULTS } from "../../engine/model.ts";
import { type OptionSection, UNSET, UsageError } from "../option_table.ts";

/** What the common options set. */
export interface CommonOptions {
  model?: string;
  /** Tokens to generate; -1 = until end of generation or a full context. */
  nPredict: number;
  /** Not given: 4096, or the model's trained context when that is smaller. */
  contextSize?: number;
  batchSize: number;
  ubatchSize: number;
  threads?: number;
  threadsBatch?: number;
  poll: number;
  mmap: boolean;
  mlock: boolean;
  repack: boolean;
  /** `--rpc`: `host:port` of each `rpc-server` worker that takes model layers. */
  rpc: string[];
  chatTemplate?: string;
  /** `--chat-template-file`: a Jinja file (read before the sandbox). */
  chatTemplateFile?: string;
  /** Chat templates through the Jinja engine (llama.cpp's `--jinja`, its default). */
  jinja: boolean;
  mmproj?: string;
  /** Images for the prompt (`--image`, repeatable), in order. */
  image: string[];
  /** Put the projector on a GPU when there is one (`--no-mmproj-offload` turns it off). */
  mmprojOffload: boolean;
  verbose: boolean;
  logDisable: boolean;
  help: boolean;
  version: boolean;
  buildNative: boolean;
}

/**
 * Checks one `--rpc` worker address: an IPv4 address or host name, a colon, a port from 1 to
 * 65535 (what ggml's RPC client can reach: it splits at the first colon, so no IPv6).
 *
 * @throws {UsageError} On anything else.
 */
export function parseRpcEndpoint(raw: string, name: string): string {
  const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected HOST:PORT (an IPv4 address or host name, a port from 1 to 65535)`,
    );
  }
  return raw;
}

/** The common options. */
export const COMMON_SECTION: OptionSection<CommonOptions> = {
  title: "Common",
  defaults: {
    nPredict: -1,
    ...CONTEXT_DEFAULTS,
    // Unset unless given: the engine's default then stays within the trained context.
    contextSize: undefined,
    ...LOAD_DEFAULTS,
    rpc: [],
    jinja: true,
    image: [],
    mmprojOffload: true,
    verbose: false,
    logDisable: false,
    help: false,
    version: false,
    buildNative: false,
  },
  specs: [
    { names: ["-h", "--help"], key: "help", kind: "flag", help: "show this help and exit" },
    { names: ["--version"], key: "version", kind: "flag", help: "show the version and exit" },
    {
      names: ["--build-native"],
      key: "buildNative",
      kind: "flag",
      help:
        "build ggml's CPU backend for this machine from llama.cpp's source (needs cmake, a C/C++ compiler, git and npm), check that it writes the prebuilt one's greedy text for -m MODEL, use it from then on, and exit",
    },
    {
      names: ["-m", "--model"],
      key: "model",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_MODEL",
      help: "model path (GGUF or llamafile); inside a llamafile, the default is its own weights",
    },
    {
      names: ["-n", "--n-predict", "--predict"],
      key: "nPredict",
      kind: "int",
      arg: "N",
      env: "LLAMA_ARG_N_PREDICT",
      min: -1,
      help: "tokens to predict, -1 = until end of text or a full context",
    },
    {
      names: ["-c", "--ctx-size"],
      key: "contextSize",
      kind: "int",
      arg: "N",
      env: "LLAMA_ARG_CTX_SIZE",
      min: 0,
      max: 1 << 24,
      help: "context size in tokens, 0 = the model's trained context",
      defaultText: `${CONTEXT_DEFAULTS.contextSize}, or the trained context when smaller`,
    },
    {
      names: ["-b", "--batch-size"],
      key: "batchSize",
      kind: "int",
      arg: "N",
      env: "LLAMA_ARG_BATCH",
      min: 1,
      max: 1 << 24,
      help: "logical batch size for prompt processing",
    },
    {
      names: ["-ub", "--ubatch-size"],
      key: "ubatchSize",
      kind: "int",
      arg: "N",
      env: "LLAMA_ARG_UBATCH",
      min: 1,
      max: 1 << 24,
      help: "physical batch size",
    },
    {
      names: ["-t", "--threads"],
      key: "threads",
      kind: "int",
      arg: "N",
      env: "LLAMA_ARG_THREADS",
      min: 1,
      max: 512,
      help: "threads for generation",
      defaultText: "physical cores not kept busy by other processes",
    },
    {
      names: ["-tb", "--threads-batch"],
      key: "threadsBatch",
      kind: "int",
      arg: "N",
      min: 1,
      max: 512,
      help: "threads for prompt processing",
      defaultText: "same as --threads",
    },
    {
      names: ["--poll"],
      key: "poll",
      kind: "int",
      arg: "0..100",
      min: 0,
      max: 100,
      help: "how hard idle worker threads spin, 0 = sleep",
    },
    {
      names: ["--no-mmap"],
      key: "mmap",
      kind: "flag",
      value: false,
      help: "read the weights into memory instead of mapping them",
    },
    { names: ["--mlock"], key: "mlock", kind: "flag", help: "lock the weights in RAM" },
    {
      names: ["-nr", "--no-repack"],
      key: "repack",
      kind: "flag",
      value: false,
      help: "do not repack weights (less memory, slower prompts)",
    },
    {
      names: ["--rpc"],
      key: "rpc",
      kind: "list",
      arg: "HOST:PORT,...",
      commaList: true,
      parse: parseRpcEndpoint,
      help: "rpc-server workers that take the model's layers (connected before the sandbox)",
    },
    {
      names: ["--repack"],
      key: "repack",
      kind: "flag",
      env: "LLAMA_ARG_REPACK",
      help: "repack weights for faster prompts (default: on)",
    },
    {
      names: ["--chat-template"],
      key: "chatTemplate",
      kind: "string",
      arg: "NAME|FILE",
      env: "LLAMA_ARG_CHAT_TEMPLATE",
      help: "override the model's chat template (chatml, llama2, llama3, ... or a Jinja file)",
    },
    {
      names: ["--chat-template-file"],
      key: "chatTemplateFile",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_CHAT_TEMPLATE_FILE",
      help: "override the model's chat template with this Jinja file",
    },
    {
      names: ["--jinja"],
      key: "jinja",
      kind: "flag",
      env: "LLAMA_ARG_JINJA",
      help: "render chat templates with the Jinja engine (default: on)",
    },
    {
      names: ["--no-jinja"],
      key: "jinja",
      kind: "flag",
      value: false,
      note: "chat templates are rendered with Jinja here (built-in names have Jinja sources)",
      help: "llama.cpp's built-in templates instead of Jinja",
    },
    {
      names: ["-mm", "--mmproj"],
      key: "mmproj",
      kind: "string",
      arg: "FNAME",
      env: "LLAMA_ARG_MMPROJ",
      help: "multimodal projector of the model (GGUF): images in the CLI and the server",
    },
    {
      names: ["--no-mmproj"],
      key: "mmproj",
      kind: "flag",
      value: UNSET,
      help: "load no projector, not even one the llamafile's .args name",
    },
    {
      names: ["--image"],
      key: "image",
      kind: "list",
      arg: "FNAME",
      help:
        "image for the prompt (JPEG, PNG, GIF, BMP, ...; repeatable): put at each <__media__> in the prompt, else before it; needs --mmproj",
    },
    {
      names: ["--mmproj-offload"],
      key: "mmprojOffload",
      kind: "flag",
      env: "LLAMA_ARG_MMPROJ_OFFLOAD",
      help: "put the projector on the GPU when there is one",
      defaultText: "on",
    },
    {
      names: ["--no-mmproj-offload"],
      key: "mmprojOffload",
      kind: "flag",
      value: false,
      help: "keep the projector on the CPU when there is a GPU",
    },
    {
      names: ["--verbose", "-v", "--log-verbose"],
      key: "verbose",
      kind: "flag",
      help: "show libllama's log and, on failure, the cause chain",
    },
    {
      names: ["--log-disable"],
      key: "logDisable",
      kind: "flag",
      help: "print nothing on stderr but errors (no timings line)",
    },
  ],
};
