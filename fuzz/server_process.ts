/**
 * A llamafile server as a user starts it (the server mode's permissions and both sandbox
 * stages), on a free loopback port, for the `http` fuzz target and the soak test.
 *
 * @module
 */
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { launchEnv } from "../lib/sandbox/permissions.ts";
import { MODELS, ROOT } from "./cli_case.ts";

/** A running server subprocess. */
export interface ServerProcess extends AsyncDisposable {
  url: string;
  pid: number;
  /** Resolves when the process ends. */
  status: Promise<Deno.CommandStatus>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
}

/** The ChatML test model: chat templates work on it. */
export const CHAT_MODEL = `${MODELS}/stories260K-chatml-test.gguf`;

/** Starts `llamafile --server` with `args` and waits until `/health` is ok. */
export async function startServer(args: readonly string[]): Promise<ServerProcess> {
  const argv = ["--server", "--nobrowser", "--host", "127.0.0.1", "--port", "0", ...args];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...planLaunch(argv).flags, `${ROOT}/cli.ts`, ...argv],
    env: { ...launchEnv(Deno.env.get("DENO_V8_FLAGS")), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-200_000);
    }
  })();
  const deadline = Date.now() + 60_000;
  let url = "";
  while (Date.now() < deadline && !done) {
    const match = /listening on (http:\/\/\S+)/.exec(text);
    if (match && text.includes("model loaded")) {
      url = match[1]!.replace(/\/$/, "");
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (url === "") {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await status;
    throw new Error(`The server did not start: ${text.slice(-2000)}`);
  }
  return {
    url,
    pid: child.pid,
    status,
    alive: () => !done,
    stderr: () => text,
    async [Symbol.asyncDispose]() {
      if (!done) {
        try {
          child.kill("SIGTERM");
        } catch {
          // gone
        }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await status;
      clearTimeout(timer);
      await pump.catch(() => {});
    },
  };
}

/** `GET /health` within `timeoutMs`: true when it answers 200. */
export async function healthy(url: string, timeoutMs = 5000): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
