import assert from "node:assert/strict";
import { cliCommandArgs, runCli, STORIES, STORIES_GREEDY } from "./helpers.ts";

function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.match(lines[0]!, pattern);
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace expected, got: ${stderr}`);
}

Deno.test("CLI completes stdin greedily with only the generated text on stdout", async () => {
  const out = await runCli(
    [
      "-m",
      STORIES,
      "-f",
      "/dev/stdin",
      "-n",
      "40",
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
    ],
    { stdin: "Once upon a time\n" },
  );
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, STORIES_GREEDY);
  assert.match(out.stderr, /prompt \d+ tokens .* generated 40 tokens/);
});

Deno.test("CLI echoes the prompt unless --no-display-prompt", async () => {
  const out = await runCli([
    "-m",
    STORIES,
    "-p",
    "Once upon a time",
    "-n",
    "40",
    "--temp",
    "0",
    "-t",
    "1",
    "--log-disable",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, "Once upon a time" + STORIES_GREEDY);
  assert.equal(out.stderr, "");
});

Deno.test("CLI --grammar constrains the answer to yes or no", async () => {
  const out = await runCli([
    "-m",
    STORIES,
    "-p",
    "Is the sky blue? Answer:",
    "--grammar",
    'root ::= "yes" | "no"',
    "--temp",
    "0",
    "--no-display-prompt",
    "-t",
    "1",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^(yes|no)\n?$/);
});

Deno.test("CLI -j yields JSON matching the schema", async () => {
  const schema = '{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}';
  for (const temp of ["0", "0.8"]) {
    const out = await runCli([
      "-m",
      STORIES,
      "-p",
      "Data:",
      "-j",
      schema,
      "--temp",
      temp,
      "-s",
      "7",
      "--no-display-prompt",
      "-t",
      "1",
      "-n",
      "200",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const value = JSON.parse(out.stdout);
    assert.equal(typeof value, "object");
    assert.ok(Number.isInteger(value.n), out.stdout);
  }
});

Deno.test("CLI -r stops at a reverse prompt and leaves it out", async () => {
  const out = await runCli([
    "-m",
    STORIES,
    "-p",
    "Once upon a time",
    "-r",
    "Lily",
    "--temp",
    "0",
    "-t",
    "1",
    "--no-display-prompt",
    "-n",
    "40",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, ", there was a little girl named ");
});

Deno.test("CLI reports a missing model, a directory, a truncated and a non-GGUF file in one line with exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(STORIES);
    await Deno.writeFile(`${dir}/truncated.gguf`, bytes.subarray(0, 600_000));
    await Deno.writeFile(`${dir}/header-only.gguf`, bytes.subarray(0, 2000));
    const bad = bytes.slice(0, 4096);
    bad.set(new TextEncoder().encode("GGUX"));
    await Deno.writeFile(`${dir}/magic.gguf`, bad);
    const cases: [string, RegExp][] = [
      [`${dir}/missing.gguf`, /^llamafile: Cannot load model ".*missing.gguf": no such file$/],
      [dir, /^llamafile: Cannot load model ".*": it is a directory$/],
      [
        `${dir}/truncated.gguf`,
        /^llamafile: Cannot load model ".*truncated.gguf": .*(corrupted|incomplete|bounds|file is truncated: tensor data ends at byte \d+ but the file has only 600000 bytes)/,
      ],
      [`${dir}/header-only.gguf`, /^llamafile: Cannot load model ".*header-only.gguf": /],
      [`${dir}/magic.gguf`, /^llamafile: Cannot load model ".*magic.gguf": bad GGUF magic "GGUX"$/],
    ];
    for (const [model, pattern] of cases) {
      const out = await runCli(["-m", model, "-p", "hi", "-t", "1"]);
      assert.equal(out.code, 1, `${model}: ${out.stderr}`);
      assert.equal(out.stdout, "");
      assertOneLineError(out.stderr, pattern);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI exits 2 with one line and a hint on usage errors", async () => {
  for (const args of [["--bogus"], ["-n", "abc"], ["--cli", "-m", STORIES]]) {
    const out = await runCli(args);
    assert.equal(out.code, 2, out.stderr);
    const lines = out.stderr.trim().split("\n");
    assert.equal(lines.length, 2, out.stderr);
    assert.match(lines[1]!, /--help/);
  }
});

Deno.test("CLI --help and --version exit 0 on stdout", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /USAGE/);
  assert.match(help.stdout, /--n-gpu-layers/);
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  // The llama.cpp build named as the loaded libraries report it.
  assert.match(
    version.stdout,
    /^llamafile \d+\.\d+\.\d+ \(llama\.cpp v0\.5\.0: libllama \S+, ggml \S+, commit [0-9a-f]+, CPU backend [^;]+; deno \S+\)\n$/,
  );
});

Deno.test("CLI ends quietly when stdout is closed early", async () => {
  const command = new Deno.Command("bash", {
    args: [
      "-c",
      `"${Deno.execPath()}" ${
        cliCommandArgs([
          "-m",
          STORIES,
          "-p",
          "Once upon a time",
          "--ignore-eos",
          "-n",
          "3000",
          "-c",
          "4096",
          "-t",
          "1",
        ])
          .map((word) => `'${word}'`).join(" ")
      } | head -c 10; echo " rc=\${PIPESTATUS[0]}"`,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await command.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(stdout, "Once upon  rc=0\n");
  assert.ok(!/error|panic|at /i.test(stderr.replace(/llamafile: prompt.*\n?/, "")), stderr);
});

Deno.test("CLI exits 130 on SIGINT after printing what it generated", async () => {
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
    ]),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (text.length < 200) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  child.kill("SIGINT");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 130);
  assert.ok(text.startsWith("Once"), text.slice(0, 50));
});

Deno.test("CLI fails with one line and nothing on stdout on a bad grammar or logit bias", async () => {
  for (const extra of [["--grammar", 'root ::= "a" ('], ["-l", "99999+1"]]) {
    const out = await runCli(["-m", STORIES, "-p", "Once upon a time", "-t", "1", ...extra]);
    assert.equal(out.code, 1, out.stderr);
    assert.equal(out.stdout, "");
    assertOneLineError(out.stderr, /^llamafile: Cannot (parse grammar|bias token 99999)/);
  }
});

Deno.test("CLI -bf reads the prompt file as it is, its trailing newline kept (-f drops it)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/prompt.txt`;
    await Deno.writeTextFile(file, "Once upon a time\n");
    const args = ["-m", STORIES, "-n", "3", "-t", "1", "--temp", "0", "--log-disable"];
    const binary = await runCli([...args, "-bf", file]);
    const text = await runCli([...args, "-f", file]);
    assert.equal(binary.code, 0, binary.stderr);
    assert.ok(binary.stdout.startsWith("Once upon a time\n"), JSON.stringify(binary.stdout));
    assert.ok(text.stdout.startsWith("Once upon a time,"), JSON.stringify(text.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
