// The page's small helpers: elements, storage that may be disabled, copying to the clipboard.
// The page's scripts share the `LF` object of the one function they are wrapped in.

LF.$ = function (id) {
  return document.getElementById(id);
};

/** Creates an element with properties (`className`, `textContent`, attributes, `on*`). */
LF.el = function (tag, props, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "className" || key === "textContent" || key === "title" || key === "type") {
      node[key] = value;
    } else if (key.startsWith("on")) {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value);
    }
  }
  for (const child of children || []) node.append(child);
  return node;
};

/** localStorage that may be full or disabled: reads give null, writes say whether they worked. */
LF.storage = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined || value === "") localStorage.removeItem(key);
      else localStorage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  },
};

/** Copies `text`; resolves to whether it worked (the clipboard API needs a secure context). */
LF.copyText = async function (text) {
  try {
    if (navigator.clipboard && globalThis.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall back below
  }
  const area = LF.el("textarea", { readonly: "", "aria-hidden": "true" });
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch {
    done = false;
  }
  area.remove();
  return done;
};

/** A small button that copies what `text()` gives and says so for a moment. */
LF.copyButton = function (label, className, text) {
  const button = LF.el("button", { type: "button", className: "small " + className }, [label]);
  button.addEventListener("click", async () => {
    const ok = await LF.copyText(text());
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
};

/** The stats line of an answer: tokens, speed, how it ended. */
LF.statsLine = function (tokens, perSecond, finish, stopped) {
  const parts = [];
  if (tokens > 0) parts.push(tokens + (tokens === 1 ? " token" : " tokens"));
  if (perSecond > 0 && Number.isFinite(perSecond)) parts.push(perSecond.toFixed(1) + " tok/s");
  if (finish === "length") parts.push("hit max tokens");
  if (stopped) parts.push("stopped");
  return parts.join(" \u00b7 ");
};
