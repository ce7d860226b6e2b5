/**
 * llama-server's flags this release took late, through the server as a user starts it and
 * through the CLI chat: `--chat-template-kwargs`, `--reasoning-effort`,
 * `--reasoning-preserve`, `-kvo`, `--no-mmproj`; the speculative, audio and video flags are
 * refused in one line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CHAT_MODEL, startServer } from "../fuzz/server_process.ts";
import { runCli } from "./helpers.ts";

/** A template that shows the variables the flags set. */
const SHOW_KWARGS = "[{{ who }}|{{ reasoning_effort }}|{{ preserve_reasoning }}]" +
  "{% for m in messages %}<{{ m.role }}:{{ m.content }}>{% endfor %}";

Deno.test("--chat-template-kwargs, --reasoning-effort and --no-reasoning-preserve reach the template; a request's kwargs win", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compat_flags_" });
  try {
    const file = `${dir}/t.jinja`;
    await Deno.writeTextFile(file, SHOW_KWARGS);
    const flags = [
      "--chat-template-file",
      file,
      "--chat-template-kwargs",
      '{"who":"flag","reasoning_effort":"low"}',
      "--reasoning-effort",
      "high",
      "--no-reasoning-preserve",
      "-kvo",
      "--mmproj",
      `${dir}/none.gguf`,
      "--no-mmproj",
    ];
    {
      await using server = await startServer(["-m", CHAT_MODEL, "-t", "1", ...flags]);
      const apply = async (extra: Record<string, unknown>) => {
        const response = await fetch(`${server.url}/apply-template`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], ...extra }),
        });
        assert.equal(response.status, 200);
        return (await response.json()).prompt as string;
      };
      assert.match(await apply({}), /^\[flag\|high\|[Ff]alse\]<user:Hi>/);
      assert.match(
        await apply({ chat_template_kwargs: { who: "request" } }),
        /^\[request\|high\|[Ff]alse\]/,
      );
    }
    // The CLI chat renders with them too.
    const chat = await runCli(
      ["-m", CHAT_MODEL, "--chat", "-n", "2", "-t", "1", "--temp", "0", ...flags],
      { stdin: "Hi\n/dump\n" },
    );
    assert.equal(chat.code, 0, chat.stderr);
    assert.match(chat.stdout, /\[flag\|high\|[Ff]alse\]<user:Hi>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("llama-server's speculative, audio and video flags and --log-prompts-dir are refused in one line, exit 2", async () => {
  for (
    const [args, pattern] of [
      [["-td", "2"], /speculative decoding is not available/],
      [["--spec-ngram-size-n", "3"], /speculative decoding is not available/],
      [["--video-fps", "2"], /only images are read here/],
      [["--log-prompts-dir", "/tmp/x"], /the sandboxed server writes none/],
      [["--chat-template-kwargs", "not json"], /--chat-template-kwargs must be a JSON object/],
    ] as const
  ) {
    const out = await runCli(["-m", CHAT_MODEL, "--server", "--port", "0", ...args]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr.split("\n")[0]!, pattern);
  }
});
