/**
 * `llamafile rpc-server [-H IPV4] [-p PORT] [-t N]`: llama.cpp's RPC worker, shipped with us
 * as llamafile ships several programs in one. It serves this machine's CPU device to a client
 * that runs a model with `--rpc HOST:PORT` (the client puts layers here). ggml's own server loop
 * (`ggml_backend_rpc_start_server`, from the RPC module built from our release) runs on a thread
 * of its own; once it listens, the sandbox goes on: accepting clients and computing still work,
 * connecting out, starting programs and opening files do not.
 *
 * @module
 */
import { openLibrary } from "../../ffi/library.ts";
import { listeningPorts, rpcBackendPath, startRpcServer } from "../../ffi/rpc.ts";
import { defaultThreads } from "../engine/context.ts";
import { applySandbox, formatSandboxReport } from "../sandbox/apply_sandbox.ts";
import { formatBytes } from "../util/format_bytes.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { formatOptionHelp, parseArgs } from "./option_table.ts";
import { RPC_SERVER_TABLE } from "./options/rpc_server.ts";

/** How long ggml's loop may take to listen before the command gives up. */
const LISTEN_TIMEOUT_MS = 10_000;

/** The `llamafile rpc-server --help` text, generated from its table. */
export function rpcServerHelp(): string {
  return [
    "llamafile rpc-server: serve this machine's CPU to a llamafile run with --rpc HOST:PORT",
    "",
    "USAGE",
    "  llamafile rpc-server [-H 127.0.0.1] [-p 50052] [-t N]",
    "  llamafile -m MODEL.gguf --rpc HOST:PORT[,HOST:PORT...] ...   (the client, elsewhere)",
    ...formatOptionHelp(RPC_SERVER_TABLE),
    "",
    "llama.cpp's RPC protocol has no authentication and no encryption: listen on loopback, or",
    "on a private network that only the client can reach.",
  ].join("\n") + "\n";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `llamafile rpc-server ARGS` until SIGINT or SIGTERM; returns the exit code (130 after
 * SIGINT, 0 after SIGTERM, 1 when it cannot listen).
 *
 * @throws {UsageError} On a bad argument.
 */
export async function rpcServerCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(RPC_SERVER_TABLE, argv);
  if (args.help) {
    writeStdout(rpcServerHelp());
    return 0;
  }
  if (args.host !== "127.0.0.1") {
    writeStderr(
      `llamafile: warning: rpc-server listens on ${args.host}: llama.cpp's RPC protocol has no authentication, never expose it to an open network`,
    );
  }
  const lib = openLibrary();
  if (args.verbose) lib.setLogSink((_level, line) => writeStderr(line));
  lib.setAbortReporter((message, during) =>
    writeStderr(`llamafile: ${during ?? "rpc-server: libllama aborted"}: ${message}`)
  );
  const threads = args.threads ?? defaultThreads();
  if (args.verbose) writeStderr(`llamafile: rpc: backend module ${rpcBackendPath(lib)}`);

  let signal: "SIGINT" | "SIGTERM" | null = null;
  let wake = () => {};
  const onSignal = (name: "SIGINT" | "SIGTERM") => () => {
    signal = name;
    wake();
  };
  const listeners = [["SIGINT", onSignal("SIGINT")], ["SIGTERM", onSignal("SIGTERM")]] as const;
  for (const [name, listener] of listeners) Deno.addSignalListener(name, listener);
  try {
    const before = new Set(listeningPorts(lib));
    const worker = startRpcServer(lib, args.host, args.port, threads);
    let stopped = false;
    worker.stopped.then(() => {
      stopped = true;
      wake();
    });
    let port: number | undefined;
    for (const start = Date.now(); port === undefined && !stopped && signal === null;) {
      port = listeningPorts(lib).find((p) =>
        !before.has(p) && (args.port === 0 || p === args.port)
      );
      if (port !== undefined) break;
      if (Date.now() - start > LISTEN_TIMEOUT_MS) break;
      await sleep(10);
    }
    if (signal !== null) return signal === "SIGINT" ? 130 : 0;
    if (port === undefined) {
      writeStderr(
        `llamafile: Cannot listen on ${args.host}:${args.port}: ggml's RPC server could not bind it (address in use, or not this machine's)`,
      );
      return 1;
    }
    // The one socket exists; from here on no new one can be made, nor a file opened.
    const report = applySandbox("rpc-server", {
      unsecure: args.unsecure,
      log: (line) => writeStderr(`llamafile: ${line}`),
    });
    if (args.verbose) {
      for (const line of formatSandboxReport(report)) writeStderr(`llamafile: ${line}`);
    }
    const { device } = worker;
    writeStderr(
      `llamafile: rpc-server listening on ${args.host}:${port} (${device.name}: ${device.description}, ${threads} thread${
        threads === 1 ? "" : "s"
      }, ${formatBytes(device.free)} free); serving one client at a time`,
    );
    while (!stopped && signal === null) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (signal !== null) return signal === "SIGINT" ? 130 : 0;
    writeStderr(`llamafile: rpc-server on ${args.host}:${port} stopped: ggml's server loop ended`);
    return 1;
  } finally {
    for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
  }
}
