// Conversations kept in the browser (localStorage), their export and import as JSON.
//
// A conversation: { id, title, titled (renamed by hand), created, updated, messages }; until
// renamed, its title is its first message. A message: { role: "user" or
// "assistant", content: string, for a user's images (`data:image/...` URIs), and for answers
// state ("done", "stopped"), meta (the stats line), reasoning }. `LF.api.apiMessages` is the
// one place that turns messages into the request's.

LF.store = (function () {
  const KEY = "llamafile.conversations";
  const CURRENT = "llamafile.current";
  const FORMAT = "llamafile.conversations";

  function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function cleanMessage(m) {
    if (!m || (m.role !== "user" && m.role !== "assistant") || typeof m.content !== "string") {
      return null;
    }
    const out = { role: m.role, content: m.content };
    if (m.role === "user" && Array.isArray(m.images)) {
      const images = m.images.filter((url) =>
        typeof url === "string" && /^data:image\/[\w.+-]+;base64,/.test(url)
      ).slice(0, 8);
      if (images.length > 0) out.images = images;
    }
    if (m.role === "assistant") {
      out.state = m.state === "stopped" ? "stopped" : "done";
      if (typeof m.meta === "string") out.meta = m.meta;
      if (typeof m.reasoning === "string" && m.reasoning) out.reasoning = m.reasoning;
    }
    return out;
  }

  function cleanConversation(c) {
    if (!c || typeof c !== "object" || !Array.isArray(c.messages)) return null;
    const now = Date.now();
    return {
      id: typeof c.id === "string" && /^[0-9a-z]{1,32}$/.test(c.id) ? c.id : newId(),
      title: typeof c.title === "string" && c.title.trim() ? c.title.slice(0, 200) : "Chat",
      titled: c.titled === true,
      created: Number.isFinite(c.created) ? c.created : now,
      updated: Number.isFinite(c.updated) ? c.updated : now,
      messages: c.messages.map(cleanMessage).filter(Boolean),
    };
  }

  let all = [];
  try {
    const saved = JSON.parse(LF.storage.get(KEY) || "[]");
    if (Array.isArray(saved)) all = saved.map(cleanConversation).filter(Boolean);
  } catch {
    all = [];
  }

  /** Writes every conversation; false when the browser refused (full or disabled). */
  function persist() {
    const kept = all.filter((c) => c.messages.length > 0);
    return LF.storage.set(KEY, JSON.stringify(kept.map(cleanConversation)));
  }

  return {
    /** The conversations, newest first. */
    list() {
      return all.slice().sort((a, b) => b.updated - a.updated);
    },
    get(id) {
      return all.find((c) => c.id === id) || null;
    },
    /** A new, empty conversation (kept once it has a message). */
    create() {
      const now = Date.now();
      const c = {
        id: newId(),
        title: "New chat",
        titled: false,
        created: now,
        updated: now,
        messages: [],
      };
      all.push(c);
      return c;
    },
    /** Saves `c` after a change; false when it could not be stored. */
    save(c) {
      c.updated = Date.now();
      if (!c.titled) {
        const first = c.messages.find((m) => m.role === "user");
        c.title = first
          ? first.content.trim().replace(/\s+/g, " ").slice(0, 48) ||
            (first.images ? "Image" : "Chat")
          : "New chat";
      }
      return persist();
    },
    rename(c, title) {
      if (!title.trim()) return true;
      c.title = title.trim().slice(0, 200);
      c.titled = true;
      return persist();
    },
    remove(id) {
      all = all.filter((c) => c.id !== id);
      return persist();
    },
    currentId() {
      return LF.storage.get(CURRENT);
    },
    setCurrent(id) {
      LF.storage.set(CURRENT, id);
    },
    /** The conversations as a JSON file's text. */
    exportJson() {
      const kept = this.list().filter((c) => c.messages.length > 0);
      return JSON.stringify({ format: FORMAT, version: 1, conversations: kept }, null, 2);
    },
    /** Adds the conversations of an export; returns how many, or throws on a bad file. */
    importJson(text) {
      let data;
      try {
        data = JSON.parse(text);
      } catch {
        throw new Error("Cannot import: the file is not JSON");
      }
      const list = Array.isArray(data) ? data : data && data.conversations;
      if (!Array.isArray(list)) {
        throw new Error("Cannot import: the file holds no conversations");
      }
      const added = list.map(cleanConversation).filter((c) => c && c.messages.length > 0);
      for (const c of added) {
        if (all.some((x) => x.id === c.id)) c.id = newId();
        all.push(c);
      }
      if (!persist()) throw new Error("Cannot import: the browser's storage is full");
      return added.length;
    },
  };
})();
