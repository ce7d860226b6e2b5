/**
 * Real-browser checks of the chat page (`lib/server/ui/chat_html.ts`) against any server that
 * serves it at `baseUrl` with the OpenAI endpoints `/v1/models` and `/v1/chat/completions`.
 *
 * Drives Debian's `chromium` through `playwright-core` (`launchPersistentContext` works under
 * Deno 2.9 as is). Used by `tests/chat_page_test.ts` with an in-test server, and by
 * `tests/server_chat_page_test.ts` against the real llamafile server: nothing here depends on
 * what a model says, unless `expectedAnswer` is given; the markdown check makes the model
 * write markdown through the page's grammar setting.
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

/** The viewports the page is checked at: a desktop window and a phone. */
export const DESKTOP = { width: 1280, height: 900 } as const;
export const MOBILE = { width: 390, height: 844 } as const;

/** Markdown with a code block, a bold word and a list: what the markdown check has written. */
export const MARKDOWN_SAMPLE =
  "Here is code:\n\n```js\nconst x = 1;\nconsole.log(x);\n```\n\nA **bold** list:\n\n- one\n- two\n";

/** A GBNF grammar whose only sentence is {@linkcode MARKDOWN_SAMPLE}. */
export const MARKDOWN_GRAMMAR = `root ::= ${JSON.stringify(MARKDOWN_SAMPLE)}`;

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
      viewport: { ...DESKTOP },
      acceptDownloads: true,
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
  /** `max_tokens` for the Stop check (default 4096): long enough to be stopped. */
  stopMaxTokens?: number;
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
  /** PNG screenshots, desktop and mobile. */
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

/** Watches a page: what it posts, requests leaving the origin, errors, CSP reports. */
function watch(page: Page, origin: string) {
  const seen = {
    posted: [] as Posted[],
    failed: new Map<Request, string>(),
    errors: [] as string[],
    foreign: [] as string[],
  };
  page.on("pageerror", (e) => seen.errors.push(String(e)));
  page.on("console", (m) => {
    // A failed request's status is checked where it matters; anything else is an error.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) {
      return;
    }
    if (m.type() === "error" || /Content.Security.Policy|TrustedHTML/i.test(m.text())) {
      seen.errors.push(`console: ${m.text()}`);
    }
  });
  page.on("requestfailed", (r) => seen.failed.set(r, r.failure()?.errorText ?? "?"));
  page.on("request", (r) => {
    const url = r.url();
    if (!/^(data|blob):/.test(url) && new URL(url).origin !== origin) seen.foreign.push(url);
    if (r.method() === "POST" && new URL(url).pathname.endsWith("/v1/chat/completions")) {
      seen.posted.push({
        request: r,
        body: r.postDataJSON() as Record<string, unknown>,
        headers: r.headers(),
      });
    }
  });
  return seen;
}

/**
 * Runs every chat page check against the server at `baseUrl` (e.g. `http://127.0.0.1:8080/`)
 * in a fresh headless Chromium, and throws an `AssertionError` on the first failure.
 *
 * Checks, at 1280×900 then 390×844: controls, labels, settings collapsed by default; the
 * API key (error, entry, storage); every sampler setting, the system prompt and a grammar in
 * the request body (and bad values refused before sending); markdown with a highlighted,
 * copyable code block and no raw fences; history in the request; regenerate replaces the last
 * answer; edit resends from the edited message; Stop keeps the partial answer with its token
 * count; the conversation survives a reload; the sidebar's new, rename, delete, export and
 * import; the theme toggle; server text never becoming HTML; the phone layout with its menu;
 * no request outside the origin, no page error, no CSP report.
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
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.setDefaultTimeout(timeout);
    const seen = watch(page, origin);
    const input = page.locator("#input");
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
    const newPost = async (before: number) => {
      await poll(() => seen.posted.length > before, timeout, "the page to post a chat request");
      result.requests.push(seen.posted[before]!.body);
      return seen.posted[before]!;
    };
    /** Sends `text`, waits for the answer; returns the request and the answer. */
    const turn = async (text: string, how: "enter" | "click" = "enter", expect = true) => {
      const before = seen.posted.length;
      await input.fill(text);
      if (how === "enter") await input.press("Enter");
      else await page.locator("#send").click();
      const post = await newPost(before);
      const answer = await settle();
      assert.equal(
        answer.state,
        "done",
        `the answer to ${JSON.stringify(text)} ended as ${answer.state}`,
      );
      assert.ok(answer.text.length > 0, `no answer streamed for ${JSON.stringify(text)}`);
      if (opts.expectedAnswer && expect) assert.equal(answer.text, opts.expectedAnswer(text));
      result.answers.push(answer.text);
      return { post, answer };
    };
    const openSettings = async () => {
      if (await page.locator("#settings").getAttribute("open") === null) {
        await page.locator("#settings summary").click();
      }
    };
    const closeSettings = async () => {
      if (await page.locator("#settings").getAttribute("open") !== null) {
        await page.locator("#settings summary").click();
      }
    };

    // 1. The page, its controls, settings collapsed.
    log("load");
    const response = await page.goto(baseUrl);
    assert.equal(response?.status(), 200, `GET ${baseUrl} answered ${response?.status()}`);
    assert.equal(await page.title(), "llamafile");
    for (const name of ["Send", "Stop", "New chat", "Export", "Import"]) {
      assert.equal(await page.getByRole("button", { name, exact: true }).count(), 1, name);
    }
    assert.equal(await page.getByLabel("Message", { exact: true }).getAttribute("id"), "input");
    if (opts.apiKey === undefined) {
      // Collapsed by default (a server that wants a key opens them at the key).
      assert.equal(await page.locator("#settings").getAttribute("open"), null, "settings open");
      assert.equal(await page.locator("#settings .settings-body").isVisible(), false);
    }
    assert.equal(await page.locator("#messages .msg").count(), 0);
    await idle();
    await openSettings();
    for (
      const [label, id] of <[string, string][]> [
        ["System prompt", "system"],
        ["Temperature", "temperature"],
        ["Max tokens", "max-tokens"],
        ["Top-k", "top-k"],
        ["Top-p", "top-p"],
        ["Min-p", "min-p"],
        ["Repeat penalty", "repeat-penalty"],
        ["Seed", "seed"],
        ["Grammar (GBNF)", "grammar"],
        ["JSON schema", "json-schema"],
        ["API key", "api-key"],
      ]
    ) {
      assert.equal(await page.getByLabel(label, { exact: true }).getAttribute("id"), id, label);
    }

    // 2. API key: refused without it, then entered, stored and sent.
    if (opts.apiKey !== undefined) {
      log("api key");
      await page.locator("#status", { hasText: "needs an API key" }).waitFor();
      const before = seen.posted.length;
      await input.fill("Hello?");
      await input.press("Enter");
      const error = page.locator(".msg.error").last();
      await error.waitFor();
      assert.match(await error.textContent() ?? "", /^Error \(HTTP 401\): \S/);
      assert.equal((await newPost(before)).headers["authorization"], undefined);
      result.requests.pop();
      assert.equal(await page.locator(".msg.assistant").count(), 0, "failed turn left a bubble");
      assert.equal(await page.locator(".msg.user").count(), 0, "failed message kept");
      assert.equal(await input.inputValue(), "Hello?", "input not restored");
      assert.notEqual(await page.locator("#settings").getAttribute("open"), null);
      await idle();
      await page.locator("#api-key").fill(opts.apiKey);
      await page.locator("#api-key").press("Tab");
      assert.equal(
        await page.evaluate(() => localStorage.getItem("llamafile.apiKey")),
        opts.apiKey,
      );
      await input.fill("");
    }
    await page.waitForFunction(() => {
      const text = document.getElementById("model")?.textContent ?? "";
      return text !== "" && !/loading|unreachable/.test(text);
    });
    const model = await page.locator("#model").textContent() ?? "";
    log(`model ${model}`);
    // This server's model takes no images: no Attach button.
    assert.equal(await page.locator("#attach").isVisible(), false, "Attach shown without vision");
    await closeSettings();
    result.screenshots.push(await shoot(page, `${shotDir}/desktop_empty.png`));
    await openSettings();

    // 3. Settings: every sampler, the system prompt; bad values never reach the server.
    log("settings");
    const system = "You are a helpful assistant.";
    const samplers: Record<string, [string, number]> = {
      temperature: ["0.3", 0.3],
      max_tokens: [String(maxTokens), maxTokens],
      top_k: ["5", 5],
      top_p: ["0.9", 0.9],
      min_p: ["0.1", 0.1],
      typical_p: ["0.95", 0.95],
      repeat_penalty: ["1.1", 1.1],
      repeat_last_n: ["32", 32],
      presence_penalty: ["0.1", 0.1],
      frequency_penalty: ["0.2", 0.2],
      seed: ["42", 42],
    };
    for (const [field, [text]] of Object.entries(samplers)) {
      await page.locator(`[data-field="${field}"]`).fill(text);
    }
    await page.locator("#system").fill(system);
    await page.locator("#top-p").fill("2");
    let before = seen.posted.length;
    await input.fill("Not sent");
    await input.press("Enter");
    await page.locator(".msg.error", { hasText: "Top-p must be at most 1" }).waitFor();
    assert.equal(seen.posted.length, before, "a bad setting was sent");
    assert.match(await page.locator("#top-p").getAttribute("class") ?? "", /invalid/);
    await page.locator("#top-p").fill("0.9");
    await page.locator("#grammar").fill('root ::= "a"');
    await page.locator("#json-schema").fill('{"type":"string"}');
    await page.locator("#send").click();
    await page.locator(".msg.error", { hasText: "Set a grammar or a JSON schema, not both" })
      .waitFor();
    await page.locator("#json-schema").fill("{not json");
    await page.locator("#grammar").fill("");
    await page.locator("#send").click();
    await page.locator(".msg.error", { hasText: "The JSON schema is not valid JSON" }).waitFor();
    assert.equal(seen.posted.length, before, "a bad schema was sent");
    await page.locator("#json-schema").fill("");
    assert.equal(await input.inputValue(), "Not sent", "a refused message left the input");
    assert.equal(await page.locator(".msg.user").count(), 0, "a refused message was kept");

    // 4. A first turn: the request carries every setting.
    log("first turn");
    await input.fill("");
    await input.pressSequentially("Hello");
    await input.press("Shift+Enter");
    await input.pressSequentially("there");
    assert.equal(await input.inputValue(), "Hello\nthere");
    assert.equal(await page.locator("#messages .msg.user").count(), 0, "Shift+Enter sent");
    const one = await turn("Hello\nthere");
    const expectedBody: Record<string, unknown> = {
      model,
      messages: [{ role: "system", content: system }, { role: "user", content: "Hello\nthere" }],
      stream: true,
      stream_options: { include_usage: true },
    };
    for (const [field, [, value]] of Object.entries(samplers)) expectedBody[field] = value;
    assert.deepEqual(one.post.body, expectedBody);
    assert.equal(one.post.headers["content-type"], "application/json");
    if (opts.apiKey !== undefined) {
      assert.equal(one.post.headers["authorization"], `Bearer ${opts.apiKey}`);
    }
    const meta = await page.locator(".turn.assistant .meta").last().textContent() ?? "";
    assert.match(meta, /^\d+ tokens? · \d+\.\d tok\/s/, `stats line ${JSON.stringify(meta)}`);
    await idle();

    // 5. The Send button, with the conversation so far in the request.
    log("second turn");
    const two = await turn("And then?", "click");
    assert.deepEqual(two.post.body.messages, [
      { role: "system", content: system },
      { role: "user", content: "Hello\nthere" },
      { role: "assistant", content: one.answer.text },
      { role: "user", content: "And then?" },
    ]);
    assert.equal(await page.locator(".msg.user").count(), 2);
    assert.equal(await page.locator(".msg.assistant").count(), 2);

    // 6. Regenerate replaces the last answer with a new one from the same messages.
    log("regenerate");
    assert.equal(await page.locator(".regenerate").count(), 1, "one Regenerate, on the last");
    before = seen.posted.length;
    await page.locator(".turn.assistant").last().locator(".regenerate").click();
    const again = await newPost(before);
    const regenerated = await settle();
    assert.equal(regenerated.state, "done");
    assert.deepEqual(again.body.messages, two.post.body.messages);
    assert.equal(await page.locator(".msg.assistant").count(), 2, "regenerate added an answer");
    assert.equal(await page.locator(".msg.user").count(), 2);
    result.answers.push(regenerated.text);

    // A JSON schema goes as response_format.
    log("json schema");
    await openSettings();
    await page.locator("#json-schema").fill('{"type": "string"}');
    await closeSettings();
    const schema = await turn("Answer in JSON");
    assert.deepEqual(schema.post.body.response_format, {
      type: "json_schema",
      json_schema: { name: "schema", schema: { type: "string" } },
    });
    assert.equal(schema.post.body.grammar, undefined);
    await openSettings();
    await page.locator("#json-schema").fill("");
    await closeSettings();

    // 7. Markdown: a code block (highlighted, copyable), bold, a list; no raw fences.
    log("markdown");
    await closeSettings();
    before = seen.posted.length;
    result.answers.push(await checkMarkdown(page));
    result.requests.push(seen.posted[before]!.body);
    await closeSettings();
    result.screenshots.push(await shoot(page, `${shotDir}/desktop_light.png`));

    // 8. Edit: the edited message is sent again, what came after it is gone.
    log("edit");
    await page.locator(".turn.user").first().locator(".edit").click();
    const editBox = page.getByLabel("Edit message");
    assert.equal(await editBox.inputValue(), "Hello\nthere");
    await editBox.fill("Hello again");
    before = seen.posted.length;
    await page.locator(".save-edit").click();
    const edited = await newPost(before);
    const afterEdit = await settle();
    assert.equal(afterEdit.state, "done");
    assert.deepEqual(edited.body.messages, [
      { role: "system", content: system },
      { role: "user", content: "Hello again" },
    ]);
    assert.deepEqual(await page.locator(".msg.user").allTextContents(), ["Hello again"]);
    assert.equal(await page.locator(".msg.assistant").count(), 1);
    result.answers.push(afterEdit.text);

    // 9. Stop keeps the partial answer, with its token count, and aborts the request.
    log("stop");
    await openSettings();
    await page.locator("#max-tokens").fill(String(stopMaxTokens));
    await closeSettings();
    before = seen.posted.length;
    await input.fill("Tell me a long story.");
    await input.press("Enter");
    const long = await newPost(before);
    assert.equal(long.body.max_tokens, stopMaxTokens);
    await page.waitForFunction(() => {
      const all = document.querySelectorAll(".msg.assistant");
      return (all[all.length - 1]?.textContent ?? "").length > 8;
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
    const stoppedMeta = await page.locator(".turn.assistant .meta").last().textContent() ?? "";
    assert.match(stoppedMeta, /^\d+ tokens? · [\d.]+ tok\/s · stopped$/, stoppedMeta);
    await idle();
    await poll(() => seen.failed.has(long.request), timeout, "the stopped request to be aborted");
    await page.waitForTimeout(300);
    assert.equal(await lastAssistant.textContent(), stopped.text, "text grew after Stop");
    await openSettings();
    await page.locator("#max-tokens").fill(String(maxTokens));
    await closeSettings();

    // 10. The conversation and the settings survive a reload.
    log("reload");
    const usersBefore = await page.locator(".msg.user").allTextContents();
    const answersBefore = await page.locator(".msg.assistant").allTextContents();
    await page.reload();
    await page.locator(".msg.assistant").first().waitFor();
    assert.deepEqual(await page.locator(".msg.user").allTextContents(), usersBefore);
    assert.deepEqual(await page.locator(".msg.assistant").allTextContents(), answersBefore);
    assert.equal(await page.locator(".msg.assistant").last().getAttribute("data-state"), "stopped");
    assert.equal(await page.locator("#top-k").inputValue(), "5");
    assert.equal(await page.locator("#system").inputValue(), system);
    assert.equal(await page.locator(".conversation").count(), 1);
    assert.equal(await page.locator(".conversation .open").textContent(), "Hello again");

    // 11. Conversations: new, switch, rename, delete, export, import.
    log("conversations");
    await page.locator("#new-chat").click();
    assert.equal(await page.locator("#messages .msg").count(), 0);
    await turn("A second chat");
    assert.deepEqual(await page.locator(".conversation .open").allTextContents(), [
      "A second chat",
      "Hello again",
    ]);
    await page.locator(".conversation .open", { hasText: "Hello again" }).click();
    assert.deepEqual(await page.locator(".msg.user").allTextContents(), usersBefore);
    const first = page.locator(".conversation", { hasText: "Hello again" });
    await first.hover();
    await first.locator(".rename").click();
    await page.getByLabel("New name").fill("Renamed chat");
    await page.getByLabel("New name").press("Enter");
    await page.locator(".conversation .open", { hasText: "Renamed chat" }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator("#export").click(),
    ]);
    const exported = `${shotDir}/conversations.json`;
    await download.saveAs(exported);
    const file = JSON.parse(await Deno.readTextFile(exported));
    assert.equal(file.format, "llamafile.conversations");
    assert.deepEqual(
      file.conversations.map((c: { title: string }) => c.title).sort(),
      ["A second chat", "Renamed chat"],
    );
    const second = page.locator(".conversation", { hasText: "A second chat" });
    await second.hover(); // the item's buttons show on hover (always on a phone)
    await second.locator(".delete").click();
    assert.equal(await page.locator(".conversation").count(), 2, "deleted on the first click");
    await second.locator(".delete", { hasText: "Delete?" }).click();
    await poll(async () => await page.locator(".conversation").count() === 1, timeout, "delete");
    await page.locator("#import-file").setInputFiles(exported);
    await page.locator("#status", { hasText: "Imported 2 conversations." }).waitFor();
    assert.equal(await page.locator(".conversation").count(), 3);
    await page.reload();
    await page.locator(".conversation").first().waitFor();
    assert.deepEqual(
      (await page.locator(".conversation .open").allTextContents()).sort(),
      ["A second chat", "Renamed chat", "Renamed chat"],
    );

    // 12. The theme toggle: light, dark, back to the system's; kept.
    log("theme");
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: "light" });
    const systemLight = await background();
    await page.locator("#theme").click();
    assert.equal(await page.locator("html").getAttribute("data-theme"), "light");
    assert.equal(await background(), systemLight);
    await page.locator("#theme").click();
    assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");
    const dark = await background();
    assert.ok(luminance(dark) < luminance(systemLight), `dark ${dark} vs light ${systemLight}`);
    assert.equal(await page.locator("#theme").getAttribute("aria-label"), "Theme: dark");
    await page.reload();
    await page.locator(".msg.user").first().waitFor();
    assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");
    result.screenshots.push(await shoot(page, `${shotDir}/desktop_dark.png`));
    await openSettings();
    result.screenshots.push(await shoot(page, `${shotDir}/desktop_dark_settings.png`));
    await closeSettings();
    await page.locator("#theme").click();
    assert.equal(await page.locator("html").getAttribute("data-theme"), null);
    await page.emulateMedia({ colorScheme: "dark" });
    assert.equal(await background(), dark, "the system's dark scheme is not followed");
    await page.emulateMedia({ colorScheme: "light" });

    // 13. What the server says is text, never HTML (mocked in the browser: any server).
    log("xss and errors");
    await checkMockedResponses(page, settle);

    // 14. A phone: nothing overflows sideways, the composer stays in view, the menu opens
    //     the conversations.
    log("mobile");
    await page.setViewportSize({ ...MOBILE });
    await page.locator("#new-chat").evaluate((e) => (e as HTMLElement).click());
    await turn("Hello from a phone");
    const layout = await page.evaluate(() => {
      const box = (id: string) => document.getElementById(id)!.getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        boxes: ["input", "send", "stop", "menu", "theme"].map((id) => {
          const r = box(id);
          return { id, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }),
      };
    });
    assert.ok(layout.scrollWidth <= layout.clientWidth, `overflow ${JSON.stringify(layout)}`);
    for (const b of layout.boxes) {
      assert.ok(
        b.left >= 0 && b.right <= MOBILE.width && b.top >= 0 && b.bottom <= MOBILE.height,
        JSON.stringify(b),
      );
    }
    assert.equal(await page.locator("#sidebar").isVisible(), true); // in the DOM, off screen
    // The sidebar slides away (0.15 s) when the window narrows, and stays away.
    await page.waitForFunction(() =>
      document.getElementById("sidebar")!.getBoundingClientRect().right <= 0
    );
    result.screenshots.push(await shoot(page, `${shotDir}/mobile_chat.png`));
    await page.locator("#menu").click();
    assert.equal(await page.locator("#menu").getAttribute("aria-expanded"), "true");
    await page.waitForFunction(() =>
      document.getElementById("sidebar")!.getBoundingClientRect().left >= 0
    );
    result.screenshots.push(await shoot(page, `${shotDir}/mobile_menu.png`));
    await page.locator(".conversation .open", { hasText: "A second chat" }).click();
    assert.equal(await page.locator("#menu").getAttribute("aria-expanded"), "false");
    await page.waitForFunction(() =>
      document.getElementById("sidebar")!.getBoundingClientRect().right <= 0
    );
    assert.deepEqual(await page.locator(".msg.user").allTextContents(), ["A second chat"]);
    await openSettings();
    result.screenshots.push(await shoot(page, `${shotDir}/mobile_settings.png`));
    await closeSettings();
    await page.setViewportSize({ ...DESKTOP });

    assert.deepEqual(seen.foreign, [], "the page made requests outside its origin");
    assert.deepEqual(seen.errors, [], "errors in the page");
    return result;
  } finally {
    await browser.close();
  }
}

/**
 * Has the server write {@linkcode MARKDOWN_SAMPLE} (the page's grammar setting makes it the
 * only answer) and checks how the page shows it: a highlighted code block with its language
 * and a working Copy, bold, a list, no raw fences; the answer's Copy gives the markdown.
 * Leaves the grammar empty and the settings closed; returns the answer's text. The page must
 * be idle, with clipboard permissions.
 */
export async function checkMarkdown(page: Page): Promise<string> {
  const settings = page.locator("#settings");
  if (await settings.getAttribute("open") === null) await page.locator("#settings summary").click();
  await page.locator("#grammar").fill(MARKDOWN_GRAMMAR);
  const maxTokens = await page.locator("#max-tokens").inputValue();
  await page.locator("#max-tokens").fill("400");
  await page.locator("#settings summary").click();
  const posted = page.waitForRequest((r) =>
    r.method() === "POST" && r.url().endsWith("/v1/chat/completions")
  );
  const count = await page.locator(".msg.assistant").count();
  await page.locator("#input").fill("Show me some markdown");
  await page.locator("#input").press("Enter");
  assert.equal((await posted).postDataJSON().grammar, MARKDOWN_GRAMMAR);
  const answer = page.locator(".msg.assistant").nth(count);
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll(".msg.assistant")[n]?.getAttribute("data-state") === "done" ||
      document.querySelector(".msg.error") !== null,
    count,
  );
  assert.equal(
    await page.locator(".msg.error").count(),
    0,
    await page.locator("#messages").innerText(),
  );
  const text = await answer.textContent() ?? "";
  assert.equal(text.includes("```"), false, `raw fences: ${text}`);
  assert.equal(await answer.locator(".code-block pre code.language-js").count(), 1);
  assert.ok(await answer.locator("code .hljs-keyword").count() >= 1, "code not highlighted");
  assert.equal(await answer.locator("strong").textContent(), "bold");
  assert.deepEqual(await answer.locator("li").allTextContents(), ["one", "two"]);
  assert.equal(await answer.locator(".code-lang").textContent(), "js");
  await answer.locator(".copy-code").click();
  await answer.locator(".copy-code", { hasText: "Copied" }).waitFor();
  assert.equal(
    await page.evaluate(() => navigator.clipboard.readText()),
    "const x = 1;\nconsole.log(x);",
  );
  await page.locator(".turn.assistant").nth(count).locator(".actions .copy").click();
  assert.equal(
    (await page.evaluate(() => navigator.clipboard.readText())).trimEnd(),
    MARKDOWN_SAMPLE.trimEnd(),
  );
  await page.locator("#settings summary").click();
  await page.locator("#grammar").fill("");
  await page.locator("#max-tokens").fill(maxTokens);
  await page.locator("#settings summary").click();
  return text;
}

async function checkMockedResponses(
  page: Page,
  settle: () => Promise<{ state: string | null; text: string }>,
): Promise<void> {
  const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  const sse = [
    ": keep-alive comment\r\n\r\n",
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" } }] })}\r\n\r\n`,
    `data: ${
      JSON.stringify({ choices: [{ index: 0, delta: { content: evil.slice(0, 9) } }] })
    }\n\n`,
    `data: ${
      JSON.stringify({
        choices: [{ index: 0, delta: { content: evil.slice(9) + "\n\n[x](javascript:alert(1))" } }],
      })
    }\n\n`,
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
    await page.locator("#new-chat").click();
    const input = page.locator("#input");
    await input.fill("mock 1");
    await input.press("Enter");
    const answer = await settle();
    assert.equal(answer.state, "done");
    // The HTML shows as text; the javascript: link is no link.
    assert.equal(answer.text, evil + "\nx");
    assert.equal(await page.locator(".msg.assistant a[href^='javascript']").count(), 0);
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
    assert.equal(await input.inputValue(), "mock 2", "the unanswered message is not back");

    await input.fill("mock 3");
    await input.press("Enter");
    await page.locator(".msg.error", { hasText: "boom" }).waitFor();
    assert.equal(
      await page.locator(".msg.error").last().textContent(),
      `Error (HTTP 500): boom ${evil}`,
    );
    assert.equal(await page.locator(".msg.assistant").last().textContent(), "Par");

    assert.equal(await page.locator("#messages img, #messages script").count(), 0, "HTML parsed");
    assert.equal(await page.evaluate(() => "__xss" in window), false, "script ran");
    assert.equal(replies.length, 0);
  } finally {
    await page.unroute("**/v1/chat/completions");
  }
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

async function poll(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Options for {@linkcode runImageChecks}. */
export interface ImageCheckOptions {
  /** The image to attach (its bytes) and its MIME type. */
  image: Uint8Array;
  mime: string;
  /** The text sent with the image. */
  prompt: string;
  /** The exact answer expected to `prompt` with the image (from our CLI, or a fake's rule). */
  expectedAnswer?: string;
  /** `max_tokens` of the turns (default 24). */
  maxTokens?: number;
  /** A temperature to set (default: the server's). */
  temperature?: number;
  /** Chromium binary (default {@linkcode CHROMIUM_PATH}). */
  executablePath?: string;
  /** Timeout for each wait, in ms (default 30000). */
  timeoutMs?: number;
  /** Folder for the screenshots (default: a new temp folder). */
  screenshotDir?: string;
}

/** What {@linkcode runImageChecks} saw. */
export interface ImageCheckResult {
  /** The answers, in order: to the prompt with the image, to the image alone. */
  answers: string[];
  /** The JSON bodies the page posted to `/v1/chat/completions`, in order. */
  requests: Record<string, unknown>[];
  screenshots: string[];
}

/**
 * Attaching images in the chat page, against a server whose `/props` says its model takes
 * images: the Attach button (a file chooser), a paste into the message box and a drop on the
 * chat each add a preview; a preview's remove button takes it away; a file that is no image
 * is refused with a notice; the request carries the image as an `image_url` part whose `data:`
 * URI holds the file's exact bytes, before the text; the sent message shows the image, and
 * still does after a reload; an image alone is a message too. Throws on the first failure.
 */
export async function runImageChecks(
  baseUrl: string,
  opts: ImageCheckOptions,
): Promise<ImageCheckResult> {
  const timeout = opts.timeoutMs ?? 30_000;
  const origin = new URL(baseUrl).origin;
  const shotDir = opts.screenshotDir ?? await Deno.makeTempDir({ prefix: "image_page_shots_" });
  const result: ImageCheckResult = { answers: [], requests: [], screenshots: [] };
  const dataUri = `data:${opts.mime};base64,${encodeBase64(opts.image)}`;
  const { Buffer } = await import("node:buffer");
  const file = (name: string, mime = opts.mime, bytes = opts.image) => ({
    name,
    mimeType: mime,
    buffer: Buffer.from(bytes),
  });
  const browser = await launchChromium(opts.executablePath);
  try {
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.setDefaultTimeout(timeout);
    const seen = watch(page, origin);
    const input = page.locator("#input");
    const previews = page.locator("#attachments .attachment img");
    const settle = async () => {
      await page.waitForFunction(() => {
        const all = document.querySelectorAll(".msg.assistant");
        const last = all[all.length - 1];
        return !!last && last.getAttribute("data-state") !== "streaming";
      });
      const last = page.locator(".msg.assistant").last();
      return { state: await last.getAttribute("data-state"), text: await last.textContent() ?? "" };
    };
    const post = async (before: number) => {
      await poll(() => seen.posted.length > before, timeout, "the page to post a chat request");
      result.requests.push(seen.posted[before]!.body);
      return seen.posted[before]!.body;
    };

    await page.goto(baseUrl);
    await page.locator("#attach").waitFor({ state: "visible" });
    assert.equal(await page.getByRole("button", { name: "Attach an image" }).count(), 1);
    if (opts.maxTokens !== undefined || opts.temperature !== undefined) {
      await page.locator("#settings summary").click();
      await page.locator("#max-tokens").fill(String(opts.maxTokens ?? 24));
      if (opts.temperature !== undefined) {
        await page.locator("#temperature").fill(String(opts.temperature));
      }
      await page.locator("#settings summary").click();
    }

    // The button opens a file chooser; the preview shows the file; remove takes it away.
    const [chooser] = await Promise.all([
      page.waitForEvent("filechooser"),
      page.locator("#attach").click(),
    ]);
    await chooser.setFiles(file("chosen.png"));
    await previews.first().waitFor();
    assert.equal(await previews.count(), 1);
    assert.equal(await previews.first().getAttribute("src"), dataUri);
    await page.getByRole("button", { name: "Remove chosen.png" }).click();
    assert.equal(await previews.count(), 0);
    assert.equal(await page.locator("#attachments").isVisible(), false);

    // A file that is no image is refused, with a notice.
    await page.locator("#image-file").setInputFiles(
      file("notes.txt", "text/plain", new TextEncoder().encode("hello")),
    );
    await page.locator("#status", { hasText: "notes.txt is not an image" }).waitFor();
    assert.equal(await previews.count(), 0);

    // A paste into the message box, and a drop on the chat.
    const b64 = encodeBase64(opts.image);
    await page.evaluate(({ b64, mime }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const make = (name: string) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: mime }));
        return transfer;
      };
      document.getElementById("input")!.dispatchEvent(
        new ClipboardEvent("paste", { clipboardData: make("pasted.png"), bubbles: true }),
      );
      const target = document.getElementById("messages")!;
      const dropped = make("dropped.png");
      target.dispatchEvent(
        new DragEvent("dragover", { dataTransfer: dropped, bubbles: true, cancelable: true }),
      );
      target.dispatchEvent(
        new DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }),
      );
    }, { b64, mime: opts.mime });
    await poll(async () => await previews.count() === 2, timeout, "the pasted and dropped images");
    assert.deepEqual(
      await page.locator("#attachments img").evaluateAll((imgs) =>
        imgs.map((i) => i.getAttribute("alt"))
      ),
      ["pasted.png", "dropped.png"],
    );
    assert.equal(await input.inputValue(), "", "the paste put text in the box");
    result.screenshots.push(await shoot(page, `${shotDir}/image_attached.png`));
    await page.getByRole("button", { name: "Remove dropped.png" }).click();
    assert.equal(await previews.count(), 1);

    // Sent: the image as a data: URI part before the text; shown in the message.
    let before = seen.posted.length;
    await input.fill(opts.prompt);
    await input.press("Enter");
    const body = await post(before);
    const messages = body.messages as { role: string; content: unknown }[];
    assert.deepEqual(messages.at(-1), {
      role: "user",
      content: [
        { type: "image_url", image_url: { url: dataUri } },
        { type: "text", text: opts.prompt },
      ],
    });
    const answer = await settle();
    assert.equal(answer.state, "done", await page.locator("#messages").innerText());
    assert.ok(answer.text.length > 0, "no answer to the image");
    // The answer as it streamed (what the page keeps), not as its markdown renders.
    const raw = await page.evaluate(() => {
      const saved = JSON.parse(localStorage.getItem("llamafile.conversations") ?? "[]");
      const messages = saved.flatMap((c: { messages: { role: string; content: string }[] }) =>
        c.messages
      );
      return messages.filter((m: { role: string }) => m.role === "assistant").at(-1)?.content;
    });
    if (opts.expectedAnswer !== undefined) assert.equal(raw, opts.expectedAnswer);
    result.answers.push(raw ?? answer.text);
    assert.equal(await previews.count(), 0, "the preview stayed after sending");
    const sent = page.locator(".msg.user").last().locator(".images img");
    assert.equal(await sent.count(), 1);
    assert.equal(await sent.getAttribute("src"), dataUri);
    assert.ok(
      await sent.evaluate((img) => (img as HTMLImageElement).naturalWidth > 0),
      "the sent image does not display",
    );
    result.screenshots.push(await shoot(page, `${shotDir}/image_sent.png`));

    // Kept with the conversation.
    await page.reload();
    await page.locator(".msg.user .images img").first().waitFor();
    assert.equal(
      await page.locator(".msg.user .images img").first().getAttribute("src"),
      dataUri,
    );

    // An image alone is a message, sent with the history (whose image is sent again).
    await page.locator("#attach").waitFor({ state: "visible" });
    await page.locator("#image-file").setInputFiles(file("alone.png"));
    await previews.first().waitFor();
    before = seen.posted.length;
    await page.locator("#send").click();
    const alone = await post(before);
    const history = alone.messages as { role: string; content: unknown }[];
    assert.deepEqual(history.at(-1), {
      role: "user",
      content: [{ type: "image_url", image_url: { url: dataUri } }],
    });
    assert.deepEqual(history.at(-3), messages.at(-1));
    const second = await settle();
    assert.equal(second.state, "done", await page.locator("#messages").innerText());
    assert.ok(second.text.length > 0, "no answer to the image alone");
    result.answers.push(
      await page.evaluate(() => {
        const saved = JSON.parse(localStorage.getItem("llamafile.conversations") ?? "[]");
        const messages = saved.flatMap((c: { messages: { role: string; content: string }[] }) =>
          c.messages
        );
        return messages.filter((m: { role: string }) => m.role === "assistant").at(-1)?.content;
      }),
    );

    assert.deepEqual(seen.foreign, [], "the page made requests outside its origin");
    assert.deepEqual(seen.errors, [], "errors in the page");
    return result;
  } finally {
    await browser.close();
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
