// deno-lint-ignore-file no-control-regex
/**
 * The terminal chat on a real pseudo-terminal (util-linux `script`), through `deno task
 * llamafile` and through a packed llamafile: Ctrl-C stops the answer and the chat goes on, 10
 * times of 10, with the line editor (raw mode: Ctrl-C is a key) and without it (`TERM=dumb`:
 * Ctrl-C is a SIGINT the terminal sends to the whole process group, which `launch.ts` must
 * not deliver twice); line editing, history, commands, colours; a clean newline on Ctrl-D.
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";
import { Pty, shQuote } from "./pty.ts";

const CHATML = `${ROOT}/../shared/models/stories260K-chatml-test.gguf`;
/** Answers that go on for seconds: no end of turn, a context of 8192 tokens. */
const LONG_ANSWERS = ["--chat", "-t", "1", "--temp", "0", "-n", "-1", "--ignore-eos", "-c", "8192"];
const ROUNDS = 10;

const dir = await Deno.makeTempDir({ prefix: "chat_pty_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** The environment of a run: the user's home (its caches), a terminal type, `extra`. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? dir,
    TERM: "xterm-256color",
    ...extra,
  };
}

/** A packed llamafile extracts its runtime into this test's own cache. */
const PACKED_CACHE = { XDG_CACHE_HOME: `${dir}/cache` };

/** `deno task llamafile ARGS`, as a user types it in the checkout. */
function viaTask(args: string[]): string[] {
  return [Deno.execPath(), "task", "-q", "llamafile", ...args];
}

let packed: Promise<string> | null = null;
/** The ChatML test model packed into a llamafile (once for this file). */
function llamafile(): Promise<string> {
  packed ??= (async () => {
    const path = `${dir}/chat.llamafile`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "llamafile", "pack", "-m", CHATML, "-o", path],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return path;
  })();
  return packed;
}

/**
 * Sends a message, waits for the answer to stream, presses Ctrl-C, and waits for the chat to
 * say it stopped and to prompt again; returns the output position after the new prompt.
 */
async function stopOneAnswer(pty: Pty, at: number, round: number): Promise<number> {
  await pty.type(`Tell me story number ${round}.\r`);
  // The answer starts on the line after the message.
  at = await pty.waitFor(`number ${round}.`, at);
  at = await pty.waitFor(/\r\n[^\r\n]*[A-Za-z]{2}/, at);
  await pty.type("\x03");
  at = await pty.waitFor("llamafile: (stopped)", at);
  return await pty.waitFor("> ", at);
}

async function ctrlCRounds(argv: string[], extraEnv: Record<string, string>): Promise<void> {
  const pty = Pty.spawn(argv, { cwd: ROOT, env: env(extraEnv) });
  try {
    let at = await pty.waitFor("> ", 0, 60_000);
    for (let round = 1; round <= ROUNDS; round++) at = await stopOneAnswer(pty, at, round);
    // Still the same chat: ten exchanges were kept.
    await pty.type("/stats\r");
    at = await pty.waitFor(/this chat: (\d+) answers/, at);
    assert.match(pty.output.slice(0, at), new RegExp(`this chat: ${ROUNDS} answers[^]*$`));
    await pty.type("/exit\r");
    assert.equal(await pty.close(), 0, pty.output.slice(-2000));
  } finally {
    pty.kill();
  }
}

Deno.test("--chat on a terminal through deno task: Ctrl-C stops the answer, 10 of 10", async () => {
  await ctrlCRounds(viaTask(["-m", CHATML, ...LONG_ANSWERS]), {});
});

Deno.test("--chat on a TERM=dumb terminal through deno task: the SIGINT of Ctrl-C stops the answer, 10 of 10", async () => {
  await ctrlCRounds(viaTask(["-m", CHATML, ...LONG_ANSWERS]), { TERM: "dumb" });
});

Deno.test("--chat in a packed llamafile: Ctrl-C stops the answer, 10 of 10, with and without the editor", async () => {
  const path = await llamafile();
  await ctrlCRounds([path, ...LONG_ANSWERS], PACKED_CACHE);
  await ctrlCRounds([path, ...LONG_ANSWERS], { ...PACKED_CACHE, TERM: "dumb" });
});

Deno.test("--chat line editor: editing keys, history, Ctrl-R, Tab, commands, colours, Ctrl-D", async () => {
  const args = ["-m", CHATML, "--chat", "-t", "1", "--temp", "0", "-n", "4"];
  const pty = Pty.spawn(viaTask(args), { cwd: ROOT, env: env() });
  try {
    let at = await pty.waitFor("> ", 0, 60_000);
    // Colours on a terminal: the prompt is bold green.
    assert.match(pty.output, /\x1b\[1m\x1b\[32m> /);
    // Arrows, Home/End and Ctrl-A/E/K edit the line; what is sent is the edited line.
    await pty.type("wrld\x1b[D\x1b[D\x1b[Do\x01hello \x05!!\x1b[D\x0b\r");
    at = await pty.waitFor("hello world!\x1b[K", at);
    at = await pty.waitFor("> ", at);
    await pty.type("/dump\r");
    at = await pty.waitFor("<|im_start|>user\r\nhello world!<|im_end|>", at);
    at = await pty.waitFor("> ", at);
    // Up recalls the last line, Ctrl-R finds an older one; Ctrl-U clears the line.
    await pty.type("\x1b[A");
    at = await pty.waitFor("/dump\x1b[K", at);
    await pty.type("\x15\x12hello");
    at = await pty.waitFor("(reverse-i-search)'hello': hello world!", at);
    await pty.type("\x07\x15/und\t");
    at = await pty.waitFor("/undo\x1b[K", at);
    await pty.type("\r");
    at = await pty.waitFor("took back the last message and its answer", at);
    await pty.type("/what\r");
    at = await pty.waitFor("unknown command /what; /help lists the commands", at);
    await pty.type("/help\r");
    at = await pty.waitFor("Ctrl-R searches it", at);
    await pty.type("/context\r");
    at = await pty.waitFor(/context: the conversation takes \d+ of \d+ tokens/, at);
    // Ctrl-C at an empty prompt asks for a second one; the chat goes on.
    at = await pty.waitFor("> ", at);
    await pty.type("\x03");
    at = await pty.waitFor("Ctrl-C again, Ctrl-D or /exit to quit", at);
    at = await pty.waitFor("> ", at);
    // Ctrl-L clears the screen.
    await pty.type("\x0c");
    at = await pty.waitFor("\x1b[H\x1b[2J", at);
    // Ctrl-D on an empty line quits with the cursor on a new line and the terminal restored.
    await pty.type("\x04");
    assert.equal(await pty.close(), 0);
    const tail = pty.output.slice(at);
    assert.match(tail, /\r\n\x1b\[\?2004l$/, JSON.stringify(tail));
  } finally {
    pty.kill();
  }
});

Deno.test("--chat with NO_COLOR writes no colours; two Ctrl-C at an empty prompt quit with 130", async () => {
  const args = ["-m", CHATML, "--chat", "-t", "1", "--temp", "0", "-n", "4"];
  const pty = Pty.spawn(viaTask(args), { cwd: ROOT, env: env({ NO_COLOR: "1" }) });
  try {
    let at = await pty.waitFor("> ", 0, 60_000);
    await pty.type("Hi\r");
    // The answer (4 tokens) ends, and an empty prompt is drawn.
    at = await pty.waitFor("> \x1b[K\r\x1b[2C", at);
    await pty.type("\x03");
    at = await pty.waitFor("Ctrl-C again", at);
    at = await pty.waitFor("> ", at);
    await pty.type("\x03");
    assert.equal(await pty.close(), 130);
    assert.doesNotMatch(pty.output, /\x1b\[[0-9;]*m/, "an SGR colour sequence was written");
  } finally {
    pty.kill();
  }
});

Deno.test("--chat killed with SIGTERM gives the terminal back in cooked mode", async () => {
  const chat = viaTask(["-m", CHATML, "--chat", "-t", "1"]).map(shQuote).join(" ");
  // timeout --foreground lets the chat read the terminal; after it, stty shows the modes.
  const script = `timeout --foreground -s TERM 3 ${chat} 2>/dev/null; echo "rc=$?"; stty -a`;
  const pty = Pty.spawn(["sh", "-c", script], { cwd: ROOT, env: env() });
  try {
    assert.equal(await pty.close(), 0);
    const after = pty.output.slice(pty.output.indexOf("rc="));
    assert.match(after, /^rc=124\r?\n/, after);
    assert.match(after, /(?<!-)\bicanon\b/, after);
    assert.match(after, /(?<!-)\becho\b/, after);
    assert.match(pty.output, /\x1b\[\?2004l/, "bracketed paste left on");
  } finally {
    pty.kill();
  }
});
