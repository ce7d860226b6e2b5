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

Deno.test("--chat runs /stats, /dump, /undo, /push, /pop, /context; refuses unknown commands", async () => {
  const out = await runCli(["-m", CHATML, "--chat", "--temp", "0", "-n", "6", "-t", "1"], {
    stdin: [
      "Hi",
      "/stats",
      "/push",
      "/dump",
      "/undo",
      "/dump",
      "/pop",
      "/context",
      "/bogus",
      "//x",
      "/stats",
      "/exit",
      "",
    ].join("\n"),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /last answer: prompt \d+ tokens in [\d.]+ ms/);
  assert.match(out.stdout, /this chat: 1 answer, /);
  // /dump prints the conversation as the model reads it; /undo took it back, /pop restored it.
  const dumps = out.stdout.split("<|im_start|>user\nHi<|im_end|>").length - 1;
  assert.equal(dumps, 1, out.stdout);
  assert.match(
    out.stdout,
    /context: the conversation takes \d+ of \d+ tokens \([\d.]+%\); the model was trained on 2048/,
  );
  assert.match(out.stderr, /took back the last message and its answer/);
  assert.match(out.stderr, /back to the saved conversation \(stack depth 0, 1 messages\)/);
  assert.match(out.stderr, /unknown command \/bogus; \/help lists the commands/);
  // Nothing was sent for /bogus; "//x" was sent as "/x": two answers in all.
  assert.match(out.stdout, /this chat: 2 answers, /);
});

Deno.test("--chat reads its template from --chat-template-file, which wins over --chat-template", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat_template_file_" });
  try {
    const file = `${dir}/t.jinja`;
    await Deno.writeTextFile(
      file,
      "{% for m in messages %}<<{{ m.role }}|{{ m.content }}>>{% endfor %}" +
        "{% if add_generation_prompt %}<<assistant|{% endif %}",
    );
    for (const extra of [[], ["--chat-template", "chatml"]]) {
      const out = await runCli(
        [
          "-m",
          CHATML,
          "--chat",
          ...extra,
          "--chat-template-file",
          file,
          "--temp",
          "0",
          "-n",
          "4",
          "-t",
          "1",
        ],
        { stdin: "Hi\n/dump\n" },
      );
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /<<user\|Hi>><<assistant\|/, out.stdout);
      assert.doesNotMatch(out.stdout, /<\|im_start\|>/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("llama.cpp's -cnv, -no-cnv, -sys and -sysf: the chat, the completion, the system message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat_system_" });
  try {
    const file = `${dir}/system.txt`;
    await Deno.writeTextFile(file, "Be brief.\n");
    const args = ["-m", CHATML, "--temp", "0", "-n", "4", "-t", "1"];
    for (const extra of [["-cnv", "-sys", "Be brief."], ["--conversation", "-sysf", file]]) {
      const out = await runCli([...args, ...extra], { stdin: "Hi\n/dump\n" });
      assert.equal(out.code, 0, out.stderr);
      assert.match(
        out.stdout,
        /<\|im_start\|>system\nBe brief\.<\|im_end\|>\n<\|im_start\|>user\nHi/,
      );
    }
    // -sys wins over -p as the chat's system message.
    const both = await runCli([...args, "-cnv", "-p", "Be long.", "-sys", "Be brief."], {
      stdin: "Hi\n/dump\n",
    });
    assert.match(both.stdout, /system\nBe brief\./);
    assert.doesNotMatch(both.stdout, /Be long/);
    // -no-cnv: a completion of -p, where -sys has no part (one note says so).
    const completion = await runCli([...args, "-no-cnv", "-sys", "x", "-p", "Once upon a time"]);
    assert.equal(completion.code, 0, completion.stderr);
    assert.ok(completion.stdout.startsWith("Once upon a time"), completion.stdout);
    assert.match(
      completion.stderr,
      /^llamafile: note: -sys\/-sysf give the chat's system message; a completion of the prompt does not use it\n/,
    );
    const missing = await runCli([...args, "-cnv", "-sysf", `${dir}/missing.txt`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^llamafile: Cannot read system prompt file ".*missing\.txt": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-st answers one message and ends; --display-prompt echoes, llama-completion's interactive flags are refused", async () => {
  const single = await runCli(["-m", CHATML, "-cnv", "-st", "--temp", "0", "-n", "6", "-t", "1"], {
    stdin: "Hi\nnever read\n",
  });
  assert.equal(single.code, 0, single.stderr);
  const both = await runCli(["-m", CHATML, "-cnv", "--temp", "0", "-n", "6", "-t", "1"], {
    stdin: "Hi\nnever read\n",
  });
  // One answer line against two: the second message was never read.
  assert.equal(single.stdout.trimEnd().split("\n").length, 1, single.stdout);
  assert.ok(both.stdout.startsWith(single.stdout), `${both.stdout} / ${single.stdout}`);
  assert.ok(both.stdout.length > single.stdout.length);
  const shown = await runCli(
    ["-m", CHATML, "-p", "Once", "--no-display-prompt", "--display-prompt", "-n", "2", "-t", "1"],
  );
  assert.ok(shown.stdout.startsWith("Once"), shown.stdout);
  for (const args of [["-i"], ["--in-prefix", "x"], ["-gan", "2"], ["-o", "out.txt"]]) {
    const out = await runCli(["-m", CHATML, "-p", "x", ...args]);
    assert.equal(out.code, 2, out.stderr);
    assert.equal(out.stderr.split("\n")[0]!.startsWith("llamafile: "), true, out.stderr);
  }
});
