// Answers as markdown: `marked` (GitHub flavour, single newlines kept; HTML in the text shown
// as text), code highlighted by `highlight.js`, the result sanitized by `DOMPurify` before it
// reaches the page, through a Trusted Types policy where the browser enforces them (the page's
// CSP asks it to). This is the page's only way to insert HTML.

LF.markdown = (function () {
  const { marked, DOMPurify, hljs } = globalThis;
  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
  /** Blocks without a language get guessed only once the answer is complete, and if short. */
  const AUTO_LIMIT = 20000;
  const PURIFY = {
    FORBID_TAGS: [
      "style",
      "form",
      "input",
      "button",
      "textarea",
      "select",
      "img",
      "video",
      "audio",
      "iframe",
      "object",
      "embed",
      "svg",
      "math",
    ],
    FORBID_ATTR: ["style"],
    ALLOW_DATA_ATTR: false,
  };
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  const policy = globalThis.trustedTypes && globalThis.trustedTypes.createPolicy
    ? globalThis.trustedTypes.createPolicy("llamafile", {
      createHTML: (html) => DOMPurify.sanitize(html, PURIFY),
    })
    : null;

  /** Sets `element`'s content to `html`, sanitized. */
  function setHtml(element, html) {
    element.innerHTML = policy ? policy.createHTML(html) : DOMPurify.sanitize(html, PURIFY);
  }

  let complete = false;
  function highlight(code, lang) {
    const language = String(lang || "").trim().split(/\s+/)[0].toLowerCase();
    try {
      if (language && hljs.getLanguage(language)) {
        return hljs.highlight(code, { language, ignoreIllegals: true }).value;
      }
      if (!language && complete && code.length < AUTO_LIMIT) {
        return hljs.highlightAuto(code).value;
      }
    } catch {
      // plain text below
    }
    return escape(code);
  }

  const parser = new marked.Marked({
    gfm: true,
    breaks: true,
    renderer: {
      // HTML in an answer is shown as the text it is, never run as markup.
      html(token) {
        const text = escape(token.text);
        return token.block ? "<p>" + text + "</p>\n" : text;
      },
      code(token) {
        const language = String(token.lang || "").trim().split(/\s+/)[0];
        const cls = "hljs" + (language ? " language-" + escape(language) : "");
        return '<pre><code class="' + cls + '">' + highlight(token.text, language) +
          "</code></pre>\n";
      },
    },
  });

  /** Wraps each code block in a frame with its language and a Copy button. */
  function decorate(element) {
    for (const pre of element.querySelectorAll("pre")) {
      const code = pre.querySelector("code");
      const match = code && /\blanguage-([\w#+.-]+)/.exec(code.className);
      const head = LF.el("div", { className: "code-head" }, [
        LF.el("span", { className: "code-lang" }, [match ? match[1] : "text"]),
        LF.copyButton("Copy", "copy-code", () => (code ? code.textContent : pre.textContent)),
      ]);
      const frame = LF.el("div", { className: "code-block" });
      pre.replaceWith(frame);
      frame.append(head, pre);
    }
  }

  return {
    setHtml,
    /** Renders `text` into `element`; `done` when the answer is complete. */
    render(element, text, done) {
      complete = !!done;
      try {
        setHtml(element, parser.parse(text).trim());
      } catch {
        element.textContent = text;
        return;
      }
      decorate(element);
    },
  };
})();
