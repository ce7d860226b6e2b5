/**
 * A packed llamafile speaking about itself: one stderr line for the first run's extraction
 * (what, how big, where) and none after; `--help` with its `.args` defaults; `info` with no
 * FILE describes the llamafile; `info --help`; `--version` names the llama.cpp build.
 */
import assert from "node:assert/strict";
import { ROOT, STORIES } from "./helpers.ts";

const dir = await Deno.makeTempDir({ prefix: "llamafile_self_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const decoder = new TextDecoder();
/** The runtime cache of this file's runs: empty until the first test extracts into it. */
const CACHE = `${dir}/cache`;

let packed: Promise<string> | null = null;
function llamafile(): Promise<string> {
  packed ??= (async () => {
    const path = `${dir}/s.llamafile`;
    await Deno.writeTextFile(`${dir}/A`, "-n 40\n--temp 0\n-t 1\n--no-display-prompt\n...\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "llamafile", "pack", "-m", STORIES, "--args", `${dir}/A`, "-o", path],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    return path;
  })();
  return packed;
}

async function run(path: string, args: string[], cache: string) {
  const out = await new Deno.Command(path, {
    args,
    cwd: dir,
    stdin: "null",
    env: { XDG_CACHE_HOME: cache, NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("a llamafile says once, on one stderr line, that it extracts its runtime", async () => {
  const path = await llamafile();
  const cache = CACHE;
  const first = await run(path, ["--version"], cache);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, first.stderr);
  assert.match(
    lines[0]!,
    new RegExp(
      `^llamafile: first run: extracting the linux-x64 runtime \\(\\d+\\.\\d MB: deno, the app, libllama\\) into ${cache}/llamafile/[0-9a-f]+$`,
    ),
  );
  const second = await run(path, ["--version"], cache);
  assert.equal(second.stderr, "");
  assert.match(
    second.stdout,
    /^llamafile \S+ \(llama\.cpp v0\.5\.0: libllama \S+, ggml \S+, commit [0-9a-f]+, CPU backend [^;]+; deno \S+\)\n$/,
  );
});

Deno.test("a llamafile's --help shows the defaults its .args set", async () => {
  const path = await llamafile();
  const help = await run(path, ["--help"], CACHE);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /\nTHIS LLAMAFILE\n/);
  assert.match(help.stdout, /\n {4}-n 40 --temp 0 -t 1 --no-display-prompt \.\.\.\n/);
  assert.match(
    help.stdout,
    /-n, --n-predict, --predict N +tokens to predict[^\n]*\(default: 40, from \.args\)/,
  );
  assert.match(help.stdout, /--temp, --temperature N +[^\n]*\(default: 0, from \.args\)/);
  assert.match(help.stdout, /--no-display-prompt +[^\n]*\(set by \.args\)/);
  // Options the .args leave alone keep their own defaults.
  assert.match(help.stdout, /--top-k N +[^\n]*\(default: 40\) \[LLAMA_ARG_TOP_K\]\n/);
});

Deno.test("a llamafile's info with no FILE describes the llamafile; info --help works", async () => {
  const path = await llamafile();
  const cache = CACHE;
  const self = await run(path, ["info"], cache);
  assert.equal(self.code, 0, self.stderr);
  const named = await run(path, ["info", path], cache);
  assert.equal(self.stdout, named.stdout);
  assert.match(self.stdout, /stories260K\.gguf/);
  const help = await run(path, ["info", "--help"], cache);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^llamafile info: describe a GGUF or a llamafile/);
  const two = await run(path, ["info", path, path], cache);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /^llamafile: info describes one FILE, got 2\n/);
});
