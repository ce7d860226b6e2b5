// Images attached to the next message: the Attach button in the composer, a paste into the
// message box, or files dropped on the chat; previews with a remove button each; sent as
// `data:` URIs (`LF.api.apiMessages` puts them in the request). Shown only when the server's
// model takes images (`/props` modalities.vision: a server started with --mmproj).

LF.attach = (function () {
  /** The largest image attached (the server takes 20 MiB files). */
  const MAX_BYTES = 20 * 1024 * 1024;
  /** The most images one message carries. */
  const MAX_IMAGES = 8;
  const button = LF.$("attach");
  const fileInput = LF.$("image-file");
  const strip = LF.$("attachments");
  const column = LF.$("column");
  /** `{ name, url }` of the images attached so far. */
  let pending = [];
  let enabled = false;
  let onNotice = () => {};

  function draw() {
    strip.replaceChildren(
      ...pending.map((image, index) =>
        LF.el("figure", { className: "attachment" }, [
          LF.el("img", { src: image.url, alt: image.name, title: image.name }),
          LF.el("button", {
            type: "button",
            className: "small remove-image",
            "aria-label": "Remove " + image.name,
            title: "Remove",
            onclick: () => {
              pending.splice(index, 1);
              draw();
            },
          }, ["\u2715"]),
        ])
      ),
    );
    strip.hidden = pending.length === 0;
  }

  function readAsDataUrl(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error || new Error("cannot read the file"));
      reader.readAsDataURL(file);
    });
  }

  /** Attaches the image files among `files`; says why others were left out. */
  async function add(files) {
    if (!enabled) return;
    for (const file of files) {
      if (!file.type || !file.type.startsWith("image/")) {
        onNotice("Not attached: " + file.name + " is not an image.");
        continue;
      }
      if (file.size > MAX_BYTES) {
        onNotice("Not attached: " + file.name + " is larger than 20 MB.");
        continue;
      }
      if (pending.length >= MAX_IMAGES) {
        onNotice("A message carries at most " + MAX_IMAGES + " images.");
        break;
      }
      try {
        const url = await readAsDataUrl(file);
        if (!url.startsWith("data:image/")) throw new Error("not an image");
        pending.push({ name: file.name || "pasted image", url });
      } catch (error) {
        onNotice("Not attached: " + (file.name || "the image") + ": " + error.message);
      }
    }
    draw();
  }

  function imageFiles(transfer) {
    return transfer ? Array.from(transfer.files || []) : [];
  }

  button.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", async () => {
    const files = Array.from(fileInput.files || []);
    fileInput.value = "";
    await add(files);
  });
  LF.$("input").addEventListener("paste", (e) => {
    const files = imageFiles(e.clipboardData).filter((f) => f.type.startsWith("image/"));
    if (!enabled || files.length === 0) return;
    e.preventDefault();
    add(files);
  });
  column.addEventListener("dragover", (e) => {
    if (!enabled || !e.dataTransfer || !Array.from(e.dataTransfer.types).includes("Files")) {
      return;
    }
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    column.classList.add("dropping");
  });
  column.addEventListener("dragleave", (e) => {
    if (e.target === column || !column.contains(e.relatedTarget)) {
      column.classList.remove("dropping");
    }
  });
  column.addEventListener("drop", (e) => {
    column.classList.remove("dropping");
    if (!enabled) return;
    e.preventDefault();
    add(imageFiles(e.dataTransfer));
  });

  return {
    /** Shows or hides the attach controls (the model takes images or not). */
    enable(on) {
      enabled = !!on;
      button.hidden = !enabled;
      if (!enabled) {
        pending = [];
        draw();
      }
    },
    /** Where notices go (a file left out). */
    onNotice(fn) {
      onNotice = fn;
    },
    /** The images attached (`data:` URIs), removed from the composer. */
    take() {
      const urls = pending.map((image) => image.url);
      pending = [];
      draw();
      return urls;
    },
    /** Puts images back (a message that got no answer). */
    restore(urls) {
      pending = urls.map((url, i) => ({ name: "image " + (i + 1), url })).concat(pending);
      draw();
    },
    count() {
      return pending.length;
    },
  };
})();
