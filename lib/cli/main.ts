/**
 * The program: `.args` merge → option table → mode (cli | chat | server | pack | info |
 * upgrade).
 *
 * @module
 */
import {
  applyLlamafileArgs,
  llamafileSelf,
  readLlamafileArgs,
} from "../onefile/llamafile_archive.ts";
import { applySandbox, formatSandboxReport } from "../sandbox/apply_sandbox.ts";
import { openLibrary } from "../../ffi/library.ts";
import { endStdoutLine, StdoutClosed, writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { oneLine } from "../util/one_line.ts";
import { trace } from "../util/trace.ts";
import { LLAMA_CPP_RELEASE, VERSION } from "../util/version.ts";
import {
  readImages,
  readPrompt,
  readSystemPrompt,
  runCompletion,
  samplingFromCli,
} from "./completion_mode.ts";
import { jsonSchemaConverter, wantsJsonSchema } from "./grammar_source.ts";
import {
  connectRpcFor,
  loadLoraFromOptions,
  loadModelFromOptions,
  openLibraryFor,
} from "./load_model.ts";
import { ProjectorError } from "../engine/projector_error.ts";
import { PromptCacheFile } from "./prompt_cache.ts";
import {
  type CliOptions,
  helpText,
  optionEnv,
  parseCliArgs,
  SUBCOMMANDS,
  UsageError,
} from "./options.ts";

/** The hidden command of the server's slot file helper (`slot_files.ts`'s `SLOT_FILES_COMMAND`). */
const SLOT_FILES_COMMAND = "__slot-files";

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** The subcommands, chosen by the first word (declared beside the option tables). */
export { SUBCOMMANDS };

type Subcommand = (typeof SUBCOMMANDS)[number];

function isSubcommand(word: string | undefined): word is Subcommand {
  return (SUBCOMMANDS as readonly (string | undefined)[]).includes(word);
}

/**
 * The failure's line (its message as one line: see `oneLine`); with `--verbose`, its causes
 * and stack on the lines after it.
 */
function describe(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return oneLine(String(error));
  let line = oneLine(error.message);
  if (verbose) {
    let cause = error.cause;
    while (cause instanceof Error) {
      line += `\n  caused by: ${oneLine(cause.message)}`;
      cause = cause.cause;
    }
    if (error.stack) line += `\n${error.stack.split("\n").slice(1).join("\n")}`;
  }
  return line;
}

async function subcommand(name: Subcommand, argv: readonly string[]): Promise<number> {
  if (name === "pack") return await (await import("./pack_command.ts")).packCommand(argv);
  if (name === "upgrade") {
    return await (await import("./upgrade_command.ts")).upgradeCommand(argv);
  }
  if (name === "rpc-server") {
    return await (await import("./rpc_server_command.ts")).rpcServerCommand(argv);
  }
  return await (await import("./info_command.ts")).infoCommand(argv);
}

/**
 * The `--version` line: this program, and the llama.cpp build of the libraries it loads, as
 * they report it (`LLAMAFILE_LIBDIR` can point at another build of the same release).
 */
export function versionLine(): string {
  let build: string;
  try {
    const lib = openLibrary();
    const b = lib.build;
    build =
      `libllama ${b.llama}, ggml ${b.ggml}, commit ${b.commit}, CPU backend ${lib.cpuBackend.label}`;
  } catch (error) {
    build = `libraries not loaded: ${(error as Error).message}`;
  }
  return `llamafile ${VERSION} (llama.cpp ${LLAMA_CPP_RELEASE}: ${build}; deno ${Deno.version.deno})\n`;
}

/** Runs the program with `args`; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: CliOptions | undefined;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  try {
    const first = args[0];
    if (isSubcommand(first)) return await subcommand(first, args.slice(1));
    if (first === SLOT_FILES_COMMAND) {
      // The server's slot file helper (see lib/server/api/slot_files.ts), not a user command.
      return await (await import("../server/api/slot_files.ts")).runSlotFileHelper(args[1]);
    }
    trace("main");
    options = parseCliArgs(await applyLlamafileArgs(args), optionEnv());
    trace("arguments parsed");
    if (!options.logDisable) {
      for (const note of options.notes) writeStderr(`llamafile: note: ${note}`);
    }
    if (options.help) {
      const self = llamafileSelf();
      const baked = self === undefined ? null : await readLlamafileArgs(self);
      writeStdout(helpText(VERSION, baked ?? undefined));
      return EXIT.ok;
    }
    if (options.version) {
      writeStdout(versionLine());
      return EXIT.ok;
    }
    if (options.listDevices) {
      return await (await import("./list_devices.ts")).listDevicesCommand(options);
    }
    if (options.buildNative) {
      return await (await import("./native_build.ts")).buildNativeCommand(options);
    }
    if (options.server) {
      if (options.image.length > 0) {
        throw new UsageError("--image is for the CLI: send images to the server in requests");
      }
      return await (await import("./server_mode.ts")).runServerMode(options);
    }
    const hasPrompt = options.prompt !== undefined || options.file !== undefined ||
      options.binaryFile !== undefined;
    const chat = options.chat || (!hasPrompt && !options.cli);
    if (!hasPrompt && !chat) {
      throw new UsageError("No prompt given: pass -p TEXT or -f FILE");
    }
    if (options.image.length > 0) {
      if (chat) throw new UsageError("--image needs a prompt: pass -p TEXT or -f FILE");
      if (options.promptCache !== undefined) {
        throw new UsageError("--prompt-cache cannot be used with --image");
      }
      if (options.mmproj === undefined) {
        // Not a usage error: the projector may come from a llamafile's .args.
        throw new ProjectorError("Cannot use --image: no projector is given (pass --mmproj FILE)");
      }
    }
    // First what the sandbox will forbid: modules (loading one may write Deno's caches; the
    // projector's is loaded only for images), the libraries and their devices (--rpc workers
    // included), the prompt cache file, the signal listener.
    const chatMode = chat ? await import("./chat_mode.ts") : null;
    const projectorLoader = options.image.length > 0 ? await import("./load_projector.ts") : null;
    if (wantsJsonSchema(options)) await jsonSchemaConverter();
    const terminal = chatMode?.chatTerminal();
    const { lib, gpu } = await openLibraryFor(options);
    await connectRpcFor(lib, options);
    using cache = options.promptCache === undefined
      ? null
      : await PromptCacheFile.open(options.promptCache, { readOnly: options.promptCacheRo });
    Deno.addSignalListener("SIGINT", onSigint);
    // Then the sandbox, before any untrusted byte (model, grammar, template, prompt) is parsed.
    const report = applySandbox("cli", {
      unsecure: options.unsecure,
      log: (line) => writeStderr(`llamafile: ${line}`),
      keptConnections: options.rpc.map((endpoint) => `${endpoint} (--rpc)`),
    });
    trace("sandbox on");
    if (options.verbose) {
      for (const line of formatSandboxReport(report)) writeStderr(`llamafile: ${line}`);
    }
    const prompt = await readPrompt(options);
    const system = await readSystemPrompt(options);
    if (system !== undefined && !chat && !options.logDisable) {
      writeStderr(
        "llamafile: note: -sys/-sysf give the chat's system message; a completion of the prompt does not use it",
      );
    }
    const images = await readImages(options);
    const sampling = await samplingFromCli(options);
    trace("prompt and sampling read");
    using model = await loadModelFromOptions(options, gpu);
    trace("model loaded");
    using lora = await loadLoraFromOptions(model, options);
    if (chat) {
      Deno.removeSignalListener("SIGINT", onSigint);
      return await chatMode!.runChatMode(
        model,
        options,
        sampling,
        system ?? prompt,
        terminal,
        lora,
      );
    }
    // The projector is loaded only for images: a llamafile packed with one still answers text
    // prompts without that cost.
    using projector = projectorLoader === null
      ? null
      : await projectorLoader.loadProjectorFromOptions(model, options);
    const vision = projector === null ? null : { projector, images };
    const result = await runCompletion(
      model,
      options,
      prompt!,
      sampling,
      abort.signal,
      cache,
      vision,
      lora,
    );
    return result.finishReason === "abort" ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    if (error instanceof StdoutClosed) return EXIT.ok;
    if (error instanceof UsageError) {
      writeStderr(`llamafile: ${oneLine(error.message)}`);
      writeStderr("Try 'llamafile --help' for more information.");
      return EXIT.usage;
    }
    endStdoutLine();
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
