/**
 * llama.cpp's RPC backend, on loopback: `llamafile rpc-server` (and llama.cpp's own
 * `ggml-rpc-server`, built from the same source) as the worker, `--rpc` in the CLI and the
 * server as the client. The model's layers go to the worker; the greedy text must not change;
 * both sides run sandboxed; the client's sandbox keeps the connection it made before and
 * refuses any new one. Builds the RPC module first when the cache lacks it (`deno task
 * build-rpc`: about a minute on 2 cores).
 */
import assert from "node:assert/strict";
import { ensureRpcBuild } from "../scripts/build_rpc.ts";
import { cliPermissionFlags, serverPermissionFlags } from "../lib/sandbox/permissions.ts";
import { readZipDirectory } from "../lib/onefile/zip_reader.ts";
import {
  cliCommandArgs,
  MODELS,
  ROOT,
  STORIES,
  STORIES_GREEDY,
  taskArgs,
  viewProcess,
} from "./helpers.ts";

const build = await ensureRpcBuild({ verbose: false });

/** Lines of a stream, as they come; `wait(re)` resolves with the first match. */
class Lines {
  readonly all: string[] = [];
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
    this.done = (async () => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let newline: number;
        while ((newline = rest.indexOf("\n")) >= 0) {
          this.#push(rest.slice(0, newline));
          rest = rest.slice(newline + 1);
        }
      }
      if (rest) this.#push(rest);
    })();
  }

  #push(line: string): void {
    this.all.push(line);
    this.#waiters = this.#waiters.filter(({ re, resolve }) => {
      const match = line.match(re);
      if (match) resolve(match);
      return !match;
    });
  }

  async wait(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    for (const line of this.all) {
      const match = line.match(re);
      if (match) return match;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpMatchArray>((resolve) => this.#waiters.push({ re, resolve })),
        this.done.then(() => {
          throw new Error(`Stream ended before ${re}: ${this.all.join("\n")}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`No ${re} in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  count(re: RegExp): number {
    return this.all.filter((line) => re.test(line)).length;
  }
}

interface Worker {
  endpoint: string;
  pid: number;
  stdout: Lines;
  stderr: Lines;
  stop(): Promise<number>;
}

function spawnWorker(command: string, args: string[]): Omit<Worker, "endpoint"> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = new Lines(child.stdout);
  const stderr = new Lines(child.stderr);
  return {
    pid: child.pid,
    stdout,
    stderr,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const status = await child.status;
      await Promise.all([stdout.done, stderr.done]);
      return status.code;
    },
  };
}

/** `llamafile rpc-server -p 0 -t 1`, launched as a user's `deno task llamafile` would. */
async function startOurWorker(): Promise<Worker> {
  const worker = spawnWorker(Deno.execPath(), cliCommandArgs(["rpc-server", "-p", "0", "-t", "1"]));
  try {
    const [, port] = await worker.stderr.wait(/listening on 127\.0\.0\.1:(\d+)/);
    return { ...worker, endpoint: `127.0.0.1:${port}` };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** llama.cpp's `ggml-rpc-server -p PORT -t 1`, ready once its "Starting" banner is flushed. */
async function startNativeWorker(): Promise<Worker> {
  const port = freePort();
  const worker = spawnWorker("stdbuf", ["-oL", build.nativeServer, "-p", String(port), "-t", "1"]);
  try {
    await worker.stdout.wait(/transport\s*: TCP/);
    // The banner comes just before bind(); wait until it accepts.
    for (let i = 0;; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        if (i > 200) throw new Error("ggml-rpc-server did not listen");
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    return { ...worker, endpoint: `127.0.0.1:${port}` };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const GREEDY = ["-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0", "-t", "1"];

Deno.test("the RPC module shares the npm package's libggml-base: its NEEDED name is that SONAME, its RUNPATH $ORIGIN", async () => {
  const elf = await Deno.readFile(build.module);
  const text = new TextDecoder("latin1").decode(elf);
  assert.ok(text.includes("\0libggml-base.so\0"), "NEEDED libggml-base.so (no .0)");
  assert.ok(!text.includes("libggml-base.so.0"));
  assert.ok(text.includes("\0$ORIGIN"), "RUNPATH $ORIGIN");
});

Deno.test("--rpc and rpc-server without the RPC module: one line naming where it was looked for, exit 1", async () => {
  const empty = await Deno.makeTempDir({ prefix: "rpc_test_cache_" });
  try {
    for (const args of [[...GREEDY, "--rpc", "127.0.0.1:9"], ["rpc-server", "-p", "0"]]) {
      const out = await run(args, { XDG_CACHE_HOME: empty });
      assert.equal(out.code, 1);
      assert.equal(
        out.stderr,
        `llamafile: Cannot use RPC: "libggml-rpc.so" is neither beside libggml.v0.5.0.so in "${ROOT}/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64" nor in "${empty}/llamafile-build/rpc/lib" (run: deno task build-rpc, or set LLAMAFILE_RPC_LIB)\n`,
      );
    }
    const missing = await run([...GREEDY, "--rpc", "127.0.0.1:9"], {
      LLAMAFILE_RPC_LIB: `${empty}/libggml-rpc.so`,
    });
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `llamafile: Cannot load the RPC backend "${empty}/libggml-rpc.so": no such file\n`,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("--rpc with one local llamafile rpc-server: the same greedy text as without, layers on the worker, both sandboxed", async () => {
  const local = await run([...GREEDY, "--no-display-prompt"]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(local.stdout, STORIES_GREEDY);

  const worker = await startOurWorker();
  try {
    const view = viewProcess(worker.pid);
    assert.ok(view !== null && view.seccomp.length > 1);
    assert.deepEqual([...new Set(view.seccomp)], [2], "the worker's threads are all filtered");

    const remote = await run(
      [...GREEDY, "--no-display-prompt", "--rpc", worker.endpoint, "--verbose"],
      { LLAMAFILE_TRACE: "1" },
    );
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, local.stdout, "same greedy text through the worker");
    const err = remote.stderr;
    assert.match(err, new RegExp(`rpc: RPC0 at ${worker.endpoint}: `));
    assert.match(err, /load_tensors: layer +0 assigned to device RPC0/);
    assert.match(err, /seccomp per thread: (2 )*2\n/, "the model loads with the filter on");
    assert.ok(
      err.includes(
        `llamafile: sandbox: exception: the connection made before it to ${worker.endpoint} (--rpc) stays open; no new socket can be made`,
      ),
      err,
    );
    assert.match(err, /seccomp \(x86_64, all threads\): EPERM for socket, connect/);

    // -ngl N: N layers on the worker, the rest here; the same text again.
    const split = await run([
      ...GREEDY,
      "--no-display-prompt",
      "--rpc",
      worker.endpoint,
      "-ngl",
      "2",
      "--verbose",
    ]);
    assert.equal(split.code, 0, split.stderr);
    assert.equal(split.stdout, local.stdout);
    assert.match(split.stderr, /layer +0 assigned to device CPU/);
    assert.match(split.stderr, /layer +5 assigned to device RPC0/);

    // One ggml in the worker: the npm package's libggml-base, with the module beside it.
    const maps = await Deno.readTextFile(`/proc/${worker.pid}/maps`);
    const libs = [...new Set(maps.split("\n").map((l) => l.split(/\s+/)[5] ?? ""))]
      .filter((path) => /\/libggml/.test(path));
    assert.deepEqual(libs.filter((path) => path.endsWith("/libggml-base.so")), [
      `${ROOT}/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so`,
    ]);
    assert.ok(libs.includes(build.module), libs.join("\n"));
  } finally {
    assert.equal(await worker.stop(), 0, "SIGTERM stops the worker with status 0");
  }
  assert.match(worker.stderr.all.join("\n"), /serving one client at a time/);
});

Deno.test("--rpc with llama.cpp's own ggml-rpc-server (same release): the same greedy text", async () => {
  const worker = await startNativeWorker();
  try {
    const remote = await run([
      ...GREEDY,
      "--no-display-prompt",
      "--rpc",
      worker.endpoint,
      "--verbose",
    ]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, STORIES_GREEDY);
    assert.match(remote.stderr, /load_tensors: layer +4 assigned to device RPC0/);
  } finally {
    await worker.stop();
  }
  assert.ok(worker.stdout.count(/^Accepted client connection/) >= 2);
});

Deno.test("--server --rpc: Seccomp 2 on every thread, answers through the worker, opens no connection after start-up", async () => {
  const worker = await startOurWorker();
  const port = freePort();
  const args = [
    "--server",
    "--nobrowser",
    "--port",
    String(port),
    "-m",
    `${MODELS}/stories260K.gguf`,
    "-t",
    "1",
    "--rpc",
    worker.endpoint,
    "--verbose",
  ];
  const server = spawnWorker(Deno.execPath(), cliCommandArgs(args));
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`${base}/health`);
        if (r.ok && (await r.json()).status === "ok") break;
      } catch {
        // not listening yet
      }
      if (i > 400) throw new Error(`server not healthy: ${server.stderr.all.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(server.stderr.all.join("\n"), /load_tensors: layer +0 assigned to device RPC0/);
    assert.match(
      server.stderr.all.join("\n"),
      new RegExp(`sandbox: exception: the connection made before it to ${worker.endpoint}`),
    );
    const view = viewProcess(server.pid);
    assert.ok(view !== null && view.seccomp.length > 1);
    assert.deepEqual([...new Set(view.seccomp)], [2], "Seccomp: 2 on every server thread");
    const accepted = worker.stdout.count(/^Accepted client connection/);
    assert.ok(accepted >= 1);
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 40, temperature: 0 }),
      });
      assert.equal(r.status, 200);
      assert.equal((await r.json()).choices[0].text, STORIES_GREEDY);
    }
    assert.equal(
      worker.stdout.count(/^Accepted client connection/),
      accepted,
      "every request went through the connection made before the sandbox",
    );
    assert.equal(worker.stdout.count(/^Client connection closed/), accepted - 1);
  } finally {
    await server.stop();
    await worker.stop();
  }
});

for (const mode of ["cli", "server"] as const) {
  Deno.test(`${mode} sandbox with --rpc: the kept connection serves the model; a new socket, or a second worker, is refused`, async () => {
    const [first, second] = [await startOurWorker(), await startOurWorker()];
    try {
      const flags = mode === "cli"
        ? cliPermissionFlags()
        : serverPermissionFlags({ host: "127.0.0.1", port: 0 });
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...flags,
          `${ROOT}/tests/fixtures/rpc_sandbox.ts`,
          mode,
          first.endpoint,
          second.endpoint,
        ],
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(stdout.length, 1, `${stdout.join("\n")}\n${stderr}`);
      const result = JSON.parse(stdout[0]!);
      assert.deepEqual(result.devices, [{ endpoint: first.endpoint, name: "RPC0" }]);
      assert.deepEqual(result.keptConnections, [`${first.endpoint} (--rpc)`]);
      assert.deepEqual([...new Set(result.seccomp)], [2]);
      assert.equal(result.text, STORIES_GREEDY);
      const refused = { result: -1, errno: 1 };
      assert.deepEqual(result.probes.socketInet, refused);
      assert.deepEqual(result.probes.socketInet6, refused);
      assert.deepEqual(result.probes.socketUnix, refused);
      assert.deepEqual(result.probes.socketInetDgram, refused);
      assert.deepEqual(result.probes.socketInet6Stream, refused);
      assert.deepEqual(result.probes.execve, refused);
      if (mode === "cli") {
        assert.ok(result.probes.openRead.result >= 0, "the CLI still reads files");
      } else assert.deepEqual(result.probes.openRead, refused, "the ready server opens no file");
      // The second worker: the process cannot reach it, and says so in one line.
      assert.equal(out.code, 1);
      assert.match(
        stderr,
        new RegExp(
          `^fixture: Cannot connect to the RPC server "${second.endpoint}": .*Failed to connect to ${second.endpoint}\n$`,
        ),
      );
    } finally {
      await first.stop();
      await second.stop();
    }
    assert.equal(second.stdout.count(/^Accepted client connection/), 0);
  });
}

Deno.test("a packed llamafile carries the RPC module: its rpc-server and its --rpc client work from an empty cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rpc_test_" });
  try {
    const path = `${dir}/s.llamafile`;
    const packed = await new Deno.Command(Deno.execPath(), {
      args: taskArgs(["pack", "-m", STORIES, "-o", path]),
      stdin: "null",
    }).output();
    assert.equal(packed.code, 0, new TextDecoder().decode(packed.stderr));
    using file = await Deno.open(path);
    const names = (await readZipDirectory(file)).entries.map((e) => e.name);
    assert.ok(names.includes("runtime/linux-x64/lib/libggml-rpc.so"), names.join("\n"));

    // A cache folder of its own: the build cache under $HOME/.cache is not where it looks.
    const env = { XDG_CACHE_HOME: `${dir}/cache`, NO_COLOR: "1" };
    await Deno.mkdir(env.XDG_CACHE_HOME);
    const child = new Deno.Command(path, {
      args: ["rpc-server", "-p", "0", "-t", "1"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    const stdout = new Lines(child.stdout);
    const stderr = new Lines(child.stderr);
    try {
      const [, port] = await stderr.wait(/listening on 127\.0\.0\.1:(\d+)/, 60_000);
      const out = await new Deno.Command(path, {
        args: [
          "-p",
          "Once upon a time",
          "-n",
          "40",
          "--temp",
          "0",
          "-t",
          "1",
          "--no-display-prompt",
          "--rpc",
          `127.0.0.1:${port}`,
          "--verbose",
        ],
        stdin: "null",
        env,
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, err);
      assert.equal(new TextDecoder().decode(out.stdout), STORIES_GREEDY);
      assert.match(err, /load_tensors: layer +0 assigned to device RPC0/);
      assert.match(
        err,
        new RegExp(
          `rpc: backend module ${env.XDG_CACHE_HOME}/llamafile/[0-9a-f]+/lib/libggml-rpc.so`,
        ),
      );
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
      await Promise.all([stdout.done, stderr.done]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
