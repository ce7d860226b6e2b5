/**
 * The sandbox, end to end: fixtures run as subprocesses with the real permission flags,
 * apply the sandbox, probe it from inside; this test reads their threads' seccomp mode from
 * outside (Deno refuses /proc/self to anything but --allow-all) and talks to the server.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  cliPermissionFlags,
  LAUNCH_ENV,
  serverPermissionFlags,
} from "../lib/sandbox/permissions.ts";
import type { SandboxReport } from "../lib/sandbox/apply_sandbox.ts";

const EPERM = 1;
const REFUSED = { result: -1, errno: EPERM };

interface NativeResult {
  result: number;
  errno: number;
}

interface CliOutput {
  pid: number;
  report: SandboxReport;
  lines: string[];
  probes: Record<string, string | NativeResult>;
  text: string;
}

interface ServerOutput {
  port: number;
  pid: number;
  report: SandboxReport;
  probes: Record<string, string | NativeResult>;
}

/** A hermetic environment: no NODE_EXTRA_CA_CERTS & co. that Deno would act on. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { ...LAUNCH_ENV };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "LLAMAFILE_LIBDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The `Seccomp:` mode of every thread of `pid`. */
function seccompModes(pid: number): number[] {
  return [...Deno.readDirSync(`/proc/${pid}/task`)].map(({ name }) => {
    const status = Deno.readTextFileSync(`/proc/${pid}/task/${name}/status`);
    return Number(/^Seccomp:\t(\d+)$/m.exec(status)?.[1]);
  });
}

/**
 * Starts a fixture; `first` is the JSON of its first stdout line. `finish()` closes its
 * stdin, drains it and resolves with its exit code and stderr.
 */
async function startFixture<T>(name: string, flags: string[], args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, new URL(`./fixtures/${name}`, import.meta.url).pathname, ...args],
    clearEnv: true,
    env: childEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const finish = async () => {
    await child.stdin.close();
    while (!(await reader.read()).done);
    return { code: (await child.status).code, stderr: await stderr };
  };
  if (!stdout.includes("\n")) {
    const { code, stderr } = await finish();
    throw new Error(`Fixture ${name} printed no result (exit ${code}): ${stderr}`);
  }
  return { first: JSON.parse(stdout.slice(0, stdout.indexOf("\n"))) as T, finish };
}

/** Runs the CLI fixture to its end; also returns its threads' seccomp modes. */
async function runCli(flags: string[], args: string[]) {
  const { first, finish } = await startFixture<CliOutput>("sandbox_cli.ts", flags, args);
  const modes = seccompModes(first.pid);
  const { code, stderr } = await finish();
  strictEqual(stderr, "");
  strictEqual(code, 0);
  return { ...first, modes };
}

async function withScratch(run: (scratch: string) => Promise<void>): Promise<void> {
  const scratch = await Deno.makeTempDir({ prefix: "sandbox_test_" });
  try {
    await run(scratch);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

Deno.test('applySandbox("cli") filters every thread: no sockets, no exec, no writes', async () => {
  await withScratch(async (scratch) => {
    const out = await runCli(cliPermissionFlags(), [scratch]);
    ok(out.modes.length >= 4, `threads: ${out.modes}`);
    deepStrictEqual(
      out.modes.filter((mode) => mode !== 2),
      [],
      `Seccomp of every thread: ${out.modes}`,
    );
    const { openRead, ...refused } = out.probes;
    ok(
      (openRead as NativeResult).result >= 0,
      `reading stays allowed: ${JSON.stringify(openRead)}`,
    );
    deepStrictEqual(refused, {
      fetch: "NotCapable",
      connect: "NotCapable",
      command: "NotCapable",
      socketInet: REFUSED,
      socketInet6: REFUSED,
      socketUnix: REFUSED,
      openWrite: REFUSED,
      execve: REFUSED,
    });
    await rejects(Deno.stat(`${scratch}/written`), Deno.errors.NotFound);
    strictEqual(out.report.kernel.active, true);
    strictEqual(out.report.kernel.open, "read-only");
    ok(out.report.kernel.denied.includes("socket") && out.report.kernel.denied.includes("accept4"));
    deepStrictEqual(out.report.deno.granted, ["read", "ffi"]);
    ok(
      out.lines[1]?.startsWith("sandbox: seccomp (x86_64, all threads): EPERM for socket,"),
      out.lines[1],
    );
  });
});

Deno.test('applySandbox("cli") leaves libllama working: the same greedy text as --unsecure', async () => {
  await withScratch(async (scratch) => {
    const sandboxed = await runCli(cliPermissionFlags(), [scratch]);
    const unsecure = await runCli(cliPermissionFlags(), [scratch, "--unsecure"]);
    ok(sandboxed.text.trim().length > 0, `text: ${JSON.stringify(sandboxed.text)}`);
    strictEqual(sandboxed.text, unsecure.text);
  });
});

Deno.test("applySandbox() with unsecure installs nothing", async () => {
  await withScratch(async (scratch) => {
    const out = await runCli(cliPermissionFlags(), [scratch, "--unsecure"]);
    deepStrictEqual(
      out.modes.filter((mode) => mode !== 0),
      [],
      `Seccomp of every thread: ${out.modes}`,
    );
    strictEqual(out.report.unsecure, true);
    strictEqual(out.report.kernel.active, false);
    deepStrictEqual(out.lines, ["sandbox: off (--unsecure)"]);
    // The same native calls the sandbox refuses go through.
    ok((out.probes.socketInet as NativeResult).result >= 0, JSON.stringify(out.probes.socketInet));
    ok((out.probes.openWrite as NativeResult).result >= 0, JSON.stringify(out.probes.openWrite));
    await Deno.stat(`${scratch}/written`);
  });
});

Deno.test('applySandbox("cli") with a prompt cache: its file, opened before, is written; no open for writing passes', async () => {
  await withScratch(async (scratch) => {
    const flags = cliPermissionFlags({ promptCache: `${scratch}/cache.bin` });
    const out = await runCli(flags, [scratch, "--prompt-cache"]);
    deepStrictEqual(out.modes.filter((mode) => mode !== 2), []);
    strictEqual(out.report.kernel.open, "read-only");
    deepStrictEqual(out.probes.openWrite, REFUSED);
    await rejects(Deno.stat(`${scratch}/written`), Deno.errors.NotFound);
    strictEqual(await Deno.readTextFile(`${scratch}/cache.bin`), "state after the sandbox");
    deepStrictEqual(out.report.deno.granted, ["read", "ffi"], "write is revoked once it is open");
    deepStrictEqual(out.probes.socketInet, REFUSED);
    deepStrictEqual(out.probes.execve, REFUSED);
  });
});

Deno.test('applySandbox("server") keeps the listener serving and refuses the rest', async () => {
  await withScratch(async (scratch) => {
    const flags = serverPermissionFlags({ host: "127.0.0.1", port: 0 });
    const { first, finish } = await startFixture<ServerOutput>("sandbox_server.ts", flags, [
      scratch,
    ]);
    try {
      // Three connections from this process, each accepted by the sandboxed one.
      for (const served of [1, 2, 3]) {
        const response = await fetch(`http://127.0.0.1:${first.port}/`, {
          headers: { connection: "close" },
        });
        deepStrictEqual(await response.json(), { served });
      }
      const modes = seccompModes(first.pid);
      ok(modes.length >= 4, `threads: ${modes}`);
      deepStrictEqual(modes.filter((mode) => mode !== 2), [], `Seccomp of every thread: ${modes}`);
    } finally {
      await (await fetch(`http://127.0.0.1:${first.port}/stop`)).text();
    }
    const { code, stderr } = await finish();
    strictEqual(stderr, "");
    strictEqual(code, 0);
    deepStrictEqual(first.probes, {
      fetch: "NotCapable",
      connect: "NotCapable",
      command: "NotCapable",
      readTextFile: "NotCapable",
      env: "NotCapable",
      socketInet: REFUSED,
      socketInet6: REFUSED,
      socketUnix: REFUSED,
      openWrite: REFUSED,
      openRead: REFUSED,
      execve: REFUSED,
    });
    await rejects(Deno.stat(`${scratch}/written`), Deno.errors.NotFound);
    deepStrictEqual(first.report.deno, {
      granted: ["ffi"],
      revoked: ["read", "write", "env", "run", "net", "sys"],
    });
    strictEqual(first.report.kernel.open, "none");
    ok(!first.report.kernel.denied.includes("accept4"));
  });
});
