/**
 * The chat page in a real Chromium against the real server (`runServer`, the ChatML test
 * model, an API key). `--ignore-eos` keeps answers long enough for the Stop and Clear
 * checks. Needs `/usr/bin/chromium`.
 */
import assert from "node:assert/strict";
import { parseCliArgs } from "../lib/cli/options.ts";
import { loadModel } from "../lib/engine/model.ts";
import { runServer } from "../server.ts";
import { runChatPageChecks } from "./chat_page_checks.ts";
import { CHAT_MODEL } from "./server_helpers.ts";

Deno.test("chat page works against the real server (Chromium)", async () => {
  const key = "sk-page-test";
  const options = parseCliArgs([
    "--server",
    "--nobrowser",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--api-key",
    key,
    "-m",
    CHAT_MODEL,
    "-t",
    "1",
    "-np",
    "2",
    "-c",
    "16384",
    "--ignore-eos",
  ]);
  using model = await loadModel(CHAT_MODEL);
  const stop = new AbortController();
  let url!: (value: string) => void;
  const ready = new Promise<string>((resolve) => (url = resolve));
  const running = runServer(model, options, {
    signal: stop.signal,
    log: () => {},
    onReady: (info) => url(info.url),
  });
  try {
    const base = await Promise.race([ready, running.then(() => "")]);
    assert.ok(base !== "", "the server stopped before it was ready");
    const result = await runChatPageChecks(base, {
      apiKey: key,
      maxTokens: 16,
      stopMaxTokens: 8000,
    });
    assert.equal(result.answers.length, 4);
    assert.equal(result.requests[0]?.stream, true);
  } finally {
    stop.abort();
    await running;
  }
});
