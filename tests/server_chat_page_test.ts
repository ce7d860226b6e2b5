/**
 * The chat page in a real Chromium against the real server (`runServer`, the ChatML test
 * model): every check of `chat_page_checks.ts` with an API key (`--ignore-eos` keeps answers
 * long enough for the Stop check; the markdown check makes the model write markdown through
 * the page's grammar setting, which a completed grammar ends despite `--ignore-eos`); and the
 * page waiting while the server loads the model (it listens first and answers 503 meanwhile). Needs `/usr/bin/chromium`. Set
 * `CHAT_PAGE_SHOTS=<dir>` to keep the screenshots.
 */
import assert from "node:assert/strict";
import { parseCliArgs } from "../lib/cli/options.ts";
import { type LlamaModel, loadModel } from "../lib/engine/model.ts";
import { runServer } from "../server.ts";
import { loadProjector } from "../lib/engine/projector.ts";
import { launchChromium, runChatPageChecks, runImageChecks } from "./chat_page_checks.ts";
import { runCli } from "./helpers.ts";
import { CHAT_MODEL } from "./server_helpers.ts";
import { gemmaTurn, visionFiles } from "./vision_helpers.ts";

function serverOptions(extra: string[]) {
  return parseCliArgs([
    "--server",
    "--nobrowser",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "-m",
    CHAT_MODEL,
    "-t",
    "1",
    ...extra,
  ]);
}

Deno.test("chat page works against the real server (Chromium)", async () => {
  const key = "sk-page-test";
  const options = serverOptions(["--api-key", key, "-np", "2", "-c", "16384", "--ignore-eos"]);
  using model = await loadModel(CHAT_MODEL);
  const stop = new AbortController();
  let url!: (value: string) => void;
  const ready = new Promise<string>((resolve) => (url = resolve));
  const running = runServer(model, options, {
    signal: stop.signal,
    log: () => {},
    onReady: (info) => url(info.url),
  });
  const keep = Deno.env.get("CHAT_PAGE_SHOTS");
  const shots = keep ? `${keep}/real` : await Deno.makeTempDir({ prefix: "chat_page_shots_" });
  if (keep) await Deno.mkdir(shots, { recursive: true });
  try {
    const base = await Promise.race([ready, running.then(() => "")]);
    assert.ok(base !== "", "the server stopped before it was ready");
    const result = await runChatPageChecks(base, {
      apiKey: key,
      maxTokens: 16,
      stopMaxTokens: 8000,
      screenshotDir: shots,
    });
    assert.equal(result.screenshots.length, 7);
    assert.equal(result.requests[0]?.stream, true);
    assert.equal(result.requests[0]?.top_k, 5);
  } finally {
    stop.abort();
    await running;
    if (!keep) await Deno.remove(shots, { recursive: true });
  }
});

Deno.test("chat page waits while the real server loads the model, then answers (Chromium)", async () => {
  const options = serverOptions(["-np", "1", "-c", "1024", "-n", "32"]);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const stop = new AbortController();
  let url!: (value: string) => void;
  const listening = new Promise<string>((resolve) => (url = resolve));
  const running = runServer(
    async (): Promise<LlamaModel> => {
      await gate;
      return await loadModel(CHAT_MODEL);
    },
    options,
    {
      signal: stop.signal,
      log: () => {},
      onListening: (info) => url(info.url),
    },
  );
  const browser = await launchChromium();
  try {
    const base = await listening;
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(base);
    await page.locator("#model", { hasText: "loading model" }).waitFor();
    await page.locator("#status", { hasText: "loading the model" }).waitFor();
    assert.equal(await page.locator("#settings").getAttribute("open"), null, "settings open");
    // A message sent meanwhile waits for the model instead of failing.
    await page.locator("#input").fill("Hello");
    await page.locator("#input").press("Enter");
    await page.waitForTimeout(1500);
    assert.equal(await page.locator(".msg.error").count(), 0, "an error was shown");
    assert.equal(
      await page.locator(".msg.assistant").getAttribute("data-state"),
      "streaming",
      "the answer did not wait",
    );
    release();
    await page.locator('.msg.assistant[data-state="done"]').waitFor();
    assert.ok((await page.locator(".msg.assistant").textContent() ?? "").length > 0);
    assert.equal(await page.locator("#model").textContent(), "stories260K-chatml-test.gguf");
    assert.match(
      await page.locator("#context-info").textContent() ?? "",
      /^context 1024 · trained 2048$/,
    );
    assert.equal(await page.locator("#status").textContent(), "");
    // The server's defaults show where the settings are empty.
    assert.equal(await page.locator("#top-k").getAttribute("placeholder"), "40");
    assert.equal(await page.locator("#temperature").getAttribute("placeholder"), "0.8");
    assert.deepEqual(errors, []);
  } finally {
    release();
    await browser.close();
    stop.abort();
    await running;
  }
});

Deno.test("chat page sends an image to the real server with a projector and shows the CLI's answer (Chromium)", async () => {
  const files = await visionFiles();
  const prompt = "What is in the picture?";
  const stop = new AbortController();
  try {
    const cli = await runCli([
      "-m",
      files.model,
      "--mmproj",
      files.mmproj,
      "--image",
      files.png,
      "-p",
      gemmaTurn(prompt),
      "-n",
      "16",
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const options = parseCliArgs([
      "--server",
      "--nobrowser",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "-m",
      files.model,
      "--mmproj",
      files.mmproj,
      "-t",
      "1",
    ]);
    using model = await loadModel(files.model);
    let url!: (value: string) => void;
    const ready = new Promise<string>((resolve) => (url = resolve));
    const running = runServer(model, options, {
      signal: stop.signal,
      log: () => {},
      projector: (m) => loadProjector(m, files.mmproj, { threads: 1 }),
      onReady: (info) => url(info.url),
    });
    try {
      const base = await Promise.race([ready, running.then(() => "")]);
      assert.ok(base !== "", "the server stopped before it was ready");
      const result = await runImageChecks(base, {
        image: await Deno.readFile(files.png),
        mime: "image/png",
        prompt,
        expectedAnswer: cli.stdout,
        maxTokens: 16,
        temperature: 0,
      });
      assert.equal(result.answers[0], cli.stdout);
      assert.equal(result.requests[0]?.temperature, 0);
    } finally {
      stop.abort();
      await running;
    }
  } finally {
    await files.close();
  }
});
