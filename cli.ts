/**
 * llamafile's command line: `.args` merge → option table → mode
 * (cli | chat | server | pack | info).
 *
 * @module
 */
import { openLibrary } from "./ffi/library.ts";
import { type CliOptions, helpText, parseCliArgs, UsageError } from "./lib/cli/options.ts";
import { type LlamaModel, loadModel } from "./lib/engine/model.ts";
import { applyLlamafileArgs, resolveWeights } from "./lib/onefile/llamafile_archive.ts";
import { readPrompt, runCompletion, samplingFromCli } from "./lib/cli/completion_mode.ts";
import { applySandbox, formatSandboxReport } from "./lib/sandbox/apply_sandbox.ts";
import { StdoutClosed, writeStderr } from "./lib/util/stdout_writer.ts";
import { trace } from "./lib/util/trace.ts";
import { LLAMA_CPP_RELEASE, VERSION } from "./lib/util/version.ts";

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

function describe(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return String(error);
  let line = error.message;
  if (verbose) {
    let cause = error.cause;
    while (cause instanceof Error) {
      line += `\n  caused by: ${cause.message}`;
      cause = cause.cause;
    }
    if (error.stack) line += `\n${error.stack.split("\n").slice(1).join("\n")}`;
  }
  return line;
}

async function loadFromOptions(options: CliOptions): Promise<LlamaModel> {
  const weights = await resolveWeights(options.model);
  if (weights === null) throw new UsageError("No model given: pass -m MODEL.gguf");
  const lib = openLibrary();
  trace("libraries opened");
  if (options.verbose) lib.setLogSink((_level, line) => writeStderr(line));
  if (
    options.gpuLayers !== undefined && options.gpuLayers !== 0 && !lib.hasGpu && !options.logDisable
  ) {
    writeStderr("llamafile: warning: -ngl is ignored: this libllama has no GPU backend");
  }
  return await loadModel(weights.path, {
    offset: weights.offset,
    mmap: options.mmap,
    mlock: options.mlock,
    repack: options.repack,
    ...(options.gpuLayers !== undefined && { gpuLayers: options.gpuLayers }),
  });
}

/** Server mode: listens at once, loads the model, sandboxes once ready, serves until a signal. */
async function serve(options: CliOptions): Promise<number> {
  const loading = loadFromOptions(options);
  try {
    // Loaded on demand: the server's modules (Hono, Jinja, endpoints) would slow every CLI start.
    const { runServer } = await import("./server.ts");
    const exit = await runServer(loading, options, {
      onReady() {
        const report = applySandbox("server", {
          unsecure: options.unsecure,
          log: (line) => writeStderr(`llamafile: ${line}`),
        });
        if (options.verbose) {
          for (const line of formatSandboxReport(report)) writeStderr(`llamafile: ${line}`);
        }
      },
    });
    return exit.reason === "SIGINT" ? EXIT.interrupted : EXIT.ok;
  } finally {
    (await loading.catch(() => null))?.close();
  }
}

/** Runs the program with `args`; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: CliOptions | undefined;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  try {
    if (args[0] === "pack") {
      return await (await import("./lib/cli/pack_command.ts")).packCommand(args.slice(1));
    }
    if (args[0] === "info") {
      return await (await import("./lib/cli/info_command.ts")).infoCommand(args.slice(1));
    }
    trace("main");
    options = parseCliArgs(await applyLlamafileArgs(args));
    trace("arguments parsed");
    if (options.help) {
      await Deno.stdout.write(new TextEncoder().encode(helpText(VERSION)));
      return EXIT.ok;
    }
    if (options.version) {
      await Deno.stdout.write(
        new TextEncoder().encode(`llamafile ${VERSION} (llama.cpp ${LLAMA_CPP_RELEASE})\n`),
      );
      return EXIT.ok;
    }
    if (options.server) return await serve(options);
    const prompt = await readPrompt(options);
    const sampling = await samplingFromCli(options);
    const chat = options.chat || (prompt === undefined && !options.cli);
    if (prompt === undefined && !chat) {
      throw new UsageError("No prompt given: pass -p TEXT or -f FILE");
    }
    // Loaded before the sandbox, and only for chat: module loading may want to write caches.
    const chatMode = chat ? await import("./lib/cli/chat_mode.ts") : null;
    Deno.addSignalListener("SIGINT", onSigint);
    using model = await loadFromOptions(options);
    trace("model loaded");
    const verbose = options.verbose;
    const report = applySandbox("cli", {
      unsecure: options.unsecure,
      allowWrite: options.promptCache !== undefined,
      log: (line) => writeStderr(`llamafile: ${line}`),
    });
    if (verbose) {
      for (const line of formatSandboxReport(report)) writeStderr(`llamafile: ${line}`);
    }
    if (chat) {
      Deno.removeSignalListener("SIGINT", onSigint);
      return await chatMode!.runChatMode(model, options, sampling, prompt);
    }
    const result = await runCompletion(model, options, prompt!, sampling, abort.signal);
    return result.finishReason === "abort" ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    if (error instanceof StdoutClosed) return EXIT.ok;
    if (error instanceof UsageError) {
      writeStderr(`llamafile: ${error.message}`);
      writeStderr("Try 'llamafile --help' for more information.");
      return EXIT.usage;
    }
    writeStderr(`llamafile: ${describe(error, options?.verbose ?? false)}`);
    return EXIT.failure;
  } finally {
    try {
      Deno.removeSignalListener("SIGINT", onSigint);
    } catch {
      // never added
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
