/**
 * Real-browser checks of the chat page (`lib/ui/chat_html.ts`) against any server that serves
 * it at `baseUrl` with the OpenAI endpoints `/v1/models` and `/v1/chat/completions`.
 *
 * Drives Debian's `chromium` through `playwright-core` (`launchPersistentContext` works under
 * Deno 2.9 as is). Used by `tests/chat_page_test.ts` with an in-test server, and meant to run
 * unchanged against the real llamafile server: nothing here depends on what a model says,
 * unless `expectedAnswer` is given.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page, type Request } from "playwright-core";

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags for a quiet, offline, sandbox-less headless Chromium. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running Chromium with a fresh profile; `close()` stops it and deletes the profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh user-data-dir (a new temp folder).
 *
 * `chromium.launch()` refuses a `--user-data-dir` argument, so this uses
 * `launchPersistentContext`, which owns the profile folder.
 */
export async function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  try {
    await Deno.stat(executablePath);
  } catch (cause) {
    throw new Error(
      `Cannot start Chromium "${executablePath}": not found (apt-get install -y chromium)`,
      { cause },
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "chat_page_chromium_" });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1000, height: 760 },
    });
    return {
      context,
      async close() {
        await context.close();
        await Deno.remove(profile, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(profile, { recursive: true });
    throw error;
  }
}

/** Options for {@linkcode runChatPageChecks}. */
export interface ChatPageCheckOptions {
  /** The key the server was started with; the checks then also test the missing-key error. */
  apiKey?: string;
  /** The exact answer expected for a user message (a fake server); omit for a real model. */
  expectedAnswer?: (userText: string) => string;
  /** `max_tokens` for ordinary turns (default 24). */
  maxTokens?: number;
  /** `max_tokens` for the Stop and Clear-while-streaming checks (default 4096): it must keep
   * the server streaming long enough to be stopped. */
  stopMaxTokens?: number;
  /** Whether the server reports usage/timings so the page shows tok/s (default true). */
  expectStats?: boolean;
  /** Folder for the screenshots (default: a new temp folder). */
  screenshotDir?: string;
  /** Chromium binary (default {@linkcode CHROMIUM_PATH}). */
  executablePath?: string;
  /** Timeout for each wait, in ms (default 30000). */
  timeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@linkcode runChatPageChecks} saw. */
export interface ChatPageCheckResult {
  /** PNG screenshots: empty page, a conversation in light and dark, a narrow window. */
  screenshots: string[];
  /** The answers streamed into the page, in order. */
  answers: string[];
  /** The JSON bodies the page posted to `/v1/chat/completions`, in order. */
  requests: Record<string, unknown>[];
}

interface Posted {
  request: Request;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Asserts that `path` holds a non-empty PNG image and returns its width and height. */
export async function assertPng(path: string): Promise<{ width: number; height: number }> {
  const bytes = await Deno.readFile(path);
  assert.ok(bytes.length > 100, `screenshot "${path}" is only ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_MAGIC, `screenshot "${path}" is not a PNG`);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const size = { width: view.getUint32(16), height: view.getUint32(20) };
  assert.ok(size.width > 0 && size.height > 0, `screenshot "${path}" is empty`);
  return size;
}

/**
 * Runs every chat page check against the server at `baseUrl` (e.g. `http://127.0.0.1:8080/`)
 * in a fresh headless Chromium, and throws an `AssertionError` on the first failure.
 *
 * Checks: controls and their labels; API key error, entry and storage (with `apiKey`);
 * temperature slider/number sync; Shift+Enter newline; Enter and the Send button stream an
 * answer; the request body (model from `/v1/models`, messages with history and system prompt,
 * stream, temperature, max_tokens, stream_options, Authorization); tok/s shown; Stop aborts
 * the fetch mid-stream; Clear empties the page and the history (also mid-stream); model output,
 * error bodies and stream errors are shown as text, never HTML; dark scheme; a 360 px window;
 * no request leaves the origin; no uncaught page errors.
 */
export async function runChatPageChecks(
  baseUrl: string,
  opts: ChatPageCheckOptions = {},
): Promise<ChatPageCheckResult> {
  const timeout = opts.timeoutMs ?? 30_000;
  const maxTokens = opts.maxTokens ?? 24;
  const stopMaxTokens = opts.stopMaxTokens ?? 4096;
  const log = opts.log ?? (() => {});
  const origin = new URL(baseUrl).origin;
  const shotDir = opts.screenshotDir ?? await Deno.makeTempDir({ prefix: "chat_page_shots_" });
  const result: ChatPageCheckResult = { screenshots: [], answers: [], requests: [] };

  const browser = await launchChromium(opts.executablePath);
  try {
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.setDefaultTimeout(timeout);

    const posted: Posted[] = [];
    const failed = new Map<Request, string>();
    const pageErrors: string[] = [];
    const foreign: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("requestfailed", (r) => failed.set(r, r.failure()?.errorText ?? "?"));
    page.on("request", (r) => {
      const url = r.url();
      if (!url.startsWith("data:") && new URL(url).origin !== origin) foreign.push(url);
      if (r.method() === "POST" && new URL(url).pathname.endsWith("/v1/chat/completions")) {
        const body = r.postDataJSON() as Record<string, unknown>;
        posted.push({ request: r, body, headers: r.headers() });
        result.requests.push(body);
      }
    });

    const lastAssistant = page.locator(".msg.assistant").last();
    /** Waits for the newest answer to end; returns its state and text. */
    const settle = async () => {
      await page.waitForFunction(() => {
        const all = document.querySelectorAll(".msg.assistant");
        const last = all[all.length - 1];
        return !!last && last.getAttribute("data-state") !== "streaming";
      });
      return {
        state: await lastAssistant.getAttribute("data-state"),
        text: await lastAssistant.textContent() ?? "",
      };
    };
    const idle = async () => {
      assert.equal(await page.locator("#send").isEnabled(), true, "Send is disabled when idle");
      assert.equal(await page.locator("#stop").isDisabled(), true, "Stop is enabled when idle");
    };
    const checkAnswer = (userText: string, answer: string) => {
      assert.ok(answer.length > 0, `no answer streamed for ${JSON.stringify(userText)}`);
      if (opts.expectedAnswer) assert.equal(answer, opts.expectedAnswer(userText));
      result.answers.push(answer);
    };
    const newPost = async (before: number) => {
      await poll(() => posted.length > before, timeout, "the page to post a chat request");
      return posted[before]!;
    };

    // 1. The page and its controls.
    log("load");
    const response = await page.goto(baseUrl);
    assert.equal(response?.status(), 200, `GET ${baseUrl} answered ${response?.status()}`);
    assert.equal(await page.title(), "llamafile");
    for (const name of ["Send", "Stop", "Clear"]) {
      assert.equal(await page.getByRole("button", { name, exact: true }).count(), 1, name);
    }
    assert.equal(await page.getByLabel("Message", { exact: true }).getAttribute("id"), "input");
    assert.equal(await page.locator("#messages .msg").count(), 0);
    await idle();
    if (await page.locator("#settings").getAttribute("open") === null) {
      await page.locator("#settings summary").click();
    }
    assert.equal(
      await page.getByLabel("Temperature", { exact: true }).getAttribute("id"),
      "temperature",
    );
    assert.equal(await page.getByLabel("System prompt").getAttribute("id"), "system");
    assert.equal(await page.getByLabel("Max tokens").getAttribute("id"), "max-tokens");
    assert.equal(await page.getByLabel("API key").getAttribute("id"), "api-key");
    assert.equal(await page.locator("#temperature").inputValue(), "0.8");
    assert.equal(await page.locator("#temperature-value").inputValue(), "0.8");

    // 2. API key: refused without it, then entered, stored and sent.
    if (opts.apiKey !== undefined) {
      log("api key");
      const before = posted.length;
      await page.locator("#input").fill("Hello?");
      await page.locator("#input").press("Enter");
      const error = page.locator(".msg.error").last();
      await error.waitFor();
      assert.match(await error.textContent() ?? "", /^Error \(HTTP 401\): \S/);
      assert.equal((await newPost(before)).headers["authorization"], undefined);
      assert.equal(await page.locator(".msg.assistant").count(), 0, "failed turn left a bubble");
      assert.match(await page.locator(".msg.user").last().getAttribute("class") ?? "", /failed/);
      assert.equal(await page.locator("#input").inputValue(), "Hello?", "input not restored");
      await page.locator("#status", { hasText: "needs an API key" }).waitFor();
      assert.notEqual(await page.locator("#settings").getAttribute("open"), null);
      await idle();
      await page.locator("#api-key").fill(opts.apiKey);
      await page.locator("#api-key").press("Tab");
      assert.equal(
        await page.evaluate(() => localStorage.getItem("llamafile.apiKey")),
        opts.apiKey,
      );
      await page.locator("#clear").click();
      assert.equal(await page.locator("#messages .msg").count(), 0);
    }
    await page.waitForFunction(() => {
      const text = document.getElementById("model")?.textContent ?? "";
      return text !== "" && !text.startsWith("connecting");
    });
    const model = await page.locator("#model").textContent() ?? "";
    log(`model ${model}`);
    assert.notEqual(model, "server unreachable");
    result.screenshots.push(await shoot(page, `${shotDir}/chat_empty.png`));

    // 3. Temperature: the number and the slider follow each other.
    log("temperature");
    await page.locator("#temperature-value").fill("0.3");
    assert.equal(await page.locator("#temperature").inputValue(), "0.3");
    await page.locator("#temperature").focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.locator("#temperature-value").inputValue(), "0.35");
    await page.keyboard.press("ArrowLeft");
    assert.equal(await page.locator("#temperature-value").inputValue(), "0.3");
    await page.locator("#max-tokens").fill(String(maxTokens));
    const system = "You are a helpful assistant.";
    await page.locator("#system").fill(system);

    // 4. Shift+Enter is a newline; Enter sends.
    log("first turn");
    const input = page.locator("#input");
    await input.fill("");
    await input.pressSequentially("Hello");
    await input.press("Shift+Enter");
    await input.pressSequentially("there");
    assert.equal(await input.inputValue(), "Hello\nthere");
    assert.equal(await page.locator("#messages .msg").count(), 0, "Shift+Enter sent");
    let before = posted.length;
    await input.press("Enter");
    const first = await newPost(before);
    assert.equal(await input.inputValue(), "");
    assert.equal(await page.locator(".msg.user").last().textContent(), "Hello\nthere");
    const one = await settle();
    assert.equal(one.state, "done", `first answer ended as ${one.state}`);
    checkAnswer("Hello\nthere", one.text);
    await idle();
    assert.deepEqual(first.body, {
      model,
      messages: [{ role: "system", content: system }, { role: "user", content: "Hello\nthere" }],
      stream: true,
      temperature: 0.3,
      max_tokens: maxTokens,
      stream_options: { include_usage: true },
    });
    assert.equal(first.headers["content-type"], "application/json");
    if (opts.apiKey !== undefined) {
      assert.equal(first.headers["authorization"], `Bearer ${opts.apiKey}`);
    }
    if (opts.expectStats ?? true) {
      const meta = await page.locator(".turn.assistant .meta").last().textContent() ?? "";
      assert.match(meta, /^\d+ tokens? · \d+\.\d tok\/s/, `stats line ${JSON.stringify(meta)}`);
    }

    // 5. The Send button, with the conversation so far in the request.
    log("second turn");
    before = posted.length;
    await input.fill("And then?");
    await page.locator("#send").click();
    const second = await newPost(before);
    const two = await settle();
    assert.equal(two.state, "done");
    checkAnswer("And then?", two.text);
    assert.deepEqual(second.body.messages, [
      { role: "system", content: system },
      { role: "user", content: "Hello\nthere" },
      { role: "assistant", content: one.text },
      { role: "user", content: "And then?" },
    ]);
    assert.equal(await page.locator(".msg.user").count(), 2);
    assert.equal(await page.locator(".msg.assistant").count(), 2);
    await idle();

    // 6. Screenshots, light and dark.
    log("screenshots");
    await page.emulateMedia({ colorScheme: "light" });
    const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    result.screenshots.push(await shoot(page, `${shotDir}/chat_light.png`));
    await page.emulateMedia({ colorScheme: "dark" });
    const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(darkBg, lightBg, "prefers-color-scheme: dark changes nothing");
    assert.ok(luminance(darkBg) < luminance(lightBg), `dark ${darkBg} vs light ${lightBg}`);
    result.screenshots.push(await shoot(page, `${shotDir}/chat_dark.png`));
    await page.emulateMedia({ colorScheme: "light" });

    // 7. Stop aborts the fetch mid-stream; the partial answer stays and the page is usable.
    log("stop");
    await page.locator("#max-tokens").fill(String(stopMaxTokens));
    before = posted.length;
    await input.fill("Tell me a long story.");
    await input.press("Enter");
    const long = await newPost(before);
    assert.equal(long.body.max_tokens, stopMaxTokens);
    await page.waitForFunction(() => {
      const all = document.querySelectorAll(".msg.assistant");
      return (all[all.length - 1]?.textContent ?? "") !== "";
    });
    assert.equal(await page.locator("#stop").isEnabled(), true, "Stop is disabled mid-stream");
    assert.equal(await page.locator("#send").isDisabled(), true, "Send is enabled mid-stream");
    assert.equal(
      await lastAssistant.getAttribute("data-state"),
      "streaming",
      `the answer ended before Stop was clicked: raise stopMaxTokens (${stopMaxTokens})`,
    );
    await page.locator("#stop").click();
    const stopped = await settle();
    assert.equal(stopped.state, "stopped");
    assert.ok(stopped.text.length > 0);
    assert.match(await page.locator(".turn.assistant .meta").last().textContent() ?? "", /stopped/);
    await idle();
    await poll(() => failed.has(long.request), timeout, "the stopped request to be aborted");
    assert.match(failed.get(long.request)!, /ABORTED/);
    await page.waitForTimeout(300);
    assert.equal(await lastAssistant.textContent(), stopped.text, "text grew after Stop");

    // 8. Clear mid-stream, then Clear empties the page and the history.
    log("clear");
    before = posted.length;
    await input.fill("Another long story, please.");
    await input.press("Enter");
    const cleared = await newPost(before);
    await page.waitForFunction(() => {
      const all = document.querySelectorAll(".msg.assistant");
      return (all[all.length - 1]?.textContent ?? "") !== "";
    });
    await page.locator("#clear").click();
    assert.equal(await page.locator("#messages").evaluate((e) => e.childElementCount), 0);
    await idle();
    await poll(() => failed.has(cleared.request), timeout, "the cleared request to be aborted");
    await page.waitForTimeout(300);
    assert.equal(await page.locator("#messages").evaluate((e) => e.childElementCount), 0);
    await page.locator("#max-tokens").fill(String(maxTokens));
    before = posted.length;
    await input.fill("Hi again");
    await input.press("Enter");
    const fresh = await newPost(before);
    const three = await settle();
    assert.equal(three.state, "done");
    checkAnswer("Hi again", three.text);
    assert.deepEqual(fresh.body.messages, [
      { role: "system", content: system },
      { role: "user", content: "Hi again" },
    ]);
    await page.locator("#clear").click();
    assert.equal(await page.locator("#messages").evaluate((e) => e.childElementCount), 0);

    // 9. What the server says is text, never HTML: answers, error bodies, stream errors.
    //    These responses are mocked in the browser, so they hold for any server.
    log("xss and errors");
    await checkMockedResponses(page, settle);

    // 10. A narrow window: nothing overflows sideways, the composer stays in view.
    log("narrow");
    await input.fill("Hello from a phone");
    await input.press("Enter");
    const four = await settle();
    assert.equal(four.state, "done");
    checkAnswer("Hello from a phone", four.text);
    await page.setViewportSize({ width: 360, height: 640 });
    const layout = await page.evaluate(() => {
      const box = (id: string) => document.getElementById(id)!.getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        boxes: ["input", "send", "stop", "clear"].map((id) => {
          const r = box(id);
          return { id, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }),
      };
    });
    assert.ok(layout.scrollWidth <= layout.clientWidth, `overflow ${JSON.stringify(layout)}`);
    for (const b of layout.boxes) {
      assert.ok(b.left >= 0 && b.right <= 360 && b.top >= 0 && b.bottom <= 640, JSON.stringify(b));
    }
    result.screenshots.push(await shoot(page, `${shotDir}/chat_narrow.png`));

    assert.deepEqual(foreign, [], "the page made requests outside its origin");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
    return result;
  } finally {
    await browser.close();
  }
}

async function checkMockedResponses(
  page: Page,
  settle: () => Promise<{ state: string | null; text: string }>,
): Promise<void> {
  const evil = '<img src=x onerror="window.__xss=1">';
  const sse = [
    ": keep-alive comment\r\n\r\n",
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" } }] })}\r\n\r\n`,
    `data: ${
      JSON.stringify({ choices: [{ index: 0, delta: { content: evil.slice(0, 9) } }] })
    }\n\n`,
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: evil.slice(9) } }] })}\n\n`,
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "length" }] })}\n\n`,
    `data: ${
      JSON.stringify({
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        timings: { predicted_n: 2, predicted_per_second: 12.5 },
      })
    }\n\n`,
    "data: [DONE]\n\n",
  ].join("");
  const replies: Array<{ status: number; contentType: string; body: string }> = [
    { status: 200, contentType: "text/event-stream", body: sse },
    {
      status: 400,
      contentType: "application/json",
      body: JSON.stringify({
        error: { code: 400, message: `bad ${evil}`, type: "invalid_request_error" },
      }),
    },
    {
      status: 200,
      contentType: "text/event-stream",
      body: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "Par" } }] })}\n\n` +
        `data: ${JSON.stringify({ error: { code: 500, message: `boom ${evil}` } })}\n\n`,
    },
  ];
  await page.route("**/v1/chat/completions", (route) => route.fulfill(replies.shift()!));
  try {
    const input = page.locator("#input");
    await input.fill("mock 1");
    await input.press("Enter");
    const answer = await settle();
    assert.equal(answer.state, "done");
    assert.equal(answer.text, evil);
    assert.equal(
      await page.locator(".turn.assistant .meta").last().textContent(),
      "2 tokens · 12.5 tok/s · hit max tokens",
    );

    await input.fill("mock 2");
    await input.press("Enter");
    const error = page.locator(".msg.error").last();
    await error.waitFor();
    assert.equal(await error.textContent(), `Error (HTTP 400): bad ${evil}`);
    assert.equal(await error.getAttribute("role"), "alert");

    await input.fill("");
    await input.fill("mock 3");
    await input.press("Enter");
    await page.locator(".msg.error").nth(1).waitFor();
    assert.equal(
      await page.locator(".msg.error").nth(1).textContent(),
      `Error (HTTP 500): boom ${evil}`,
    );
    assert.equal(await page.locator(".msg.assistant").last().textContent(), "Par");

    assert.equal(await page.locator("#messages img, #messages b").count(), 0, "HTML was parsed");
    assert.equal(await page.evaluate(() => "__xss" in window), false, "script ran");
    assert.equal(replies.length, 0);
  } finally {
    await page.unroute("**/v1/chat/completions");
  }
  await page.locator("#clear").click();
  await page.locator("#input").fill("");
}

async function shoot(page: Page, path: string): Promise<string> {
  await page.screenshot({ path });
  await assertPng(path);
  return path;
}

function luminance(cssColor: string): number {
  const [r = 0, g = 0, b = 0] = (cssColor.match(/[\d.]+/g) ?? []).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

async function poll(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
