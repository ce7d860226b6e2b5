/**
 * The main command's option table (one section per file under `options/`), its parser, and the
 * `--help` text generated from it and from the `pack`, `upgrade` and `info` tables.
 *
 * @module
 */
import {
  formatOptionHelp,
  type OptionSpec,
  type OptionTable,
  parseArgs,
  tableDefaults,
  UsageError,
} from "./option_table.ts";
import { ARGS_SPLICE, argsFileQuote } from "../onefile/args_file.ts";
import { COMMON_SECTION, type CommonOptions } from "./options/common.ts";
import { COMPAT_SECTION, type CompatCliOptions } from "./options/compat.ts";
import { CONTEXT_SECTION, type ContextCliOptions } from "./options/context.ts";
import { COMPLETION_SECTION, type CompletionOptions } from "./options/completion.ts";
import { GPU_SECTION, type GpuCliOptions } from "./options/gpu.ts";
import { INFO_TABLE } from "./options/info.ts";
import { PACK_TABLE } from "./options/pack.ts";
import { UPGRADE_TABLE } from "./options/upgrade.ts";
import { RPC_SERVER_TABLE } from "./options/rpc_server.ts";
import { REASONING_SECTION, type ReasoningCliOptions } from "./options/reasoning.ts";
import { SAMPLING_SECTION, type SamplingCliOptions } from "./options/sampling.ts";
import { SANDBOX_SECTION, type SandboxCliOptions } from "./options/sandbox.ts";
import { SERVER_SECTION, type ServerCliOptions } from "./options/server.ts";

export { UsageError };
export { parseLogitBias } from "./options/sampling.ts";

/** The subcommands, chosen by the first word. */
export const SUBCOMMANDS = ["pack", "info", "upgrade", "rpc-server"] as const;

/** Everything the command line can say. */
export type CliOptions =
  & CommonOptions
  & GpuCliOptions
  & SamplingCliOptions
  & CompletionOptions
  & ServerCliOptions
  & ContextCliOptions
  & ReasoningCliOptions
  & SandboxCliOptions
  & CompatCliOptions;

/** The main command's table, in `--help` order (llama.cpp's grouping). */
export const CLI_TABLE: OptionTable<CliOptions> = {
  sections: [
    COMMON_SECTION,
    GPU_SECTION,
    SAMPLING_SECTION,
    COMPLETION_SECTION,
    SERVER_SECTION,
    CONTEXT_SECTION,
    REASONING_SECTION,
    SANDBOX_SECTION,
    COMPAT_SECTION,
  ] as OptionTable<CliOptions>["sections"],
  notes: "notes",
};

/** Every option of the main command. */
export const OPTION_TABLE: readonly OptionSpec<CliOptions>[] = CLI_TABLE.sections.flatMap((s) =>
  s.specs
);

/** Defaults, as llama.cpp's where llama.cpp has one. */
export function defaultOptions(): CliOptions {
  return tableDefaults(CLI_TABLE);
}

/**
 * Parses argv into options, over the `LLAMA_ARG_*` variables of `env` (llama.cpp's: argv
 * wins); throws {@linkcode UsageError} on bad input.
 */
export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
): CliOptions {
  return parseArgs(CLI_TABLE, argv, env);
}

/**
 * The variables of this process's environment the option table reads (`LLAMA_ARG_*`,
 * `LLAMA_API_KEY`); none when the environment may not be read.
 */
export function optionEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of OPTION_TABLE) {
    if (spec.env === undefined) continue;
    for (const name of [spec.env, spec.env.replace("LLAMA_ARG_", "LLAMA_ARG_NO_")]) {
      try {
        const value = Deno.env.get(name);
        if (value !== undefined) out[name] = value;
      } catch {
        return {};
      }
    }
  }
  return out;
}

/**
 * The `--help` text, generated from the tables. `argsWords`: the `.args` of the llamafile this
 * runs from, shown with the defaults they change.
 */
export function helpText(version: string, argsWords?: readonly string[]): string {
  const lines: string[] = [];
  lines.push(
    `llamafile ${version}: run an open LLM from one file, as a Unix filter, a chat, or a server`,
  );
  let baked: Partial<CliOptions> | undefined;
  if (argsWords !== undefined) {
    lines.push("");
    lines.push("THIS LLAMAFILE");
    lines.push(
      "  Its .args hold these defaults (your arguments go where ... is, else at the end):",
    );
    lines.push(`    ${argsWords.map(argsFileQuote).join(" ")}`);
    lines.push("  Options below show the defaults they change.");
    try {
      baked = parseCliArgs(argsWords.filter((w) => w !== ARGS_SPLICE));
    } catch {
      // pack checked them; a hand-edited .args is reported when it runs
    }
  }
  lines.push("");
  lines.push("USAGE");
  lines.push("  llamafile -m MODEL.gguf -p PROMPT [options]        complete a prompt (CLI mode)");
  lines.push("  llamafile -m MODEL.gguf -f /dev/stdin [options]    complete standard input");
  lines.push("  llamafile -m MODEL.gguf --chat                      chat in the terminal");
  lines.push(
    "  llamafile -m MODEL.gguf --mmproj P.gguf --image I -p PROMPT  describe an image",
  );
  lines.push(
    "  llamafile -m MODEL.gguf --server [--port N]         OpenAI/Anthropic API server + chat page",
  );
  lines.push("  llamafile pack -m MODEL.gguf [--args FILE | --arg X ...] -o OUT.llamafile");
  lines.push("  llamafile pack ... --platform all                   one file for every platform");
  lines.push("  llamafile pack --add FILE... TO.llamafile           append files to a llamafile");
  lines.push(
    "  llamafile upgrade OLD.llamafile -o NEW.llamafile    new runtime, same weights and .args",
  );
  lines.push(
    "  llamafile info FILE [--sandbox]                     describe a GGUF or a llamafile",
  );
  lines.push(
    "  llamafile rpc-server [-H IPV4] [-p PORT]            serve this CPU to a --rpc client",
  );
  lines.push("");
  lines.push("In CLI mode stdout carries only the prompt (unless --no-display-prompt) and the");
  lines.push("generated text; logs and the timings line go to stderr.");
  lines.push(...formatOptionHelp(CLI_TABLE, baked));
  lines.push(...formatOptionHelp(PACK_TABLE));
  lines.push(...formatOptionHelp(UPGRADE_TABLE));
  lines.push(...formatOptionHelp(INFO_TABLE));
  lines.push(...formatOptionHelp(RPC_SERVER_TABLE));
  lines.push("");
  lines.push("SERVER ENDPOINTS (--server)");
  lines.push(
    "  OpenAI     POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses,",
  );
  lines.push(
    "             /v1/responses/input_tokens; GET, DELETE /v1/responses/ID; GET /v1/models",
  );
  lines.push("  Anthropic  POST /v1/messages, /v1/messages/count_tokens");
  lines.push(
    "  llama.cpp  POST /completion, /completions, /infill, /embedding, /embeddings, /rerank,",
  );
  lines.push(
    "             /tokenize, /detokenize, /apply-template, /slots/ID, /lora-adapters, /props;",
  );
  lines.push("             GET /health, /props, /slots, /metrics, /lora-adapters");
  lines.push("  chat page  GET /");
  lines.push("  /slots/ID?action=save|restore|erase needs --slot-save-path, /metrics --metrics;");
  lines.push("  --no-slots turns /slots off, --no-ui the chat page.");
  lines.push("  With --api-key, send Authorization: Bearer KEY or X-Api-Key: KEY.");
  lines.push(
    "  llama-server's flags and LLAMA_ARG_* variables work; one that cannot do anything here",
  );
  lines.push("  says so on stderr, one for a feature llamafile lacks is refused (exit 2).");
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
  lines.push("  LLAMAFILE_RPC_LIB  ggml's RPC backend module for --rpc and rpc-server");
  lines.push(
    "  LLAMAFILE_MTMD_LIB libmtmd.so to load for --mmproj (default: beside libllama, or the one",
  );
  lines.push("                     deno task build-mtmd built)");
  lines.push("  LLAMAFILE_MODEL    default model for the demo task");
  lines.push("  LLAMAFILE_TRACE=1  print where start-up time goes (ms since the process started)");
  lines.push(
    "  LLAMAFILE_PLATFORM (packed llamafile) run this platform's runtime, e.g. linux-arm64",
  );
  lines.push("  LLAMAFILE_EMULATOR (packed llamafile) start the runtime under this program, e.g.");
  lines.push("                     qemu-aarch64-static where binfmt_misc does not know arm64");
  lines.push(
    "  GGML_VK_VISIBLE_DEVICES=0,...  the Vulkan devices ggml may use (needed for a CPU-type one",
  );
  lines.push("                     such as Mesa's lavapipe, which it skips otherwise)");
  return lines.join("\n") + "\n";
}
