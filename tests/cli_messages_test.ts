/**
 * What the CLI says on stderr, as a new user meets it: "did you mean" for a typo, a warning for
 * a context past the trained one (and none by default), and the timings line on a line of its
 * own in a terminal while stdout keeps its bytes.
 */
import assert from "node:assert/strict";
import { ROOT, runCli, STORIES, STORIES_GREEDY } from "./helpers.ts";
import { Pty, shQuote } from "./pty.ts";

/** What the program wrote on the terminal: without the line-clearing sequences `deno task` writes first. */
function afterTaskClears(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

Deno.test("CLI suggests the option a typo meant and exits 2", async () => {
  const out = await runCli(["-m", STORIES, "-p", "hi", "--tmep", "0"]);
  assert.equal(out.code, 2);
  assert.equal(out.stdout, "");
  assert.deepEqual(out.stderr.trim().split("\n"), [
    'llamafile: Unknown option "--tmep" (did you mean --temp?)',
    "Try 'llamafile --help' for more information.",
  ]);
});

Deno.test("CLI warns when -c exceeds the trained context, and stays within it by default", async () => {
  const args = ["-m", STORIES, "-p", "Once upon a time", "-n", "4", "--temp", "0", "-t", "1"];
  const over = await runCli([...args, "-c", "4096"]);
  assert.equal(over.code, 0, over.stderr);
  assert.match(
    over.stderr,
    /^llamafile: warning: the context of 4096 tokens exceeds the 2048 the model was trained on; answers may degrade past 2048 tokens \(-c 2048 stays within\)\n/,
  );
  const plain = await runCli(args);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^llamafile: prompt \d+ tokens/);
  assert.equal(plain.stderr.trim().split("\n").length, 1, plain.stderr);
  assert.equal((await runCli([...args, "-c", "4096", "--log-disable"])).stderr, "");
});

Deno.test("CLI in a terminal starts the timings line on a line of its own; stdout is unchanged", async () => {
  const args = ["-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0", "-t", "1"];
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/" };
  const task = [Deno.execPath(), "task", "-q", "llamafile", ...args];
  // Both streams on the terminal: a newline goes to stderr before the timings line.
  const both = Pty.spawn(task, { cwd: ROOT, env });
  assert.equal(await both.close(), 0, both.output);
  assert.equal(
    afterTaskClears(both.output).split("llamafile: prompt")[0],
    `Once upon a time${STORIES_GREEDY}\r\n`,
    JSON.stringify(both.output),
  );
  // stdout away from the terminal keeps its bytes: no newline added to it.
  const piped = await runCli(args);
  assert.equal(piped.stdout, `Once upon a time${STORIES_GREEDY}`);
  // The check: stderr's first line, in a terminal, is the timings line.
  const shell = Pty.spawn(
    ["sh", "-c", `${task.map(shQuote).join(" ")} 2>&1 >/dev/null | head -1`],
    { cwd: ROOT, env },
  );
  assert.equal(await shell.close(), 0);
  assert.match(
    afterTaskClears(shell.output),
    /^llamafile: prompt \d+ tokens in [^\r\n]*stop: length\r\n$/,
  );
});
