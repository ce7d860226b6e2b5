import assert from "node:assert/strict";
import { runCli, STORIES } from "./helpers.ts";

const PROMPT = "Once upon a time there was a little dog named Max who liked to run in the park";

Deno.test("--prompt-cache saves the prompt's state and the next run reuses it with the same output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/prompt.bin`;
    const base = ["-m", STORIES, "-n", "20", "--temp", "0", "-t", "1", "--no-display-prompt"];
    const plain = await runCli([...base, "-p", PROMPT]);
    const first = await runCli([...base, "-p", PROMPT, "--prompt-cache", cache]);
    const second = await runCli([...base, "-p", PROMPT, "--prompt-cache", cache]);
    for (const out of [plain, first, second]) assert.equal(out.code, 0, out.stderr);
    assert.ok((await Deno.stat(cache)).size > 0);
    assert.doesNotMatch(first.stderr, /from the prompt cache/);
    assert.match(second.stderr, /prompt 28 tokens \(27 from the prompt cache\)/);
    assert.equal(first.stdout, plain.stdout);
    assert.equal(second.stdout, plain.stdout);
    // A prompt that shares only a prefix reuses that prefix.
    const other = await runCli([
      ...base,
      "-p",
      "Once upon a time there was a cat",
      "--prompt-cache",
      cache,
    ]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /\((\d+) from the prompt cache\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--prompt-cache ignores a file that is not a state file, and replaces it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/junk.bin`;
    await Deno.writeTextFile(cache, "not a llama.cpp state file");
    const out = await runCli([
      "-m",
      STORIES,
      "-p",
      "Once upon a time",
      "-n",
      "5",
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
      "--prompt-cache",
      cache,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, ", there was a little");
    assert.notEqual(await Deno.readTextFile(cache).catch(() => ""), "not a llama.cpp state file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--prompt-cache-ro reuses the file's state and never writes it; a missing one is not made", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/prompt.bin`;
    const base = ["-m", STORIES, "-n", "20", "--temp", "0", "-t", "1", "--no-display-prompt"];
    const readOnly = (prompt: string) =>
      runCli([...base, "-p", prompt, "--prompt-cache", cache, "--prompt-cache-ro"]);
    const missing = await readOnly(PROMPT);
    assert.equal(missing.code, 0, missing.stderr);
    await assert.rejects(() => Deno.stat(cache), Deno.errors.NotFound);
    const first = await runCli([...base, "-p", PROMPT, "--prompt-cache", cache]);
    assert.equal(first.code, 0, first.stderr);
    const saved = await Deno.readFile(cache);
    const other = await readOnly("Once upon a time there was a cat");
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /\((\d+) from the prompt cache\)/);
    assert.deepEqual(await Deno.readFile(cache), saved, "the file is as the first run left it");
    const again = await readOnly(PROMPT);
    assert.match(again.stderr, /prompt 28 tokens \(27 from the prompt cache\)/);
    assert.equal(again.stdout, first.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
