// The settings panel: the system prompt, the samplers (inputs with a `data-field`: the request
// field they fill), a grammar or a JSON schema, and the API key. Empty fields leave the
// server's defaults (from `/props`, shown as placeholders). Kept in localStorage.

LF.settings = (function () {
  const KEY = "llamafile.settings";
  const KEY_STORAGE = "llamafile.apiKey";
  const fields = Array.from(document.querySelectorAll("[data-field]"));
  const system = LF.$("system");
  const grammar = LF.$("grammar");
  const schema = LF.$("json-schema");
  const apiKey = LF.$("api-key");
  const texts = [system, grammar, schema];

  function save() {
    const values = {};
    for (const input of fields) if (input.value !== "") values[input.id] = input.value;
    for (const area of texts) if (area.value !== "") values[area.id] = area.value;
    LF.storage.set(KEY, JSON.stringify(values));
  }

  function load() {
    let values = {};
    try {
      values = JSON.parse(LF.storage.get(KEY) || "{}") || {};
    } catch {
      values = {};
    }
    for (const input of [...fields, ...texts]) {
      if (typeof values[input.id] === "string") input.value = values[input.id];
    }
    apiKey.value = LF.storage.get(KEY_STORAGE) || "";
    LF.api.setKey(apiKey.value.trim());
  }

  /** The number in `input`, or undefined when empty; throws on a bad value. */
  function number(input) {
    const raw = input.value.trim();
    if (raw === "") return undefined;
    const value = Number(raw);
    const label = document.querySelector('label[for="' + input.id + '"]');
    const name = label ? label.textContent : input.id;
    if (!Number.isFinite(value) || (input.dataset.kind === "int" && !Number.isInteger(value))) {
      throw new Error(
        name + " must be " + (input.dataset.kind === "int" ? "an integer" : "a number"),
      );
    }
    if (input.min !== "" && value < Number(input.min)) {
      throw new Error(name + " must be at least " + input.min);
    }
    if (input.max !== "" && value > Number(input.max)) {
      throw new Error(name + " must be at most " + input.max);
    }
    return value;
  }

  load();
  for (const input of [...fields, ...texts]) {
    input.addEventListener("input", () => {
      input.classList.remove("invalid");
      save();
    });
  }
  apiKey.addEventListener("change", () => {
    LF.storage.set(KEY_STORAGE, apiKey.value.trim());
    LF.api.setKey(apiKey.value.trim());
    apiKey.dispatchEvent(new CustomEvent("keychange", { bubbles: true }));
  });
  LF.$("reset-settings").addEventListener("click", () => {
    for (const input of [...fields, ...texts]) {
      input.value = "";
      input.classList.remove("invalid");
    }
    save();
  });

  return {
    /** Shows the server's defaults as placeholders. */
    showDefaults(params) {
      for (const input of fields) {
        const value = params ? params[input.dataset.defaultFrom] : undefined;
        input.placeholder = typeof value === "number" ? String(value) : "default";
      }
    },
    /** The system prompt. */
    system() {
      return system.value.trim();
    },
    /**
     * The request fields the settings set (samplers, grammar or JSON schema); throws an
     * Error naming the field when a value is bad (the field is marked).
     */
    requestFields() {
      const out = {};
      for (const input of fields) {
        try {
          const value = number(input);
          if (value !== undefined) out[input.dataset.field] = value;
        } catch (error) {
          input.classList.add("invalid");
          throw error;
        }
      }
      if (grammar.value.trim() && schema.value.trim()) {
        grammar.classList.add("invalid");
        throw new Error("Set a grammar or a JSON schema, not both");
      }
      if (grammar.value.trim()) out.grammar = grammar.value;
      if (schema.value.trim()) {
        try {
          out.response_format = {
            type: "json_schema",
            json_schema: { name: "schema", schema: JSON.parse(schema.value) },
          };
        } catch {
          schema.classList.add("invalid");
          throw new Error("The JSON schema is not valid JSON");
        }
      }
      return out;
    },
    /** Opens the panel at the API key, with `message` in the status line. */
    askForKey() {
      LF.$("settings").open = true;
      apiKey.focus();
    },
    hasKey() {
      return apiKey.value.trim() !== "";
    },
  };
})();
