/**
 * `--server`: listens at once, loads the model, sandboxes once ready, serves until a signal.
 *
 * @module
 */
import { applySandbox, formatSandboxReport } from "../sandbox/apply_sandbox.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { samplingFromCli } from "./completion_mode.ts";
import { loadModelFromOptions } from "./load_model.ts";
import type { CliOptions } from "./options.ts";

/** Runs the server mode; returns the exit code (130 after SIGINT). */
export async function runServerMode(options: CliOptions): Promise<number> {
  const sampling = await samplingFromCli(options);
  const loading = loadModelFromOptions(options);
  try {
    // Loaded on demand: the server's modules (Hono, Jinja, endpoints) would slow every CLI start.
    const { runServer } = await import("../server/run_server.ts");
    const exit = await runServer(loading, { ...options, ...sampling }, {
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
    return exit.reason === "SIGINT" ? 130 : 0;
  } finally {
    (await loading.catch(() => null))?.close();
  }
}
