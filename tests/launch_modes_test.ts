/**
 * The mode and permissions of a launch come from the option table: a prompt that reads like a
 * mode flag (`-p --server`, `-p --unsecure`, `--prompt --server`, `-f --server`, `-p=--server`)
 * never gets the server's network grant or the unsecure mode, through `deno task llamafile`.
 * (The packed llamafile's launcher: `llamafile_run_test.ts`.)
 */
import assert from "node:assert/strict";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { cliPermissionFlags } from "../lib/sandbox/permissions.ts";
import { ROOT, STORIES, taskArgs, watchSandboxed } from "./helpers.ts";

/** The CLI's flags whatever the prompt says. */
const LOOKALIKES: string[][] = [
  ["-p", "--server"],
  ["-p", "--unsecure"],
  ["--prompt", "--server"],
  ["-f", "--server"],
  ["-p=--server"],
  ["-p", "--server", "--prompt-cache"],
];

Deno.test("planLaunch() gives a prompt that reads like a mode flag the CLI's flags", () => {
  for (const words of LOOKALIKES) {
    const plan = planLaunch(["-m", "m.gguf", ...words, "-n", "300"]);
    assert.equal(plan.mode, "cli", words.join(" "));
    assert.deepEqual(plan.flags, cliPermissionFlags(), words.join(" "));
  }
});

/** Starts `deno task llamafile ARGS` as the task does, in `cwd`. */
function launch(args: string[], cwd: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: taskArgs(args),
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("deno task llamafile: -p --server and friends run the CLI sandboxed, without --allow-net or --allow-all", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "launch_modes_test_" });
  try {
    // `-f --server` reads the file named "--server".
    await Deno.writeTextFile(`${cwd}/--server`, "Once upon a time");
    for (const words of LOOKALIKES.filter((w) => !w[0]!.includes("=") && w.length === 2)) {
      const child = launch(
        ["-m", STORIES, ...words, "-n", "3000", "--ignore-eos", "-t", "1", "-c", "4096"],
        cwd,
      );
      const seen = await watchSandboxed(child.pid);
      child.kill("SIGTERM");
      const out = await child.output();
      assert.ok(
        seen !== null,
        `${words.join(" ")} ended early: ${new TextDecoder().decode(out.stderr)}`,
      );
      const flags = seen.cmdline.filter((w) => w.startsWith("--allow") || w === "--no-prompt");
      assert.deepEqual(flags, cliPermissionFlags(), words.join(" "));
      assert.ok(!seen.cmdline.some((w) => w.startsWith("--allow-net") || w === "--allow-all"));
      assert.ok(seen.seccomp.every((m) => m === 2), `${words.join(" ")}: ${seen.seccomp}`);
    }
    // `-p=--server` is not an option llama.cpp knows: a usage error, before any grant matters.
    const out = await launch(["-m", STORIES, "-p=--server"], cwd).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /Unknown option "-p=--server"/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task llamafile: the sandboxed CLI holds no writable file handle, Deno's cache databases included", async () => {
  const child = launch(["-m", STORIES, "-p", "x", "-n", "3000", "--ignore-eos", "-t", "1"], ROOT);
  const seen = await watchSandboxed(child.pid);
  child.kill("SIGTERM");
  await child.output();
  assert.ok(seen !== null);
  assert.deepEqual(seen.writableFiles, []);
});

Deno.test("deno task llamafile --server: the sandboxed server holds no writable file handle", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: taskArgs([
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
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  while (!stderr.includes("model loaded")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  const seen = await watchSandboxed(child.pid);
  child.kill("SIGTERM");
  while (!(await reader.read()).done);
  await child.status;
  assert.ok(seen !== null, stderr);
  assert.deepEqual(seen.writableFiles, []);
});
