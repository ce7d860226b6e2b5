/**
 * The command line's option table: llama.cpp / llamafile flags (multi-letter
 * single-dash ones like `-ngl` included), parsed with "last one wins", and the
 * `--help` text generated from the same table.
 *
 * @module
 */

/** A usage error: the CLI prints it on one line and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Kind = "string" | "int" | "float" | "flag" | "list";

interface OptionSpec {
  readonly names: readonly string[];
  readonly key: keyof CliOptions;
  readonly kind: Kind;
  readonly arg?: string;
  readonly help: string;
  readonly section: string;
  /** For flags: the value stored when present (default true). */
  readonly value?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly number[];
}

/** Everything the command line can say. */
export interface CliOptions {
  model?: string;
  prompt?: string;
  file?: string;
  nPredict: number;
  ctxSize: number;
  batchSize: number;
  ubatchSize: number;
  threads?: number;
  threadsBatch?: number;
  seed: number;
  temp: number;
  topK: number;
  topP: number;
  minP: number;
  typical: number;
  repeatPenalty: number;
  repeatLastN: number;
  presencePenalty: number;
  frequencyPenalty: number;
  mirostat: number;
  mirostatLr: number;
  mirostatEnt: number;
  logitBias: string[];
  ignoreEos: boolean;
  grammar?: string;
  grammarFile?: string;
  jsonSchema?: string;
  escape: boolean;
  reversePrompt: string[];
  displayPrompt: boolean;
  logDisable: boolean;
  verbose: boolean;
  gpuLayers?: number;
  mmap: boolean;
  mlock: boolean;
  repack: boolean;
  help: boolean;
  version: boolean;
  // modes
  server: boolean;
  chat: boolean;
  cli: boolean;
  // server
  host: string;
  port: number;
  parallel: number;
  apiKey?: string;
  chatTemplate?: string;
  nobrowser: boolean;
  timeout: number;
  corsOrigins: string[];
  embedding: boolean;
  alias?: string;
  // one file and sandbox
  mmproj?: string;
  unsecure: boolean;
  promptCache?: string;
  poll: number;
}

/** Defaults, as llama.cpp's where llama.cpp has one. */
export function defaultOptions(): CliOptions {
  return {
    nPredict: -1,
    ctxSize: 4096,
    batchSize: 2048,
    ubatchSize: 512,
    seed: -1,
    temp: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
    typical: 1,
    repeatPenalty: 1,
    repeatLastN: 64,
    presencePenalty: 0,
    frequencyPenalty: 0,
    mirostat: 0,
    mirostatLr: 0.1,
    mirostatEnt: 5,
    logitBias: [],
    ignoreEos: false,
    escape: true,
    reversePrompt: [],
    displayPrompt: true,
    logDisable: false,
    verbose: false,
    mmap: true,
    mlock: false,
    repack: true,
    help: false,
    version: false,
    server: false,
    chat: false,
    cli: false,
    host: "127.0.0.1",
    port: 8080,
    parallel: 1,
    nobrowser: false,
    timeout: 600,
    corsOrigins: [],
    embedding: false,
    unsecure: false,
    poll: 50,
  };
}

const G = "General";
const S = "Sampling";
const C = "Context and performance";
const O = "Output";
const V = "Server";

/** The option table. Order is the order of `--help`. */
export const OPTION_TABLE: readonly OptionSpec[] = [
  {
    names: ["-m", "--model"],
    key: "model",
    kind: "string",
    arg: "FNAME",
    section: G,
    help: "model path (GGUF or llamafile); inside a llamafile, the default is its own weights",
  },
  {
    names: ["-p", "--prompt"],
    key: "prompt",
    kind: "string",
    arg: "TEXT",
    section: G,
    help: "prompt to start generation with",
  },
  {
    names: ["-f", "--file"],
    key: "file",
    kind: "string",
    arg: "FNAME",
    section: G,
    help: "read the prompt from a file (/dev/stdin works); one trailing newline is dropped",
  },
  {
    names: ["-n", "--n-predict"],
    key: "nPredict",
    kind: "int",
    arg: "N",
    min: -1,
    section: G,
    help: "tokens to predict (default: -1, until end of text or a full context)",
  },
  {
    names: ["-e", "--escape"],
    key: "escape",
    kind: "flag",
    section: G,
    help: "process escapes \\n \\r \\t \\' \\\" \\\\ \\xNN in prompts (default: on)",
  },
  {
    names: ["--no-escape"],
    key: "escape",
    kind: "flag",
    value: false,
    section: G,
    help: "do not process escapes",
  },
  {
    names: ["-r", "--reverse-prompt"],
    key: "reversePrompt",
    kind: "list",
    arg: "TEXT",
    section: G,
    help: "stop generating at TEXT (repeatable)",
  },
  {
    names: ["--grammar"],
    key: "grammar",
    kind: "string",
    arg: "GBNF",
    section: S,
    help: "constrain output with a GBNF grammar (root rule: root)",
  },
  {
    names: ["--grammar-file"],
    key: "grammarFile",
    kind: "string",
    arg: "FNAME",
    section: S,
    help: "read the GBNF grammar from a file",
  },
  {
    names: ["-j", "--json-schema"],
    key: "jsonSchema",
    kind: "string",
    arg: "SCHEMA",
    section: S,
    help: "constrain output to JSON matching a JSON Schema (e.g. '{}' for any object)",
  },
  {
    names: ["-s", "--seed"],
    key: "seed",
    kind: "int",
    arg: "N",
    section: S,
    help: "random seed (default: -1, random)",
  },
  {
    names: ["--temp"],
    key: "temp",
    kind: "float",
    arg: "N",
    min: 0,
    section: S,
    help: "temperature; 0 is greedy and deterministic (default: 0.8)",
  },
  {
    names: ["--top-k"],
    key: "topK",
    kind: "int",
    arg: "N",
    min: 0,
    section: S,
    help: "top-k sampling, 0 = off (default: 40)",
  },
  {
    names: ["--top-p"],
    key: "topP",
    kind: "float",
    arg: "N",
    min: 0,
    max: 1,
    section: S,
    help: "top-p sampling, 1.0 = off (default: 0.95)",
  },
  {
    names: ["--min-p"],
    key: "minP",
    kind: "float",
    arg: "N",
    min: 0,
    max: 1,
    section: S,
    help: "min-p sampling, 0.0 = off (default: 0.05)",
  },
  {
    names: ["--typical"],
    key: "typical",
    kind: "float",
    arg: "N",
    min: 0,
    max: 1,
    section: S,
    help: "locally typical sampling p, 1.0 = off (default: 1.0)",
  },
  {
    names: ["--repeat-penalty"],
    key: "repeatPenalty",
    kind: "float",
    arg: "N",
    min: 0,
    section: S,
    help: "penalize repeated tokens, 1.0 = off (default: 1.0)",
  },
  {
    names: ["--repeat-last-n"],
    key: "repeatLastN",
    kind: "int",
    arg: "N",
    min: -1,
    section: S,
    help: "tokens the penalties look back over, -1 = context size (default: 64)",
  },
  {
    names: ["--presence-penalty"],
    key: "presencePenalty",
    kind: "float",
    arg: "N",
    section: S,
    help: "presence penalty, 0.0 = off (default: 0.0)",
  },
  {
    names: ["--frequency-penalty"],
    key: "frequencyPenalty",
    kind: "float",
    arg: "N",
    section: S,
    help: "frequency penalty, 0.0 = off (default: 0.0)",
  },
  {
    names: ["--mirostat"],
    key: "mirostat",
    kind: "int",
    arg: "N",
    choices: [0, 1, 2],
    section: S,
    help: "Mirostat sampling: 0 off, 1 Mirostat, 2 Mirostat 2.0 (default: 0)",
  },
  {
    names: ["--mirostat-lr"],
    key: "mirostatLr",
    kind: "float",
    arg: "N",
    min: 0,
    section: S,
    help: "Mirostat learning rate eta (default: 0.1)",
  },
  {
    names: ["--mirostat-ent"],
    key: "mirostatEnt",
    kind: "float",
    arg: "N",
    min: 0,
    section: S,
    help: "Mirostat target entropy tau (default: 5.0)",
  },
  {
    names: ["-l", "--logit-bias"],
    key: "logitBias",
    kind: "list",
    arg: "TOKEN(+|-)BIAS",
    section: S,
    help: "change a token's likelihood, e.g. 15043+1 or 15043-inf (repeatable)",
  },
  {
    names: ["--ignore-eos"],
    key: "ignoreEos",
    kind: "flag",
    section: S,
    help: "never stop at end of text; generate until -n",
  },
  {
    names: ["-c", "--ctx-size"],
    key: "ctxSize",
    kind: "int",
    arg: "N",
    min: 0,
    section: C,
    help: "context size in tokens, 0 = the model's trained context (default: 4096)",
  },
  {
    names: ["-b", "--batch-size"],
    key: "batchSize",
    kind: "int",
    arg: "N",
    min: 1,
    section: C,
    help: "logical batch size for prompt processing (default: 2048)",
  },
  {
    names: ["-ub", "--ubatch-size"],
    key: "ubatchSize",
    kind: "int",
    arg: "N",
    min: 1,
    section: C,
    help: "physical batch size (default: 512)",
  },
  {
    names: ["-t", "--threads"],
    key: "threads",
    kind: "int",
    arg: "N",
    min: 1,
    section: C,
    help: "threads for generation (default: physical cores not kept busy by other processes)",
  },
  {
    names: ["-tb", "--threads-batch"],
    key: "threadsBatch",
    kind: "int",
    arg: "N",
    min: 1,
    section: C,
    help: "threads for prompt processing (default: same as --threads)",
  },
  {
    names: ["--poll"],
    key: "poll",
    kind: "int",
    arg: "0..100",
    min: 0,
    max: 100,
    section: C,
    help: "how hard idle worker threads spin, 0 = sleep (default: 50)",
  },
  {
    names: ["-ngl", "--n-gpu-layers", "--gpu-layers"],
    key: "gpuLayers",
    kind: "int",
    arg: "N",
    min: -1,
    section: C,
    help: "layers to offload to a GPU (ignored by a CPU-only library)",
  },
  {
    names: ["--no-mmap"],
    key: "mmap",
    kind: "flag",
    value: false,
    section: C,
    help: "read the weights into memory instead of mapping them",
  },
  { names: ["--mlock"], key: "mlock", kind: "flag", section: C, help: "lock the weights in RAM" },
  {
    names: ["--no-repack"],
    key: "repack",
    kind: "flag",
    value: false,
    section: C,
    help: "do not repack weights (less memory, slower prompts)",
  },
  {
    names: ["--no-display-prompt"],
    key: "displayPrompt",
    kind: "flag",
    value: false,
    section: O,
    help: "do not echo the prompt to stdout",
  },
  {
    names: ["--silent-prompt"],
    key: "displayPrompt",
    kind: "flag",
    value: false,
    section: O,
    help: "same as --no-display-prompt (llamafile)",
  },
  {
    names: ["--log-disable"],
    key: "logDisable",
    kind: "flag",
    section: O,
    help: "print nothing on stderr but errors (no timings line)",
  },
  {
    names: ["--verbose", "-v"],
    key: "verbose",
    kind: "flag",
    section: O,
    help: "show libllama's log and, on failure, the cause chain",
  },
  {
    names: ["--cli"],
    key: "cli",
    kind: "flag",
    section: G,
    help: "run one completion from the prompt (default when -p or -f is given)",
  },
  {
    names: ["--chat"],
    key: "chat",
    kind: "flag",
    section: G,
    help: "chat in the terminal (default when neither a prompt nor --server is given)",
  },
  {
    names: ["--server"],
    key: "server",
    kind: "flag",
    section: V,
    help: "serve the OpenAI-compatible API and the chat page",
  },
  {
    names: ["--host"],
    key: "host",
    kind: "string",
    arg: "ADDR",
    section: V,
    help: "address to listen on (default: 127.0.0.1)",
  },
  {
    names: ["--port"],
    key: "port",
    kind: "int",
    arg: "N",
    min: 0,
    max: 65535,
    section: V,
    help: "port to listen on (default: 8080)",
  },
  {
    names: ["-np", "--parallel"],
    key: "parallel",
    kind: "int",
    arg: "N",
    min: 1,
    max: 64,
    section: V,
    help: "parallel slots (default: 1)",
  },
  {
    names: ["--api-key"],
    key: "apiKey",
    kind: "string",
    arg: "KEY",
    section: V,
    help: "require this key (Authorization: Bearer KEY or X-Api-Key)",
  },
  {
    names: ["--chat-template"],
    key: "chatTemplate",
    kind: "string",
    arg: "NAME|FILE",
    section: V,
    help: "override the model's chat template (chatml, llama2, llama3, ... or a Jinja file)",
  },
  {
    names: ["--nobrowser"],
    key: "nobrowser",
    kind: "flag",
    section: V,
    help: "do not open a browser when the server starts",
  },
  {
    names: ["--timeout", "-to"],
    key: "timeout",
    kind: "int",
    arg: "SECONDS",
    min: 1,
    section: V,
    help: "request timeout (default: 600)",
  },
  {
    names: ["--cors-origins"],
    key: "corsOrigins",
    kind: "list",
    arg: "ORIGIN",
    section: V,
    help: "allow this origin besides loopback ones (repeatable, comma-separated)",
  },
  {
    names: ["--embedding", "--embeddings"],
    key: "embedding",
    kind: "flag",
    section: V,
    help: "enable /v1/embeddings",
  },
  {
    names: ["-a", "--alias"],
    key: "alias",
    kind: "string",
    arg: "NAME",
    section: V,
    help: "model name reported by /v1/models",
  },
  {
    names: ["--mmproj"],
    key: "mmproj",
    kind: "string",
    arg: "FNAME",
    section: G,
    help: "vision projector (accepted; image input is not supported yet)",
  },
  {
    names: ["--prompt-cache"],
    key: "promptCache",
    kind: "string",
    arg: "FNAME",
    section: G,
    help:
      "keep the prompt's state in FNAME and reuse its common prefix next run (the only file the CLI may write)",
  },
  {
    names: ["--unsecure"],
    key: "unsecure",
    kind: "flag",
    section: G,
    help: "turn off the sandbox (Deno permission lockdown and seccomp)",
  },
  {
    names: ["-h", "--help"],
    key: "help",
    kind: "flag",
    section: G,
    help: "show this help and exit",
  },
  {
    names: ["--version"],
    key: "version",
    kind: "flag",
    section: G,
    help: "show the version and exit",
  },
];

const BY_NAME = new Map<string, OptionSpec>();
for (const spec of OPTION_TABLE) for (const name of spec.names) BY_NAME.set(name, spec);

function parseNumber(spec: OptionSpec, name: string, raw: string): number {
  const text = raw.trim();
  const value = spec.kind === "int"
    ? (/^[+-]?\d+$/.test(text) ? Number(text) : NaN)
    : (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN);
  if (!Number.isFinite(value)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected ${
        spec.kind === "int" ? "an integer" : "a number"
      }`,
    );
  }
  if (spec.min !== undefined && value < spec.min) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at least ${spec.min}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw new UsageError(`Invalid value "${raw}" for ${name}: must be at most ${spec.max}`);
  }
  if (spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: must be one of ${spec.choices.join(", ")}`,
    );
  }
  return value;
}

/** Parses argv into options; throws {@linkcode UsageError} on bad input. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const options = defaultOptions() as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    let name = word;
    let inline: string | undefined;
    const eq = word.indexOf("=");
    if (word.startsWith("--") && eq > 2) {
      name = word.slice(0, eq);
      inline = word.slice(eq + 1);
    }
    const spec = BY_NAME.get(name);
    if (!spec) {
      if (word.startsWith("-") && word !== "-") throw new UsageError(`Unknown option "${word}"`);
      throw new UsageError(`Unexpected argument "${word}"`);
    }
    if (spec.kind === "flag") {
      if (inline !== undefined) throw new UsageError(`Option ${name} takes no value`);
      options[spec.key] = spec.value ?? true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Option ${name} needs a value (${spec.arg ?? "VALUE"})`);
      }
      raw = argv[++i]!;
    }
    switch (spec.kind) {
      case "string":
        options[spec.key] = raw;
        break;
      case "int":
      case "float":
        options[spec.key] = parseNumber(spec, name, raw);
        break;
      case "list": {
        const list = options[spec.key] as string[];
        const items = spec.key === "corsOrigins"
          ? raw.split(",").map((s) => s.trim()).filter(Boolean)
          : [raw];
        options[spec.key] = [...list, ...items];
        break;
      }
    }
  }
  return options as unknown as CliOptions;
}

/** One logit bias entry from `-l TOKEN(+|-)BIAS`. */
export function parseLogitBias(text: string): { token: number; bias: number } {
  const match = /^\s*(\d+)\s*([+-])\s*(inf|\d+(?:\.\d*)?|\.\d+)\s*$/i.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid value "${text}" for --logit-bias: expected TOKEN(+|-)BIAS, e.g. 15043+1`,
    );
  }
  const magnitude = match[3]!.toLowerCase() === "inf" ? Infinity : Number(match[3]);
  return { token: Number(match[1]), bias: match[2] === "-" ? -magnitude : magnitude };
}

/** The `--help` text, generated from {@linkcode OPTION_TABLE}. */
export function helpText(version: string): string {
  const lines: string[] = [];
  lines.push(
    `llamafile ${version}: run an open LLM from one file, as a Unix filter, a chat, or a server`,
  );
  lines.push("");
  lines.push("USAGE");
  lines.push("  llamafile -m MODEL.gguf -p PROMPT [options]        complete a prompt (CLI mode)");
  lines.push("  llamafile -m MODEL.gguf -f /dev/stdin [options]    complete standard input");
  lines.push("  llamafile -m MODEL.gguf --chat                      chat in the terminal");
  lines.push(
    "  llamafile -m MODEL.gguf --server [--port N]         OpenAI-compatible server + chat page",
  );
  lines.push("  llamafile pack -m MODEL.gguf [--args FILE | --arg X ...] -o OUT.llamafile");
  lines.push("  llamafile pack --add FILE... TO.llamafile           append files to a llamafile");
  lines.push(
    "  llamafile info FILE [--sandbox]                     describe a GGUF or a llamafile",
  );
  lines.push("");
  lines.push("In CLI mode stdout carries only the prompt (unless --no-display-prompt) and the");
  lines.push("generated text; logs and the timings line go to stderr.");
  const sections = [...new Set(OPTION_TABLE.map((s) => s.section))];
  for (const section of sections) {
    lines.push("");
    lines.push(section.toUpperCase());
    for (const spec of OPTION_TABLE.filter((s) => s.section === section)) {
      const left = `  ${spec.names.join(", ")}${spec.arg ? ` ${spec.arg}` : ""}`;
      lines.push(
        left.length < 34
          ? `${left.padEnd(34)}${spec.help}`
          : `${left}\n${" ".repeat(34)}${spec.help}`,
      );
    }
  }
  lines.push("");
  lines.push("EXIT STATUS");
  lines.push(
    "  0 success, 1 failure (one line on stderr; --verbose for the cause), 2 usage error,",
  );
  lines.push("  130 interrupted (what was generated is printed first).");
  lines.push("");
  lines.push("EXAMPLES");
  lines.push(
    "  cat page.txt | llamafile -m m.gguf -f /dev/stdin --temp 0 -n 200 --no-display-prompt 2>/dev/null",
  );
  lines.push(
    `  llamafile -m m.gguf -p 'Is the sky blue? Answer:' --grammar 'root ::= "yes" | "no"' --temp 0`,
  );
  lines.push(
    `  llamafile -m m.gguf -p 'A point:' -j '{"type":"object","properties":{"x":{"type":"integer"}}}'`,
  );
  lines.push("");
  lines.push("ENVIRONMENT");
  lines.push("  LLAMAFILE_LIBDIR   folder holding libllama.v0.5.0.so and the ggml backends");
  lines.push("  LLAMAFILE_MODEL    default model for the demo task");
  lines.push("  LLAMAFILE_TRACE=1  print where start-up time goes (ms since the process started)");
  return lines.join("\n") + "\n";
}
