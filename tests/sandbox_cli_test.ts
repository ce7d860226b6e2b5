import assert from "node:assert/strict";
import { cliCommandArgs, STORIES } from "./helpers.ts";

async function seccompWhileRunning(extra: string[]): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs([
      "-m",
      STORIES,
      "-p",
      "Once",
      "--ignore-eos",
      "-c",
      "4096",
      "-n",
      "100000",
      "-t",
      "1",
      ...extra,
    ]),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // generating: the sandbox is in place
  const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
  child.kill("SIGINT");
  while (!(await reader.read()).done) { /* drain */ }
  await child.stderr.cancel();
  await child.status;
  return /^Seccomp:\s*(\d)/m.exec(status)?.[1] ?? "?";
}

Deno.test("CLI runs under seccomp filter mode 2 while generating", async () => {
  assert.equal(await seccompWhileRunning([]), "2");
});

Deno.test("CLI --unsecure runs with seccomp off", async () => {
  assert.equal(await seccompWhileRunning(["--unsecure"]), "0");
});
