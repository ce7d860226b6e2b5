/**
 * The kernel sandbox is on before the first untrusted byte is parsed: in the CLI and the
 * server, every thread is under seccomp while libllama's model loader runs; exec from native
 * code during a load fails; a libllama abort inside the loader ends in one line and starts no
 * debugger.
 */
import assert from "node:assert/strict";
import { GgufType, readGguf } from "../lib/engine/gguf_reader.ts";
import { LAUNCH_ENV } from "../lib/sandbox/permissions.ts";
import { writeGguf } from "../bench/gguf_writer.ts";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { cliCommandArgs, ROOT, STORIES } from "./helpers.ts";

const decoder = new TextDecoder();

/** The seccomp modes the `model loader running` trace line reports. */
function loaderModes(stderr: string): number[] {
  const line = stderr.split("\n").find((l) => l.includes("model loader running"));
  assert.ok(line, `no loader trace line in:\n${stderr}`);
  return line.replace(/.*seccomp per thread:/, "").trim().split(/\s+/).map(Number);
}

Deno.test("CLI: every thread is under seccomp while libllama's model loader runs", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(["-m", STORIES, "-p", "Once", "-n", "2", "-t", "1"]),
    env: { ...LAUNCH_ENV, LLAMAFILE_TRACE: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = decoder.decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const modes = loaderModes(stderr);
  assert.ok(modes.length >= 2, `threads: ${modes}`);
  assert.deepEqual(modes.filter((m) => m !== 2), [], `seccomp per thread: ${modes}`);
  assert.ok(stderr.indexOf("sandbox on") < stderr.indexOf("model loader running"));
});

Deno.test("server: every thread is under seccomp (first stage) while libllama's model loader runs", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs([
      "--server",
      "--nobrowser",
      "--port",
      "0",
      "-m",
      STORIES,
      "-t",
      "1",
      "-c",
      "256",
    ]),
    env: { ...LAUNCH_ENV, LLAMAFILE_TRACE: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  while (!stderr.includes("sandbox stage server on")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  child.kill("SIGTERM");
  while (!(await reader.read()).done);
  await child.status;
  const modes = loaderModes(stderr);
  assert.deepEqual(modes.filter((m) => m !== 2), [], `seccomp per thread: ${modes}`);
  const start = stderr.indexOf("sandbox stage server-start on");
  assert.ok(start >= 0 && start < stderr.indexOf("model loader running"), stderr);
  assert.ok(stderr.indexOf("model loader running") < stderr.indexOf("sandbox stage server on"));
});

/** Runs the fixture with the CLI's permissions, in exactly the environment `env`. */
async function fixture(model: string, env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...planLaunch([]).flags, `${ROOT}/tests/fixtures/load_under_sandbox.ts`, model],
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("execve from native code during a model load fails with EPERM", async () => {
  const out = await fixture(STORIES, { ...LAUNCH_ENV, PATH: Deno.env.get("PATH") ?? "" });
  assert.equal(out.code, 0, out.stderr);
  const { during } = JSON.parse(out.stdout);
  assert.deepEqual(during.execve, { result: -1, errno: 1 }, "EPERM");
  assert.deepEqual(during.seccomp.filter((m: number) => m !== 2), []);
});

Deno.test("a GGUF that makes libllama abort in its loader: one line, exit 1, no debugger started", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sandbox_order_test_" });
  try {
    // block_count 0xffff: GGML_ASSERT(n_layer_all <= LLAMA_MAX_LAYERS) in libllama's loader.
    const gguf = await readGguf(STORIES);
    const data = await Deno.readFile(STORIES);
    const metadata = new Map(gguf.metadata);
    metadata.set("llama.block_count", { type: GgufType.UINT32, value: 0xffff });
    await writeGguf(`${dir}/crafted.gguf`, {
      metadata,
      tensors: gguf.tensors.map((t) => ({
        ...t,
        data: data.subarray(gguf.dataOffset + t.offset, gguf.dataOffset + t.offset + t.byteSize),
      })),
    });
    // A gdb that leaves a mark if anything ever starts it.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/gdb`, `#!/bin/sh\ntouch ${dir}/gdb-ran\n`);
    await Deno.chmod(`${dir}/bin/gdb`, 0o755);
    // No GGML_NO_BACKTRACE: the abort callback and the sandbox must do without it.
    const out = await fixture(`${dir}/crafted.gguf`, {
      PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_NO_UPDATE_CHECK: "1",
    });
    assert.equal(out.code, 1);
    assert.equal(out.stdout, "");
    const lines = out.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, out.stderr);
    assert.match(
      lines[0]!,
      /^llamafile: Cannot load model ".*crafted\.gguf": the model is corrupt or unsupported \(libllama aborted\): src\/llama-model\.cpp:\d+: GGML_ASSERT\(.*LLAMA_MAX_LAYERS\) failed$/,
    );
    await assert.rejects(Deno.stat(`${dir}/gdb-ran`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
