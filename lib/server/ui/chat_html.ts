/**
 * The chat page the server serves at `/`: one self-contained HTML document, built at start-up
 * (so it is in memory before the sandbox forbids reading files) from `page/` (markup, style,
 * the page's scripts) and three libraries from npm, inlined: `marked` (markdown), `DOMPurify`
 * (sanitizing) and `highlight.js` (code). It loads nothing from the network; its scripts call
 * only the same-origin API (`./v1/models`, `./props`, `./v1/chat/completions`).
 *
 * The Content-Security-Policy ({@linkcode CHAT_PAGE_HEADERS}) allows exactly these inline
 * scripts and style (by their SHA-256), no other origin, and asks for Trusted Types: the only
 * HTML the page inserts is markdown passed through DOMPurify.
 *
 * The page's scripts (`page/*.js`, plain browser JavaScript) run in order inside one function
 * and share its `LF` object: `util.js`, `store.js` (conversations in localStorage), `api.js`,
 * `markdown.js`, `settings.js` (the inputs of {@linkcode SAMPLER_FIELDS}), `attach.js` (images
 * for the next message), `chat.js`.
 *
 * Stable hooks for tests and for whoever extends the page: ids `#input`, `#send`, `#stop`,
 * `#new-chat`, `#settings` (a collapsed `<details>`), `#system`, `#grammar`, `#json-schema`,
 * `#api-key`, `#endpoints` (the API routes, for clients), each sampler's id, `#model`,
 * `#context-info`, `#status`, `#messages`,
 * `#conversations`, `#export`, `#import`, `#theme`, `#menu`, `#composer-tools` (the composer's
 * tools: `#attach` and its `#image-file` input, shown when the model takes images), `#attachments`
 * (their previews: `.attachment` with a `.remove-image`); every turn is a `.turn` with a `.msg.user` (its images in `.images`), `.msg.assistant` (markdown,
 * `data-state` `streaming`, then `done` or `stopped`) or `.msg.error`, and `.actions`
 * (`.copy`, `.edit`, `.regenerate`, `.meta`); a code block is a `.code-block` with a
 * `.copy-code` button; a saved conversation is a `.conversation` (`.open`, `.rename`, `.delete`).
 *
 * @module
 */
import marked from "../../../node_modules/marked/lib/marked.umd.js" with { type: "text" };
import purify from "../../../node_modules/dompurify/dist/purify.min.js" with { type: "text" };
import highlight from "../../../node_modules/@highlightjs/cdn-assets/highlight.min.js" with {
  type: "text",
};
import body from "./page/page.html" with { type: "text" };
import style from "./page/page.css" with { type: "text" };
import util from "./page/util.js" with { type: "text" };
import store from "./page/store.js" with { type: "text" };
import api from "./page/api.js" with { type: "text" };
import markdown from "./page/markdown.js" with { type: "text" };
import settings from "./page/settings.js" with { type: "text" };
import attach from "./page/attach.js" with { type: "text" };
import chat from "./page/chat.js" with { type: "text" };
import { sha256Base64 } from "../../util/sha256.ts";
import { samplerMarkup } from "./sampler_fields.ts";

export { SAMPLER_FIELDS, type SamplerField } from "./sampler_fields.ts";

/** A library as an inline script: its source map comment dropped (there is no map to load). */
function library(source: string): string {
  return source.replace(/^\/\/# sourceMappingURL=.*$/m, "").trim();
}

/** The inline scripts, in order: the libraries, then the page's own in one function. */
export const PAGE_SCRIPTS: readonly string[] = [
  library(purify),
  library(marked),
  library(highlight),
  [
    '"use strict";',
    "(function () {",
    "const LF = {};",
    util,
    store,
    api,
    markdown,
    settings,
    attach,
    chat,
    "})();",
  ].join("\n"),
];

const SAMPLERS_MARK = "<!-- samplers: generated from sampler_fields.ts -->";

/** The page's markup with the sampler inputs in place of their mark. */
function withSamplers(markup: string): string {
  if (!markup.includes(SAMPLERS_MARK)) {
    throw new Error(`Cannot build the chat page: page.html lacks "${SAMPLERS_MARK}"`);
  }
  return markup.replace(SAMPLERS_MARK, samplerMarkup());
}

function sha256(text: string): string {
  return `'sha256-${sha256Base64(text)}'`;
}

/** The whole chat page as one self-contained HTML document. */
export const CHAT_HTML: string = [
  "<!doctype html>",
  '<html lang="en">',
  "<head>",
  '<meta charset="utf-8">',
  '<meta name="viewport" content="width=device-width, initial-scale=1">',
  '<meta name="color-scheme" content="light dark">',
  '<meta name="referrer" content="no-referrer">',
  "<title>llamafile</title>",
  '<link rel="icon" href="data:,">',
  `<style>${style}</style>`,
  "</head>",
  "<body>",
  withSamplers(body).trimEnd(),
  ...PAGE_SCRIPTS.map((script) => `<script>${script}</script>`),
  "</body>",
  "</html>",
  "",
].join("\n");

/** The page's Content-Security-Policy: its own scripts and style only, Trusted Types. */
export const CHAT_PAGE_CSP: string = [
  "default-src 'none'",
  `script-src ${PAGE_SCRIPTS.map(sha256).join(" ")}`,
  `style-src ${sha256(style)}`,
  "img-src data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types llamafile dompurify",
].join("; ");

/** The headers the page is served with. */
export const CHAT_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CHAT_PAGE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};
