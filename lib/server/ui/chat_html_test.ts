import assert from "node:assert/strict";
import { CHAT_HTML } from "./chat_html.ts";

function scripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1] ?? "");
}

function styles(html: string): string[] {
  return [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1] ?? "");
}

/** The opening tag of the element with this id, or undefined. */
function tagWithId(html: string, id: string): string | undefined {
  const all = [...html.matchAll(new RegExp(`<[a-z]+\\b[^>]*\\bid="${id}"[^>]*>`, "gi"))];
  assert.equal(all.length <= 1, true, `id "${id}" is used ${all.length} times`);
  return all[0]?.[0];
}

Deno.test("CHAT_HTML is one complete HTML document", () => {
  assert.match(CHAT_HTML, /^<!doctype html>\n<html lang="en">/);
  assert.match(CHAT_HTML, /<\/html>\n$/);
  assert.match(CHAT_HTML, /<meta charset="utf-8">/);
  assert.match(CHAT_HTML, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.equal(scripts(CHAT_HTML).length, 1);
  assert.equal(styles(CHAT_HTML).length, 1);
});

Deno.test("CHAT_HTML loads nothing from outside the page's origin", () => {
  assert.doesNotMatch(CHAT_HTML, /https?:\/\//i);
  assert.doesNotMatch(CHAT_HTML, /\/\/cdn/i);
  for (const m of CHAT_HTML.matchAll(/\b(?:src|href|action|srcset|poster)\s*=\s*"([^"]*)"/gi)) {
    assert.match(m[1] ?? "", /^(?:data:|\.?\/[^/]|#)/, `external reference ${m[0]}`);
  }
  for (const css of styles(CHAT_HTML)) {
    assert.doesNotMatch(css, /@import|url\(/i, "CSS must not load anything");
  }
  // The only requests the script makes are same-origin API calls.
  const script = scripts(CHAT_HTML).join("\n");
  const fetches = [...script.matchAll(/fetch\(\s*([^,)]*)/g)].map((m) => m[1]);
  assert.deepEqual(fetches, ['"./v1/models"', '"./v1/chat/completions"']);
  assert.doesNotMatch(script, /XMLHttpRequest|EventSource|WebSocket|import\(|importScripts/);
});

Deno.test("CHAT_HTML has the controls tests rely on, with stable ids", () => {
  const ids = {
    input: /^<textarea\b/,
    send: /^<button type="submit"/,
    stop: /^<button type="button"[^>]*\bdisabled\b/,
    clear: /^<button type="button"/,
    temperature: /^<input type="range"/,
    "temperature-value": /^<input type="number"/,
    system: /^<textarea\b/,
    "max-tokens": /^<input type="number"/,
    "api-key": /^<input type="password"/,
    messages: /^<div\b/,
    settings: /^<details\b/,
    status: /^<div\b/,
    model: /^<span\b/,
  };
  for (const [id, shape] of Object.entries(ids)) {
    const tag = tagWithId(CHAT_HTML, id);
    assert.ok(tag, `no element with id "${id}"`);
    assert.match(tag, shape, `element "${id}" is ${tag}`);
  }
  const range = tagWithId(CHAT_HTML, "temperature") ?? "";
  assert.match(range, /\bmin="0"/);
  assert.match(range, /\bmax="2"/);
  assert.match(range, /\bvalue="0\.8"/);
});

Deno.test("CHAT_HTML gives every form control an accessible name", () => {
  const controls = [...CHAT_HTML.matchAll(/<(input|textarea|select)\b[^>]*>/gi)].map((m) => m[0]);
  assert.ok(controls.length >= 6);
  for (const tag of controls) {
    const id = /\bid="([^"]+)"/.exec(tag)?.[1];
    assert.ok(id, `control without an id: ${tag}`);
    const labelled = /\baria-label="[^"]+"/.test(tag) ||
      new RegExp(`<label\\b[^>]*\\bfor="${id}"[^>]*>[^<]+</label>`).test(CHAT_HTML);
    assert.ok(labelled, `control "${id}" has no label`);
  }
  for (const m of CHAT_HTML.matchAll(/<button\b[^>]*>([^<]*)<\/button>/gi)) {
    assert.ok((m[1] ?? "").trim(), `button without text: ${m[0]}`);
  }
});

Deno.test("CHAT_HTML follows the colour scheme and narrow windows", () => {
  const css = styles(CHAT_HTML).join("\n");
  assert.match(css, /@media \(prefers-color-scheme: dark\)/);
  assert.match(css, /@media \(max-width: [0-9.]+rem\)/);
  assert.match(CHAT_HTML, /<meta name="color-scheme" content="light dark">/);
});

Deno.test("CHAT_HTML script never turns text into HTML (XSS)", () => {
  const script = scripts(CHAT_HTML).join("\n");
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]) {
    assert.equal(script.includes(sink), false, `script uses ${sink}`);
  }
  assert.equal(CHAT_HTML.match(/<\/script/gi)?.length, 1);
  // Model output goes into text nodes.
  assert.match(script, /appendData\(piece\)/);
});

Deno.test("CHAT_HTML script is valid JavaScript", () => {
  const script = scripts(CHAT_HTML)[0] ?? "";
  // Compiles without running (the body would touch the DOM).
  assert.equal(typeof new Function(script), "function");
  assert.throws(() => new Function(script + "\n}"), SyntaxError);
});

Deno.test("CHAT_HTML script sends what the API expects", () => {
  const script = scripts(CHAT_HTML)[0] ?? "";
  for (
    const part of [
      "stream: true",
      "stream_options: { include_usage: true }",
      "temperature: readTemperature()",
      "request.max_tokens = maxTokens",
      '"Bearer " + key',
      '"LLaMA_CPP"',
      'data === "[DONE]"',
      "localStorage",
      "new AbortController()",
    ]
  ) {
    assert.ok(script.includes(part), `script lacks ${part}`);
  }
});

Deno.test("CHAT_HTML names the API routes clients can use, Anthropic's and the Responses API's among them", () => {
  const start = CHAT_HTML.indexOf('id="endpoints"');
  assert.ok(start > 0);
  const text = CHAT_HTML.slice(start, CHAT_HTML.indexOf("</p>", start));
  for (const path of ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/completion"]) {
    assert.ok(text.includes(`<code>${path}</code>`), path);
  }
});
