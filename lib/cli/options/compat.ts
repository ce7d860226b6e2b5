/**
 * The rest of llama.cpp's `llama-server` options: accepted where they cannot do anything here
 * (one note on stderr says so), refused with one line where they name a feature this program
 * does not have. Scripts written for `llama-server` then either run or say why not.
 *
 * @module
 */
import type { OptionSection, OptionSpec } from "../option_table.ts";

/** What the compatibility options set. */
export interface CompatCliOptions {
  /** The value of an accepted option that does nothing here. */
  ignored?: unknown;
  /** Notes of the accepted options that do nothing here, one line each. */
  notes: string[];
}

type Spec = OptionSpec<CompatCliOptions>;

/** An option accepted with a note: `arg` for one that takes a value. */
function noted(names: string[], note: string, arg?: string, env?: string): Spec {
  return {
    names,
    key: "ignored",
    kind: arg === undefined ? "flag" : "string",
    ...(arg !== undefined && { arg }),
    ...(env !== undefined && { env }),
    note,
    help: `accepted; ${note}`,
  };
}

/** An option accepted silently: what llama.cpp does by it is what happens here anyway. */
function same(names: string[], help: string, arg?: string, env?: string): Spec {
  return {
    names,
    key: "ignored",
    kind: arg === undefined ? "flag" : "string",
    ...(arg !== undefined && { arg }),
    ...(env !== undefined && { env }),
    help,
  };
}

/** An option refused with `reason`. */
function refused(names: string[], reason: string, arg?: string, env?: string): Spec {
  return {
    names,
    key: "ignored",
    kind: arg === undefined ? "flag" : "string",
    ...(arg !== undefined && { arg }),
    ...(env !== undefined && { env }),
    refuse: reason,
    help: `refused: ${reason}`,
  };
}

const CPU_ONLY = "llamafile.ts places weights with -ngl, -ot and --gpu only; this option is " +
  "ignored";
const NO_DOWNLOAD =
  "llamafile runs local files only and downloads nothing: pass -m FILE (or run a .llamafile)";
const ROUTER = "llama-server's model router (several models loaded on demand) is not part of " +
  "llamafile: run one server per model";
const AGENT = "llama-server's built-in agent tools, MCP servers and CORS proxy are not part of " +
  "llamafile";
const SAMPLERS = "this sampler is not available here (the chain is logit bias, penalties, " +
  "top-k, typical, top-p, min-p, temperature, or mirostat)";
const SPEC = "speculative decoding is not available in llamafile.ts yet";
const INTERACTIVE = "llama-completion's interactive mode is not here: --chat (-cnv) chats, " +
  "-p completes";
const VIDEO_AUDIO = "only images are read here (--image, --mmproj); audio and video are not";

/** The compatibility options. */
export const COMPAT_SECTION: OptionSection<CompatCliOptions> = {
  title: "llama-server compatibility",
  defaults: { notes: [] },
  specs: [
    same(["--offline"], "accepted; nothing is ever downloaded", undefined, "LLAMA_ARG_OFFLINE"),
    same(
      ["-cb", "--cont-batching"],
      "accepted; slots are always batched together",
      undefined,
      "LLAMA_ARG_CONT_BATCHING",
    ),
    noted(["-nocb", "--no-cont-batching"], "continuous batching is always on here"),
    same(["--no-warmup"], "accepted; there is no warm-up run"),
    noted(["--warmup"], "there is no warm-up run here"),
    noted(
      ["--threads-http"],
      "requests are served on one event loop, so it does nothing here",
      "N",
      "LLAMA_ARG_THREADS_HTTP",
    ),
    noted(
      ["--cache-reuse"],
      "slots reuse their cached prompt prefix only; chunk reuse by KV shifting is not done",
      "N",
      "LLAMA_ARG_CACHE_REUSE",
    ),
    noted(
      ["-cram", "--cache-ram"],
      "there is no host-memory prompt cache here: each slot keeps its own prefix",
      "MiB",
      "LLAMA_ARG_CACHE_RAM",
    ),
    noted(
      ["--cache-idle-slots", "--no-cache-idle-slots"],
      "there is no host-memory prompt cache here",
      undefined,
      "LLAMA_ARG_CACHE_IDLE_SLOTS",
    ),
    noted(
      ["-ctxcp", "--ctx-checkpoints", "--swa-checkpoints"],
      "no context checkpoints are kept here",
      "N",
      "LLAMA_ARG_CTX_CHECKPOINTS",
    ),
    noted(
      ["-cms", "--checkpoint-min-step"],
      "no context checkpoints are kept here",
      "N",
      "LLAMA_ARG_CHECKPOINT_MIN_SPACING_NT",
    ),
    noted(
      ["-sps", "--slot-prompt-similarity"],
      "a request goes to the free slot sharing the longest prompt prefix",
      "SIMILARITY",
    ),
    noted(
      ["--sse-ping-interval"],
      "event streams carry no keep-alive comments here",
      "SECONDS",
      "LLAMA_ARG_SSE_PING_INTERVAL",
    ),
    noted(["--perf", "--no-perf"], "timings are always measured", undefined, "LLAMA_ARG_PERF"),
    noted(["-sp", "--special"], "special tokens are shown as the request asks"),
    noted(["-dt", "--defrag-thold"], "deprecated by llama.cpp", "N", "LLAMA_ARG_DEFRAG_THOLD"),
    noted(["--numa"], "threads are placed by the OS here", "TYPE", "LLAMA_ARG_NUMA"),
    noted(["-C", "--cpu-mask"], "threads are placed by the OS here", "M"),
    noted(["-Cr", "--cpu-range"], "threads are placed by the OS here", "lo-hi"),
    noted(["--cpu-strict"], "threads are placed by the OS here", "0|1"),
    noted(["--prio"], "threads run at normal priority here", "N"),
    noted(["-Cb", "--cpu-mask-batch"], "threads are placed by the OS here", "M"),
    noted(["-Crb", "--cpu-range-batch"], "threads are placed by the OS here", "lo-hi"),
    noted(["--cpu-strict-batch"], "threads are placed by the OS here", "0|1"),
    noted(["--prio-batch"], "threads run at normal priority here", "N"),
    noted(["--poll-batch"], "--poll sets the polling of both thread pools", "0|1"),
    noted(
      ["-bs", "--backend-sampling"],
      "sampling runs on the CPU here; backend sampling is not implemented",
      undefined,
      "LLAMA_ARG_BACKEND_SAMPLING",
    ),
    noted(["--no-host"], CPU_ONLY, undefined, "LLAMA_ARG_NO_HOST"),
    noted(["--op-offload", "--no-op-offload"], CPU_ONLY),
    noted(["-cmoe", "--cpu-moe"], CPU_ONLY, undefined, "LLAMA_ARG_CPU_MOE"),
    noted(["-ncmoe", "--n-cpu-moe"], CPU_ONLY, "N", "LLAMA_ARG_N_CPU_MOE"),
    noted(["-ncffn", "--n-cpu-ffn"], CPU_ONLY, "N", "LLAMA_ARG_N_CPU_FFN"),
    noted(["-fit", "--fit"], CPU_ONLY, "on|off", "LLAMA_ARG_FIT"),
    noted(["-fitt", "--fit-target"], CPU_ONLY, "MiB,...", "LLAMA_ARG_FIT_TARGET"),
    noted(["-fitc", "--fit-ctx"], CPU_ONLY, "N", "LLAMA_ARG_FIT_CTX"),
    noted(
      ["-ngld", "--gpu-layers-draft", "--n-gpu-layers-draft", "--spec-draft-ngl"],
      CPU_ONLY,
      "N",
      "LLAMA_ARG_N_GPU_LAYERS_DRAFT",
    ),
    noted(["-devd", "--device-draft", "--spec-draft-device"], CPU_ONLY, "DEV,..."),
    noted(["-lm", "--load-mode"], "--no-mmap and --mlock choose how weights load", "MODE"),
    noted(["-lzm", "--lazy-mode"], "tensors are read as the mapping needs them", "MODE"),
    noted(["--check-tensors"], "tensor data is not checked for invalid values here"),
    noted(["--ui-config", "--webui-config"], "the chat page keeps its settings itself", "JSON"),
    noted(
      ["--ui-config-file", "--webui-config-file"],
      "the chat page keeps its settings itself",
      "PATH",
    ),
    noted(["--log-file"], "logs go to stderr", "FNAME", "LLAMA_ARG_LOG_FILE"),
    noted(["--log-colors"], "logs are coloured only on a terminal", "on|off|auto"),
    noted(["-lv", "--verbosity", "--log-verbosity"], "--verbose shows libllama's log", "N"),
    noted(["--log-prefix", "--no-log-prefix"], "log lines start with llamafile:"),
    noted(["--log-timestamps", "--no-log-timestamps"], "log lines carry no timestamps"),
    noted(["--log-jsonl", "--no-log-jsonl"], "logs are text lines"),
    refused(
      ["--media-path"],
      "local media files (file:// URLs) are not read: the sandboxed server opens no file once " +
        "ready; send images as data: URIs",
      "PATH",
      "LLAMA_ARG_MEDIA_PATH",
    ),
    refused(["-mu", "--model-url"], NO_DOWNLOAD, "URL"),
    refused(["-hf", "-hfr", "--hf-repo"], NO_DOWNLOAD, "REPO"),
    refused(["-hff", "--hf-file"], NO_DOWNLOAD, "FILE"),
    refused(["-hft", "--hf-token"], NO_DOWNLOAD, "TOKEN"),
    refused(["-dr", "--docker-repo"], NO_DOWNLOAD, "REPO"),
    refused(["-hfd", "-hfrd", "--hf-repo-draft", "--spec-draft-hf"], NO_DOWNLOAD, "REPO"),
    refused(["-mmu", "--mmproj-url"], NO_DOWNLOAD, "URL"),
    refused(["-cl", "--cache-list"], NO_DOWNLOAD),
    refused(["--embd-gemma-default"], NO_DOWNLOAD),
    refused(["--fim-qwen-1.5b-default"], NO_DOWNLOAD),
    refused(["--fim-qwen-3b-default"], NO_DOWNLOAD),
    refused(["--fim-qwen-7b-default"], NO_DOWNLOAD),
    refused(["--fim-qwen-7b-spec"], NO_DOWNLOAD),
    refused(["--fim-qwen-14b-spec"], NO_DOWNLOAD),
    refused(["--fim-qwen-30b-default"], NO_DOWNLOAD),
    refused(["--gpt-oss-20b-default"], NO_DOWNLOAD),
    refused(["--gpt-oss-120b-default"], NO_DOWNLOAD),
    refused(["--vision-gemma-4b-default"], NO_DOWNLOAD),
    refused(["--vision-gemma-12b-default"], NO_DOWNLOAD),
    refused(["--models-dir"], ROUTER, "PATH", "LLAMA_ARG_MODELS_DIR"),
    refused(["--models-preset"], ROUTER, "PATH", "LLAMA_ARG_MODELS_PRESET"),
    refused(["--models-max"], ROUTER, "N", "LLAMA_ARG_MODELS_MAX"),
    refused(["--models-autoload", "--no-models-autoload"], ROUTER),
    refused(["--tools"], AGENT, "TOOLS", "LLAMA_ARG_TOOLS"),
    refused(["--tools-runtime"], AGENT, "OPTION", "LLAMA_ARG_TOOLS_RUNTIME"),
    refused(["--mcp-servers-config"], AGENT, "PATH", "LLAMA_ARG_MCP_SERVERS_CONFIG"),
    refused(["--mcp-servers-json"], AGENT, "JSON", "LLAMA_ARG_MCP_SERVERS_JSON"),
    refused(["-ag", "--agent", "-no-ag", "--no-agent"], AGENT),
    refused(["--ui-mcp-proxy", "--webui-mcp-proxy"], AGENT),
    same(
      ["--no-ui-mcp-proxy", "--no-webui-mcp-proxy"],
      "accepted; there is no MCP proxy here",
    ),
    refused(["--samplers"], SAMPLERS, "SAMPLERS"),
    refused(["--sampler-seq", "--sampling-seq"], SAMPLERS, "SEQUENCE"),
    refused(["--top-nsigma", "--top-n-sigma"], SAMPLERS, "N"),
    refused(["--xtc-probability"], SAMPLERS, "N"),
    refused(["--xtc-threshold"], SAMPLERS, "N"),
    refused(["--dry-multiplier"], SAMPLERS, "N"),
    refused(["--dry-base"], SAMPLERS, "N"),
    refused(["--dry-allowed-length"], SAMPLERS, "N"),
    refused(["--dry-penalty-last-n"], SAMPLERS, "N"),
    refused(["--dry-sequence-breaker"], SAMPLERS, "STRING"),
    refused(["--dynatemp-range"], SAMPLERS, "N"),
    refused(["--dynatemp-exp"], SAMPLERS, "N"),
    refused(["--adaptive-target"], SAMPLERS, "N"),
    refused(["--adaptive-decay"], SAMPLERS, "N"),
    refused(
      ["-md", "--model-draft", "--spec-draft-model"],
      SPEC,
      "FNAME",
      "LLAMA_ARG_SPEC_DRAFT_MODEL",
    ),
    refused(
      ["--draft-max", "--draft", "--draft-n", "--spec-draft-n-max"],
      SPEC,
      "N",
      "LLAMA_ARG_SPEC_DRAFT_N_MAX",
    ),
    refused(
      ["--draft-min", "--draft-n-min", "--spec-draft-n-min"],
      SPEC,
      "N",
      "LLAMA_ARG_SPEC_DRAFT_N_MIN",
    ),
    refused(["--spec-type"], SPEC, "TYPES", "LLAMA_ARG_SPEC_TYPE"),
    ...[
      ["--spec-draft-type-k", "-ctkd", "--cache-type-k-draft"],
      ["--spec-draft-type-v", "-ctvd", "--cache-type-v-draft"],
      ["--spec-draft-threads", "-td", "--threads-draft"],
      ["--spec-draft-threads-batch", "-tbd", "--threads-batch-draft"],
      ["--spec-draft-cpu-mask", "-Cd", "--cpu-mask-draft"],
      ["--spec-draft-cpu-range", "-Crd", "--cpu-range-draft"],
      ["--spec-draft-cpu-strict", "--cpu-strict-draft"],
      ["--spec-draft-prio", "--prio-draft"],
      ["--spec-draft-poll", "--poll-draft"],
      ["--spec-draft-cpu-mask-batch", "-Cbd", "--cpu-mask-batch-draft"],
      ["--spec-draft-cpu-strict-batch", "--cpu-strict-batch-draft"],
      ["--spec-draft-prio-batch", "--prio-batch-draft"],
      ["--spec-draft-poll-batch", "--poll-batch-draft"],
      ["--spec-draft-override-tensor", "-otd", "--override-tensor-draft"],
      ["--spec-draft-n-cpu-moe", "--spec-draft-ncmoe", "-ncmoed", "--n-cpu-moe-draft"],
      ["--spec-draft-p-split", "--draft-p-split"],
      ["--spec-draft-p-min", "--draft-p-min"],
      ["--spec-ngram-mod-n-min"],
      ["--spec-ngram-mod-n-max"],
      ["--spec-ngram-mod-n-match"],
      ["--spec-ngram-simple-size-n"],
      ["--spec-ngram-simple-size-m"],
      ["--spec-ngram-simple-min-hits"],
      ["--spec-ngram-map-k-size-n"],
      ["--spec-ngram-map-k-size-m"],
      ["--spec-ngram-map-k-min-hits"],
      ["--spec-ngram-map-k4v-size-n"],
      ["--spec-ngram-map-k4v-size-m"],
      ["--spec-ngram-map-k4v-min-hits"],
      ["--spec-ngram-size-n"],
      ["--spec-ngram-size-m"],
      ["--spec-ngram-min-hits"],
    ].map((names) => refused(names, SPEC, "VALUE")),
    refused(["--spec-draft-cpu-moe", "-cmoed", "--cpu-moe-draft"], SPEC),
    refused(["--spec-draft-backend-sampling", "--no-spec-draft-backend-sampling"], SPEC),
    same(
      ["--mmproj-auto", "--no-mmproj-auto"],
      "accepted; a projector comes from --mmproj (or the llamafile's .args), never a download",
      undefined,
      "LLAMA_ARG_MMPROJ_AUTO",
    ),
    noted(
      ["-mmdev", "--mmproj-device"],
      "the projector runs where --mmproj-offload / --no-mmproj-offload put it",
      "DEVICE",
      "LLAMA_ARG_MMPROJ_DEVICE",
    ),
    noted(
      ["--image-min-tokens"],
      "images get the projector's own number of positions",
      "N",
      "LLAMA_ARG_IMAGE_MIN_TOKENS",
    ),
    noted(
      ["--image-max-tokens"],
      "images get the projector's own number of positions",
      "N",
      "LLAMA_ARG_IMAGE_MAX_TOKENS",
    ),
    noted(
      ["--mtmd-batch-max-tokens"],
      "an image's positions are decoded in batches of -b",
      "N",
      "LLAMA_ARG_MTMD_BATCH_MAX_TOKENS",
    ),
    refused(["--audio"], VIDEO_AUDIO, "FILE"),
    refused(["--video"], VIDEO_AUDIO, "FILE"),
    refused(["--video-fps"], VIDEO_AUDIO, "N", "LLAMA_ARG_VIDEO_FPS"),
    refused(["--video-timestamp-interval"], VIDEO_AUDIO, "N"),
    refused(["--video-ffmpeg-dir"], VIDEO_AUDIO, "DIR"),
    refused(
      ["--log-prompts-dir"],
      "prompts are not written to files: the sandboxed server writes none",
      "PATH",
    ),
    refused(["--spec-default"], SPEC),
    refused(["--spec-synth-len"], SPEC, "L"),
    refused(["--spec-synth-rates"], SPEC, "P0,P1,..."),
    refused(["-lcs", "--lookup-cache-static"], SPEC, "FNAME"),
    refused(["-lcd", "--lookup-cache-dynamic"], SPEC, "FNAME"),
    refused(["--override-kv"], "overriding model metadata is not supported here", "KEY=TYPE:VALUE"),
    refused(["--control-vector"], "control vectors are not supported here", "FNAME"),
    refused(["--control-vector-scaled"], "control vectors are not supported here", "FNAME:SCALE"),
    refused(["--control-vector-layer-range"], "control vectors are not supported here", "START"),
    refused(["--completion-bash"], "there is no bash completion script"),
    noted(["--verbose-prompt"], "the prompt's tokens are not listed here"),
    noted(
      ["-co", "--color"],
      "colours are used on a terminal, never with NO_COLOR",
      "on|off|auto",
      "LLAMA_ARG_COLOR",
    ),
    noted(
      ["--show-timings", "--no-show-timings"],
      "the timings line goes to stderr unless --log-disable",
    ),
    noted(["-ptc", "--print-token-count"], "the timings line gives the counts at the end", "N"),
    noted(["--prompt-cache-all"], "the prompt cache keeps the prompt's state only"),
    noted(["-mli", "--multiline-input"], 'the chat takes several lines between """ lines'),
    same(["--simple-io"], "accepted; the chat reads plain lines from a pipe"),
    ...[["-i", "--interactive"], ["-if", "--interactive-first"], ["--in-prefix-bos"]].map((
      names,
    ) => refused(names, INTERACTIVE)),
    refused(["--in-prefix"], INTERACTIVE, "STRING"),
    refused(["--in-suffix"], INTERACTIVE, "STRING"),
    refused(["-gan", "--grp-attn-n"], "group attention (self-extend) is not supported here", "N"),
    refused(["-gaw", "--grp-attn-w"], "group attention (self-extend) is not supported here", "N"),
    refused(
      ["--server-base"],
      "the CLI runs the model itself; it connects to no server",
      "URL",
    ),
    refused(
      ["-o", "--output", "--output-file"],
      "the answer goes to stdout: redirect it (> FILE)",
      "FNAME",
    ),
  ],
};
