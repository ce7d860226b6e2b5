/**
 * `--server`: listens at once, then goes into the sandbox in two stages: before the model is
 * loaded (no new sockets, no exec, no writing files), and once ready (no opening files at all).
 *
 * @module
 */
import { applySandbox, formatSandboxReport, type SandboxStage } from "../sandbox/apply_sandbox.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { trace } from "../util/trace.ts";
import { samplingFromCli } from "./completion_mode.ts";
import { connectRpcFor, loadModelFromOptions, openLibraryFor } from "./load_model.ts";
import { loadProjectorFromOptions } from "./load_projector.ts";
import type { CliOptions } from "./options.ts";

/** Runs the server mode; returns the exit code (130 after SIGINT). */
export async function runServerMode(options: CliOptions): Promise<number> {
  // Loaded on demand (Hono, Jinja, endpoints would slow every CLI start), and before the
  // sandbox: loading a module may write Deno's caches.
  const { runServer } = await import("../server/run_server.ts");
  const { lib, gpu } = await openLibraryFor(options);
  // The --rpc workers' connections: made now, kept through both stages of the sandbox.
  await connectRpcFor(lib, options);
  lib.setAbortReporter((message, during) =>
    writeStderr(`llamafile: ${during ?? "libllama aborted while serving"}: ${message}`)
  );
  const sandbox = (stage: SandboxStage) => {
    const report = applySandbox(stage, {
      unsecure: options.unsecure,
      log: (line) => writeStderr(`llamafile: ${line}`),
      keptConnections: options.rpc.map((endpoint) => `${endpoint} (--rpc)`),
    });
    trace(`sandbox stage ${stage} on`);
    if (options.verbose) {
      for (const line of formatSandboxReport(report)) writeStderr(`llamafile: ${line}`);
    }
  };
  const exit = await runServer(() => loadModelFromOptions(options, gpu), options, {
    onListening: () => sandbox("server-start"),
    sampling: () => samplingFromCli(options),
    // The projector is read in the first stage, like the model (read-only opens).
    ...(options.mmproj !== undefined && {
      projector: (model) => loadProjectorFromOptions(model, options, { warmup: true }),
    }),
    onReady: () => sandbox("server"),
  });
  return exit.reason === "SIGINT" ? 130 : 0;
}
