/**
 * The server's request log: one line per request once its response has ended, streams
 * included, with the tokens of a generation; none without a log function (`--log-disable`).
 */
import assert from "node:assert/strict";
import { createApp, runServer } from "../server.ts";
import { parseCliArgs } from "../lib/cli/options.ts";
import { loadModel } from "../lib/engine/model.ts";
import { formatRequestLog } from "../lib/server/middleware/request_log.ts";
import { CHAT_MODEL, post, testEngine } from "./server_helpers.ts";

const CHAT = {
  messages: [{ role: "user", content: "Tell me a story." }],
  temperature: 0,
  max_tokens: 6,
};

Deno.test("formatRequestLog() names method, path, status, time and tokens", () => {
  assert.equal(
    formatRequestLog({
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      ms: 35.4,
      tokens: { promptTokens: 12, completionTokens: 40 },
      cancelled: false,
      requestId: "ab12",
    }),
    "llamafile: POST /v1/chat/completions 200 35 ms, prompt 12 + generated 40 tokens (request ab12)",
  );
  assert.equal(
    formatRequestLog({
      method: "GET",
      path: "/health",
      status: 503,
      ms: 0.4,
      tokens: null,
      cancelled: true,
      requestId: "cd34",
    }),
    "llamafile: GET /health 503 0 ms, client went away (request cd34)",
  );
});

Deno.test("requestLog() writes one line per request, after a stream has ended", async () => {
  await using t = await testEngine();
  const lines: string[] = [];
  const app = createApp({ state: t.state, options: { requestLog: (line) => lines.push(line) } });

  const health = await app.request("/health");
  assert.equal(health.status, 200);
  await health.body?.cancel();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^llamafile: GET \/health 200 \d+ ms \(request [0-9a-f]{16}\)$/);
  assert.ok(lines[0]!.endsWith(`(request ${health.headers.get("x-request-id")})`));

  const whole = await app.request("/v1/chat/completions", post(CHAT));
  const usage = (await whole.json()).usage;
  assert.equal(lines.length, 2);
  assert.match(
    lines[1]!,
    new RegExp(
      `^llamafile: POST /v1/chat/completions 200 \\d+ ms, prompt ${usage.prompt_tokens} \\+ generated ${usage.completion_tokens} tokens`,
    ),
  );

  const streamed = await app.request("/v1/chat/completions", post({ ...CHAT, stream: true }));
  assert.equal(lines.length, 2, "logged before the stream ended");
  const text = await streamed.text();
  assert.match(text, /data: \[DONE\]/);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(lines.length, 3);
  assert.match(
    lines[2]!,
    /^llamafile: POST \/v1\/chat\/completions 200 \d+ ms, prompt \d+ \+ generated 6 tokens/,
  );

  const bad = await app.request("/v1/chat/completions", post({ messages: "x" }));
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.match(lines[3]!, /^llamafile: POST \/v1\/chat\/completions 400 \d+ ms \(request/);

  const gone = await app.request(
    "/v1/chat/completions",
    post({ ...CHAT, stream: true, max_tokens: 4000, ignore_eos: true }),
  );
  const reader = gone.body!.getReader();
  await reader.read();
  await reader.cancel();
  for (let i = 0; i < 100 && lines.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  assert.match(
    lines[4]!,
    /^llamafile: POST \/v1\/chat\/completions 200 \d+ ms, prompt \d+ \+ generated \d+ tokens, client went away/,
  );
});

Deno.test("createApp() logs no request without requestLog", async () => {
  await using t = await testEngine();
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const app = createApp({ state: t.state });
    await (await app.request("/health")).body?.cancel();
    await (await app.request("/v1/chat/completions", post(CHAT))).body?.cancel();
  } finally {
    console.error = original;
  }
  assert.deepEqual(lines, []);
});

Deno.test("runServer() logs requests on its log, and none with --log-disable", async () => {
  using model = await loadModel(CHAT_MODEL);
  for (const quiet of [false, true]) {
    const args = ["--server", "--nobrowser", "--port", "0", "-m", CHAT_MODEL, "-t", "1"];
    const options = parseCliArgs(quiet ? [...args, "--log-disable"] : args);
    const lines: string[] = [];
    const stop = new AbortController();
    let url!: (value: string) => void;
    const ready = new Promise<string>((resolve) => (url = resolve));
    const running = runServer(model, options, {
      signal: stop.signal,
      log: (line) => lines.push(line),
      onReady: (info) => url(info.url),
    });
    try {
      const response = await fetch(`${await ready}health`);
      await response.body?.cancel();
      assert.equal(response.status, 200);
      // Logged, the answer keeps its length (not turned into a chunked stream).
      assert.match(response.headers.get("content-length") ?? "", /^\d+$/);
    } finally {
      stop.abort();
      await running;
    }
    const logged = lines.filter((l) => /^llamafile: GET \/health 200 /.test(l));
    assert.equal(logged.length, quiet ? 0 : 1, lines.join("\n"));
  }
});
