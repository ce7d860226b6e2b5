// The chat: the conversation on screen (copy, edit, regenerate), sending and stopping, the
// sidebar of saved conversations (new, rename, delete, export, import), the model's status
// (the page waits while the server loads it), the theme, the menu on narrow screens.

(function () {
  const els = {
    app: LF.$("app"),
    messages: LF.$("messages"),
    scroller: LF.$("scroller"),
    input: LF.$("input"),
    send: LF.$("send"),
    stop: LF.$("stop"),
    form: LF.$("composer"),
    status: LF.$("status"),
    model: LF.$("model"),
    contextInfo: LF.$("context-info"),
    conversations: LF.$("conversations"),
    newChat: LF.$("new-chat"),
    exportButton: LF.$("export"),
    importButton: LF.$("import"),
    importFile: LF.$("import-file"),
    theme: LF.$("theme"),
    menu: LF.$("menu"),
    backdrop: LF.$("sidebar-backdrop"),
    settings: LF.$("settings"),
  };

  let current = LF.store.get(LF.store.currentId()) || LF.store.create();
  /** The answer being written: `{ controller, conversation }`. */
  let streaming = null;
  /** The error shown under the conversation until the next change. */
  let errorText = "";

  // --- the model -------------------------------------------------------------------------
  let modelId = null;
  let resolveReady;
  /** Settles once the server has answered for the model (ready, or asking for a key). */
  const ready = new Promise((resolve) => (resolveReady = resolve));
  let watching = false;

  function setStatus(text) {
    els.status.textContent = text;
  }

  async function watchModel() {
    if (watching) return;
    watching = true;
    try {
      for (;;) {
        const got = await LF.api.model();
        if (got.state === "ready" || got.state === "fallback") {
          modelId = got.id;
          els.model.textContent = got.id;
          els.model.title = got.id;
          const meta = got.meta || {};
          if (meta.n_ctx || meta.n_ctx_train) {
            els.contextInfo.textContent = "context " + (meta.n_ctx || "?") +
              (meta.n_ctx_train ? " \u00b7 trained " + meta.n_ctx_train : "");
            const over = meta.n_ctx && meta.n_ctx_train && meta.n_ctx > meta.n_ctx_train;
            els.contextInfo.classList.toggle("over", !!over);
            els.contextInfo.title = over
              ? "A conversation may hold more tokens than the model was trained on: " +
                "answers may degrade past " + meta.n_ctx_train
              : "Tokens a conversation can hold, and the model's trained context";
          }
          if (/loading|API key|unreachable/.test(els.status.textContent)) setStatus("");
          const props = await LF.api.props();
          const settings = props && props.default_generation_settings;
          LF.settings.showDefaults(settings && settings.params ? settings.params : null);
          LF.attach.enable(LF.api.takesImages(props));
          resolveReady();
          return;
        }
        if (got.state === "auth") {
          els.model.textContent = "";
          setStatus(
            LF.settings.hasKey()
              ? "The server refused the API key: check it in Settings."
              : "This server needs an API key: enter it in Settings.",
          );
          LF.settings.askForKey();
          // Requests go out and get the server's 401, until a key is entered.
          resolveReady();
          return;
        }
        els.model.textContent = got.state === "loading"
          ? "loading model\u2026"
          : "server unreachable";
        setStatus(
          got.state === "loading"
            ? "The server is loading the model; you can type meanwhile."
            : "The server is unreachable; retrying\u2026",
        );
        await new Promise((resolve) => setTimeout(resolve, got.state === "loading" ? 700 : 2000));
      }
    } finally {
      watching = false;
    }
  }

  /** Resolves to the model's name once the server has answered; rejects when `signal` aborts. */
  function modelReady(signal) {
    return new Promise((resolve, reject) => {
      const abort = () => reject(new DOMException("Stopped", "AbortError"));
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
      ready.then(() => resolve(modelId || LF.api.FALLBACK_MODEL));
    });
  }

  // --- the conversation on screen ----------------------------------------------------------
  function nearBottom() {
    const s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }
  function scrollDown(force) {
    if (force || nearBottom()) els.scroller.scrollTop = els.scroller.scrollHeight;
  }

  /** The view of one answer: renders its markdown at most once a frame while it streams. */
  function assistantView(message, turn, body, meta) {
    let pending = false;
    let reasoning = null;
    function draw() {
      pending = false;
      const pinned = nearBottom();
      LF.markdown.render(body, message.content, message.state !== "streaming");
      body.setAttribute("data-state", message.state);
      meta.textContent = message.meta || "";
      if (message.reasoning) {
        if (!reasoning) {
          reasoning = LF.el("details", { className: "reasoning" }, [
            LF.el("summary", {}, ["Reasoning"]),
            LF.el("div"),
          ]);
          turn.prepend(reasoning);
        }
        reasoning.lastChild.textContent = message.reasoning;
      }
      if (pinned) scrollDown(true);
    }
    return {
      update() {
        if (pending) return;
        pending = true;
        requestAnimationFrame(draw);
      },
      now: draw,
    };
  }

  function userTurn(message, index) {
    const images = LF.el(
      "div",
      { className: "images" },
      (message.images || []).map((url, i) =>
        LF.el("img", { src: url, alt: "Image " + (i + 1), className: "sent-image" })
      ),
    );
    const body = LF.el("div", { className: "msg user" }, [images, message.content]);
    const turn = LF.el("div", { className: "turn user", role: "article", "aria-label": "You" }, [
      body,
      LF.el("div", { className: "actions" }, [
        LF.copyButton("Copy", "copy", () => message.content),
        LF.el("button", {
          type: "button",
          className: "small edit",
          onclick: () => editMessage(turn, index),
        }, ["Edit"]),
      ]),
    ]);
    return turn;
  }

  function answerTurn(message, isLast) {
    const body = LF.el("div", { className: "msg assistant markdown" });
    const meta = LF.el("span", { className: "meta" });
    const actions = LF.el("div", { className: "actions" }, [
      LF.copyButton("Copy", "copy", () => message.content),
    ]);
    if (isLast && message.state !== "streaming") {
      actions.append(LF.el("button", {
        type: "button",
        className: "small regenerate",
        onclick: regenerate,
      }, ["Regenerate"]));
    }
    actions.append(meta);
    const turn = LF.el("div", {
      className: "turn assistant",
      role: "article",
      "aria-label": "Assistant",
    }, [body, actions]);
    const view = assistantView(message, turn, body, meta);
    view.now();
    return { turn, view };
  }

  /** Redraws the whole conversation; returns the view of its last answer. */
  function render() {
    const nodes = [];
    let lastView = null;
    const messages = current.messages;
    messages.forEach((message, index) => {
      if (message.role === "user") {
        nodes.push(userTurn(message, index));
      } else {
        const { turn, view } = answerTurn(message, index === messages.length - 1);
        nodes.push(turn);
        lastView = view;
      }
    });
    if (errorText) {
      nodes.push(
        LF.el("div", { className: "turn error", role: "article", "aria-label": "Error" }, [
          LF.el("div", { className: "msg error", role: "alert" }, [errorText]),
        ]),
      );
    }
    els.messages.replaceChildren(...nodes);
    renderSidebar();
    return lastView;
  }

  function editMessage(turn, index) {
    if (streaming) return;
    const message = current.messages[index];
    const area = LF.el("textarea", { "aria-label": "Edit message" });
    area.value = message.content;
    const save = LF.el("button", { type: "button", className: "save-edit" }, ["Save and send"]);
    const cancel = LF.el("button", { type: "button", className: "cancel-edit" }, ["Cancel"]);
    const box = LF.el("div", { className: "edit-box" }, [
      area,
      LF.el("div", { className: "row" }, [save, cancel]),
    ]);
    turn.replaceChildren(box);
    area.focus();
    cancel.addEventListener("click", render);
    save.addEventListener("click", () => {
      const text = area.value;
      if (!text.trim()) return;
      // Everything after the edited message goes; the answer is written again (with the
      // message's images).
      current.messages = current.messages.slice(0, index);
      const edited = { role: "user", content: text };
      if (message.images) edited.images = message.images;
      current.messages.push(edited);
      LF.store.save(current);
      generate(current);
    });
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        save.click();
      } else if (e.key === "Escape") {
        render();
      }
    });
  }

  function regenerate() {
    if (streaming) return;
    const last = current.messages[current.messages.length - 1];
    if (!last || last.role !== "assistant") return;
    current.messages.pop();
    generate(current);
  }

  // --- sending ---------------------------------------------------------------------------
  function setStreaming(on) {
    els.send.disabled = on;
    els.stop.disabled = !on;
    els.form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function showError(error) {
    const status = error && error.name === "ApiError" && error.status ? error.status : 0;
    errorText = (status ? "Error (HTTP " + status + "): " : "Error: ") +
      (error && error.message ? error.message : String(error));
    if (status === 401) {
      setStatus("The server refused the request: enter or check the API key in Settings.");
      LF.settings.askForKey();
    }
  }

  /** Writes the answer to the conversation's last user message. */
  async function generate(conversation) {
    let fields;
    try {
      fields = LF.settings.requestFields();
    } catch (error) {
      els.settings.open = true;
      errorText = "Error: " + error.message;
      render();
      return false;
    }
    errorText = "";
    const controller = new AbortController();
    streaming = { controller, conversation };
    setStreaming(true);
    const history = conversation.messages.slice();
    const message = { role: "assistant", content: "", state: "streaming" };
    conversation.messages.push(message);
    const view = render();
    scrollDown(true);
    let first = 0;
    let pieces = 0;
    let result = null;
    let failed = false;
    try {
      const model = await modelReady(controller.signal);
      const body = Object.assign({
        model,
        messages: LF.api.apiMessages(LF.settings.system(), history),
        stream: true,
        stream_options: { include_usage: true },
      }, fields);
      result = await LF.api.streamChat(body, controller.signal, {
        content(text) {
          if (!first) first = performance.now();
          pieces++;
          message.content += text;
          if (current === conversation) view.update();
        },
        reasoning(text) {
          message.reasoning = (message.reasoning || "") + text;
          if (current === conversation) view.update();
        },
      });
      message.state = "done";
    } catch (error) {
      if (controller.signal.aborted || (error && error.name === "AbortError")) {
        message.state = "stopped";
      } else {
        failed = true;
        message.state = "done";
        showError(error);
      }
    } finally {
      if (streaming && streaming.controller === controller) streaming = null;
      setStreaming(!!streaming);
    }
    const usage = result && result.usage;
    const timings = result && result.timings;
    // Stopped answers get no usage: the pieces streamed (one a token) count them.
    const chunks = result ? result.chunks : pieces;
    const tokens = usage && typeof usage.completion_tokens === "number"
      ? usage.completion_tokens
      : timings && typeof timings.predicted_n === "number"
      ? timings.predicted_n
      : chunks;
    let speed = timings && typeof timings.predicted_per_second === "number"
      ? timings.predicted_per_second
      : 0;
    if (!(speed > 0) && tokens > 1 && first) {
      speed = (tokens - 1) * 1000 / (performance.now() - first);
    }
    message.meta = LF.statsLine(
      tokens,
      speed,
      result && result.finish,
      message.state === "stopped",
    );
    if (failed && !message.content) {
      conversation.messages.pop();
      // A message that got no answer at all goes back to the input.
      const last = conversation.messages[conversation.messages.length - 1];
      if (last && last.role === "user" && conversation.messages.length === history.length) {
        if (!els.input.value) {
          els.input.value = last.content;
          autoGrow();
        }
        if (last.images && LF.attach.count() === 0) LF.attach.restore(last.images);
        conversation.messages.pop();
      }
    }
    if (!LF.store.save(conversation)) {
      setStatus(
        "The browser's storage is full: this conversation is not kept. Export and delete some.",
      );
    }
    if (current === conversation) render();
    return !failed;
  }

  function send() {
    const text = els.input.value;
    if ((!text.trim() && LF.attach.count() === 0) || streaming) return;
    try {
      LF.settings.requestFields();
    } catch (error) {
      els.settings.open = true;
      errorText = "Error: " + error.message;
      render();
      return;
    }
    els.input.value = "";
    autoGrow();
    const message = { role: "user", content: text };
    const images = LF.attach.take();
    if (images.length > 0) message.images = images;
    current.messages.push(message);
    LF.store.setCurrent(current.id);
    LF.store.save(current);
    generate(current);
  }

  function stop() {
    if (streaming) streaming.controller.abort();
  }

  function autoGrow() {
    els.input.style.height = "auto";
    els.input.style.height = els.input.scrollHeight + 2 + "px";
  }

  // --- conversations ---------------------------------------------------------------------
  function open(conversation) {
    stop();
    errorText = "";
    current = conversation;
    LF.store.setCurrent(current.id);
    render();
    scrollDown(true);
    closeMenu();
  }

  function renderSidebar() {
    const items = LF.store.list().filter((c) => c.messages.length > 0);
    els.conversations.replaceChildren(...items.map((c) => {
      const item = LF.el("div", {
        className: "conversation",
        "aria-current": c === current ? "true" : "false",
      });
      const openButton = LF.el("button", {
        type: "button",
        className: "open",
        title: c.title,
        onclick: () => open(c),
      }, [c.title]);
      const rename = LF.el("button", {
        type: "button",
        className: "small rename",
        "aria-label": "Rename " + c.title,
        title: "Rename",
      }, ["\u270e"]);
      const remove = LF.el("button", {
        type: "button",
        className: "small delete",
        "aria-label": "Delete " + c.title,
        title: "Delete",
      }, ["\u2715"]);
      rename.addEventListener("click", () => {
        const field = LF.el("input", {
          type: "text",
          className: "rename-input",
          "aria-label": "New name",
        });
        field.value = c.title;
        item.replaceChildren(field);
        field.focus();
        field.select();
        let done = false;
        const finish = (keep) => {
          if (done) return;
          done = true;
          if (keep && field.value.trim()) LF.store.rename(c, field.value);
          renderSidebar();
        };
        field.addEventListener("keydown", (e) => {
          if (e.key === "Enter") finish(true);
          else if (e.key === "Escape") finish(false);
        });
        field.addEventListener("blur", () => finish(true));
      });
      let armed = null;
      remove.addEventListener("click", () => {
        if (!armed) {
          remove.textContent = "Delete?";
          remove.classList.add("confirm");
          armed = setTimeout(() => {
            armed = null;
            remove.textContent = "\u2715";
            remove.classList.remove("confirm");
          }, 4000);
          return;
        }
        clearTimeout(armed);
        LF.store.remove(c.id);
        if (c === current) open(LF.store.list()[0] || LF.store.create());
        else renderSidebar();
      });
      item.append(openButton, rename, remove);
      return item;
    }));
  }

  function newChat() {
    open(current.messages.length === 0 ? current : LF.store.create());
    els.input.focus();
  }

  function exportAll() {
    const blob = new Blob([LF.store.exportJson()], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = LF.el("a", { href: url, download: "llamafile-conversations.json" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function importFile() {
    const file = els.importFile.files && els.importFile.files[0];
    els.importFile.value = "";
    if (!file) return;
    try {
      const count = LF.store.importJson(await file.text());
      setStatus("Imported " + count + (count === 1 ? " conversation." : " conversations."));
      renderSidebar();
    } catch (error) {
      setStatus(error.message);
    }
  }

  // --- theme and menu --------------------------------------------------------------------
  const THEMES = [
    { name: "auto", label: "Theme: follow the system", icon: "\u25d0" },
    { name: "light", label: "Theme: light", icon: "\u2600" },
    { name: "dark", label: "Theme: dark", icon: "\u263e" },
  ];
  function applyTheme(name) {
    const theme = THEMES.find((t) => t.name === name) || THEMES[0];
    if (theme.name === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme.name;
    els.theme.setAttribute("aria-label", theme.label);
    els.theme.title = theme.label;
    els.theme.textContent = theme.icon;
    return theme.name;
  }
  let theme = applyTheme(LF.storage.get("llamafile.theme") || "auto");
  els.theme.addEventListener("click", () => {
    const next = THEMES[(THEMES.findIndex((t) => t.name === theme) + 1) % THEMES.length];
    theme = applyTheme(next.name);
    LF.storage.set("llamafile.theme", theme === "auto" ? null : theme);
  });

  function closeMenu() {
    els.app.classList.remove("sidebar-open");
    els.menu.setAttribute("aria-expanded", "false");
  }
  els.menu.addEventListener("click", () => {
    const open = els.app.classList.toggle("sidebar-open");
    els.menu.setAttribute("aria-expanded", open ? "true" : "false");
  });
  els.backdrop.addEventListener("click", closeMenu);

  // --- wiring ----------------------------------------------------------------------------
  els.form.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  els.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === "Escape" && streaming) {
      stop();
    }
  });
  els.input.addEventListener("input", autoGrow);
  els.stop.addEventListener("click", stop);
  els.newChat.addEventListener("click", newChat);
  els.exportButton.addEventListener("click", exportAll);
  els.importButton.addEventListener("click", () => els.importFile.click());
  els.importFile.addEventListener("change", importFile);
  document.addEventListener("keychange", () => {
    // A refusal shown for the old key no longer holds.
    if (/HTTP 401/.test(errorText)) {
      errorText = "";
      render();
    }
    if (modelId === null) watchModel();
  });

  LF.attach.onNotice(setStatus);
  setStreaming(false);
  render();
  watchModel();
  els.input.focus();
})();
