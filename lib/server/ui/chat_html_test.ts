import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CHAT_HTML,
  CHAT_PAGE_CSP,
  CHAT_PAGE_HEADERS,
  PAGE_SCRIPTS,
  SAMPLER_FIELDS,
} from "./chat_html.ts";

function scripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1] ?? "");
}

function styles(html: string): string[] {
  return [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1] ?? "");
}

/** The page's own script (the libraries come before it). */
const OWN = PAGE_SCRIPTS.at(-1)!;

/** The markup without scripts and style: what the page itself declares. */
const MARKUP = CHAT_HTML.replace(/<script\b[\s\S]*?<\/script>/gi, "").replace(
  /<style\b[\s\S]*?<\/style>/gi,
  "",
);

/** The opening tag of the element with this id, or undefined. */
function tagWithId(html: string, id: string): string | undefined {
  const all = [...html.matchAll(new RegExp(`<[a-z]+\\b[^>]*\\bid="${id}"[^>]*>`, "gi"))];
  assert.equal(all.length <= 1, true, `id "${id}" is used ${all.length} times`);
  return all[0]?.[0];
}

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

Deno.test("CHAT_HTML is one complete HTML document with the libraries inlined", () => {
  assert.match(CHAT_HTML, /^<!doctype html>\n<html lang="en">/);
  assert.match(CHAT_HTML, /<\/html>\n$/);
  assert.match(CHAT_HTML, /<meta charset="utf-8">/);
  assert.match(CHAT_HTML, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.deepEqual(scripts(CHAT_HTML), [...PAGE_SCRIPTS]);
  assert.equal(styles(CHAT_HTML).length, 1);
  assert.match(PAGE_SCRIPTS[0]!, /DOMPurify 3\.5\.0/);
  assert.match(PAGE_SCRIPTS[1]!, /marked v18\.2\.1/);
  assert.match(PAGE_SCRIPTS[2]!, /Highlight\.js v11\.12\.0/);
  for (const script of PAGE_SCRIPTS) assert.doesNotMatch(script, /sourceMappingURL/);
});

Deno.test("CHAT_PAGE_CSP allows exactly the page's scripts and style, and Trusted Types", () => {
  assert.equal(CHAT_PAGE_HEADERS["Content-Security-Policy"], CHAT_PAGE_CSP);
  const directives = new Map(
    CHAT_PAGE_CSP.split(/;\s*/).map((d) => [d.split(" ")[0]!, d.split(" ").slice(1)]),
  );
  assert.deepEqual(directives.get("default-src"), ["'none'"]);
  assert.deepEqual(directives.get("script-src"), PAGE_SCRIPTS.map(sha256));
  assert.deepEqual(directives.get("style-src"), styles(CHAT_HTML).map(sha256));
  assert.deepEqual(directives.get("connect-src"), ["'self'"]);
  assert.deepEqual(directives.get("img-src"), ["data:"]);
  assert.deepEqual(directives.get("require-trusted-types-for"), ["'script'"]);
  assert.deepEqual(directives.get("trusted-types"), ["llamafile", "dompurify"]);
  assert.doesNotMatch(CHAT_PAGE_CSP, /unsafe-inline|unsafe-eval|https?:|\*/);
});

Deno.test("CHAT_HTML scripts stay inside their script elements", () => {
  // An HTML parser ends a script at "</script"; after "<!--", a "<script" would change how it
  // ends. The libraries are minified by others: check each stays one script.
  for (const [i, script] of PAGE_SCRIPTS.entries()) {
    assert.doesNotMatch(script, /<\/script/i, `script ${i}`);
    for (const m of script.matchAll(/<!--/g)) {
      const rest = script.slice(m.index + 4);
      const close = rest.indexOf("-->");
      const open = rest.search(/<script/i);
      assert.ok(open < 0 || (close >= 0 && close < open), `script ${i}: "<!--" before "<script"`);
    }
  }
});

Deno.test("CHAT_HTML loads nothing from outside the page's origin", () => {
  assert.doesNotMatch(MARKUP, /https?:\/\//i);
  for (const m of MARKUP.matchAll(/\b(?:src|href|action|srcset|poster)\s*=\s*"([^"]*)"/gi)) {
    assert.match(m[1] ?? "", /^(?:data:|\.?\/[^/]|#)/, `external reference ${m[0]}`);
  }
  for (const css of styles(CHAT_HTML)) {
    assert.doesNotMatch(css, /@import|url\(/i, "CSS must not load anything");
  }
  // The only requests the page's script makes are same-origin API calls.
  const fetches = [...OWN.matchAll(/fetch\(\s*([^,)]*)/g)].map((m) => m[1]);
  assert.deepEqual(fetches, ['"./v1/models"', '"./props"', '"./v1/chat/completions"']);
  assert.doesNotMatch(OWN, /XMLHttpRequest|EventSource|WebSocket|import\(|importScripts/);
});

Deno.test("CHAT_HTML has the controls tests rely on, with stable ids", () => {
  const ids = {
    input: /^<textarea\b/,
    send: /^<button type="submit"/,
    stop: /^<button type="button"[^>]*\bdisabled\b/,
    "new-chat": /^<button type="button"/,
    system: /^<textarea\b/,
    grammar: /^<textarea\b/,
    "json-schema": /^<textarea\b/,
    "api-key": /^<input type="password"/,
    messages: /^<div\b/,
    settings: /^<details id="settings">$/, // collapsed by default
    status: /^<div\b/,
    model: /^<span\b/,
    "context-info": /^<span\b/,
    conversations: /^<nav\b/,
    export: /^<button\b/,
    import: /^<button\b/,
    "import-file": /^<input type="file"/,
    theme: /^<button\b/,
    menu: /^<button\b/,
    "composer-tools": /^<div\b/,
  };
  for (const [id, shape] of Object.entries(ids)) {
    const tag = tagWithId(CHAT_HTML, id);
    assert.ok(tag, `no element with id "${id}"`);
    assert.match(tag, shape, `element "${id}" is ${tag}`);
  }
  for (const field of SAMPLER_FIELDS) {
    const tag = tagWithId(CHAT_HTML, field.id) ?? "";
    assert.match(
      tag,
      new RegExp(`^<input type="number" id="${field.id}" data-field="${field.field}"`),
    );
    assert.match(CHAT_HTML, new RegExp(`<label for="${field.id}">${field.label}</label>`));
  }
  assert.deepEqual(
    SAMPLER_FIELDS.map((f) => f.field),
    [
      "temperature",
      "max_tokens",
      "top_k",
      "top_p",
      "min_p",
      "typical_p",
      "repeat_penalty",
      "repeat_last_n",
      "presence_penalty",
      "frequency_penalty",
      "seed",
    ],
  );
});

Deno.test("CHAT_HTML gives every form control an accessible name", () => {
  const controls = [...MARKUP.matchAll(/<(input|textarea|select)\b[^>]*>/gi)].map((m) => m[0]);
  assert.ok(controls.length >= 15);
  for (const tag of controls) {
    const id = /\bid="([^"]+)"/.exec(tag)?.[1];
    assert.ok(id, `control without an id: ${tag}`);
    const labelled = /\baria-label="[^"]+"/.test(tag) ||
      new RegExp(`<label\\b[^>]*\\bfor="${id}"[^>]*>[^<]+</label>`).test(CHAT_HTML);
    assert.ok(labelled, `control "${id}" has no label`);
  }
  for (const m of MARKUP.matchAll(/<button\b([^>]*)>([^<]*)<\/button>/gi)) {
    const named = (m[2] ?? "").trim() !== "" || /aria-label="[^"]+"/.test(m[1] ?? "");
    assert.ok(named, `button without a name: ${m[0]}`);
  }
});

Deno.test("CHAT_HTML follows the colour scheme, has a theme toggle, fits narrow windows", () => {
  const css = styles(CHAT_HTML).join("\n");
  assert.match(css, /@media \(prefers-color-scheme: dark\)/);
  assert.match(css, /:root\[data-theme="dark"\]/);
  assert.match(css, /:root:not\(\[data-theme="light"\]\)/);
  assert.match(css, /@media \(max-width: [0-9.]+rem\)/);
  assert.match(CHAT_HTML, /<meta name="color-scheme" content="light dark">/);
});

Deno.test("CHAT_HTML script inserts HTML only through DOMPurify", () => {
  // One HTML sink: markdown.js's setHtml, fed by DOMPurify (through a Trusted Types policy).
  assert.equal(OWN.match(/\.innerHTML\b/g)?.length, 1);
  assert.match(
    OWN,
    /element\.innerHTML = policy \? policy\.createHTML\(html\) : DOMPurify\.sanitize/,
  );
  for (
    const sink of ["outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]
  ) {
    assert.equal(OWN.includes(sink), false, `script uses ${sink}`);
  }
  // Raw HTML in an answer is escaped by the markdown renderer, before DOMPurify.
  assert.match(OWN, /html\(token\) \{\s*const text = escape\(token\.text\);/);
});

Deno.test("CHAT_HTML scripts are valid JavaScript", () => {
  for (const script of PAGE_SCRIPTS) {
    // Compiles without running (the body would touch the DOM).
    assert.equal(typeof new Function(script), "function");
  }
  assert.throws(() => new Function(OWN + "\n}"), SyntaxError);
});

Deno.test("CHAT_HTML script sends what the API expects", () => {
  for (
    const part of [
      "stream: true",
      "stream_options: { include_usage: true }",
      "out[input.dataset.field] = value",
      "out.grammar = grammar.value",
      'type: "json_schema"',
      '"Bearer " + apiKey',
      '"LLaMA_CPP"',
      'data === "[DONE]"',
      "localStorage",
      "new AbortController()",
      "res.status === 503",
    ]
  ) {
    assert.ok(OWN.includes(part), `script lacks ${part}`);
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
