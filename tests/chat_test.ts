import assert from "node:assert/strict";
import { MODELS, runCli } from "./helpers.ts";

const CHATML = `${MODELS}/stories260K-chatml-test.gguf`;

Deno.test("--chat answers each message, clears on /clear and quits on /exit", async () => {
  const out = await runCli(["-m", CHATML, "--chat", "--temp", "0", "-n", "12", "-t", "1"], {
    stdin:
      "Tell me a story about a cat.\n/clear\nTell me a story about a cat.\n/exit\nnever read\n",
  });
  assert.equal(out.code, 0, out.stderr);
  // Same question on a cleared conversation at temperature 0: the same answer twice.
  const half = out.stdout.length / 2;
  assert.ok(half > 1, out.stdout);
  assert.equal(out.stdout.slice(0, half), out.stdout.slice(half));
  assert.ok(out.stdout.endsWith("\n"));
  assert.match(out.stderr, /conversation cleared/);
});

Deno.test("--chat is the default without a prompt, and ends at end of input", async () => {
  const out = await runCli(["-m", CHATML, "--temp", "0", "-n", "8", "-t", "1"], { stdin: "Hi\n" });
  assert.equal(out.code, 0, out.stderr);
  assert.ok(out.stdout.trim().length > 0);
});

Deno.test('--chat reads multi-line input between """ lines as one message', async () => {
  const one = await runCli(["-m", CHATML, "--chat", "--temp", "0", "-n", "8", "-t", "1"], {
    stdin: '"""\nline one\nline two\n"""\n',
  });
  assert.equal(one.code, 0, one.stderr);
  const answers = one.stdout.split("\n").filter((l) => l.trim() !== "");
  assert.ok(answers.length >= 1 && answers.length <= 3, one.stdout);
});
