/**
 * Turns the bytes a terminal in raw mode sends into keys: text (UTF-8, split anywhere),
 * control keys, the escape sequences of arrows, Home/End, Delete, Ctrl/Alt combinations,
 * and bracketed paste (`ESC [200~ ... ESC [201~`, one `paste` key).
 *
 * @module
 */

/** One key press, or a paste. */
export interface Key {
  /**
   * `text` (printable characters in `text`), `paste` (pasted text in `text`), `enter`, `tab`,
   * `backspace`, `delete`, `escape`, `up`, `down`, `left`, `right`, `home`, `end`, `pageup`,
   * `pagedown`, `ctrl-a` ... `ctrl-z` (but `ctrl-i`, `ctrl-j`, `ctrl-m`, which are `tab` and
   * `enter`), `ctrl-left`, `ctrl-right`, `alt-b`, `alt-f`, `alt-d`, `alt-backspace`, or
   * `unknown` (a sequence we do not use).
   */
  name: string;
  text?: string;
}

const ESC = 0x1b;
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";

/** CSI sequences (`ESC [ ...`) by their parameter and final bytes. */
const CSI: Record<string, string> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  "1~": "home",
  "7~": "home",
  "4~": "end",
  "8~": "end",
  "3~": "delete",
  "5~": "pageup",
  "6~": "pagedown",
  "1;5C": "ctrl-right",
  "1;5D": "ctrl-left",
  "1;3C": "ctrl-right",
  "1;3D": "ctrl-left",
  "1;5H": "home",
  "1;5F": "end",
};

/** SS3 sequences (`ESC O x`). */
const SS3: Record<string, string> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/** Decodes a terminal's byte stream into {@linkcode Key}s, keeping incomplete input. */
export class KeyDecoder {
  #pending = "";
  #decoder = new TextDecoder();
  #paste: string | null = null;

  /** The keys in `bytes` (and in what was pending); an incomplete sequence waits for more. */
  feed(bytes: Uint8Array): Key[] {
    this.#pending += this.#decoder.decode(bytes, { stream: true });
    return this.#drain(false);
  }

  /** Ends the wait for more bytes: a lone ESC becomes `escape` (call after a short pause). */
  flush(): Key[] {
    return this.#drain(true);
  }

  /** True when bytes are waiting for the rest of a sequence. */
  get pending(): boolean {
    return this.#pending !== "" || this.#paste !== null;
  }

  #drain(final: boolean): Key[] {
    const keys: Key[] = [];
    let text = "";
    const flushText = () => {
      if (text !== "") keys.push({ name: "text", text });
      text = "";
    };
    let s = this.#pending;
    while (s.length > 0) {
      if (this.#paste !== null) {
        const end = s.indexOf(PASTE_END);
        if (end < 0) {
          // Keep what could be the start of the end marker.
          const keep = partialSuffix(s, PASTE_END);
          this.#paste += s.slice(0, s.length - keep);
          s = s.slice(s.length - keep);
          break;
        }
        keys.push({ name: "paste", text: (this.#paste + s.slice(0, end)).replace(/\r\n?/g, "\n") });
        this.#paste = null;
        s = s.slice(end + PASTE_END.length);
        continue;
      }
      const code = s.charCodeAt(0);
      if (code === ESC) {
        const parsed = parseEscape(s, final);
        if (parsed === null) break; // incomplete: wait for more
        flushText();
        s = s.slice(parsed.length);
        if (parsed.key.name === "paste-start") this.#paste = "";
        else keys.push(parsed.key);
        continue;
      }
      if (code < 0x20 || code === 0x7f) {
        flushText();
        keys.push({ name: controlName(code) });
        s = s.slice(1);
        continue;
      }
      const char = String.fromCodePoint(s.codePointAt(0)!);
      text += char;
      s = s.slice(char.length);
    }
    flushText();
    this.#pending = s;
    return keys;
  }
}

/** The length of the longest suffix of `s` that is a prefix of `marker`. */
function partialSuffix(s: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, s.length); n > 0; n--) {
    if (marker.startsWith(s.slice(s.length - n))) return n;
  }
  return 0;
}

function controlName(code: number): string {
  switch (code) {
    case 0x09:
      return "tab";
    case 0x0a:
    case 0x0d:
      return "enter";
    case 0x08:
    case 0x7f:
      return "backspace";
    case 0x00:
      return "unknown";
    default:
      return `ctrl-${String.fromCharCode(code + 0x60)}`;
  }
}

/**
 * Parses the escape sequence at the start of `s` (which starts with ESC): the key and how
 * many characters it took, or null when more input is needed (never when `final`).
 */
function parseEscape(s: string, final: boolean): { key: Key; length: number } | null {
  if (s.length === 1) return final ? { key: { name: "escape" }, length: 1 } : null;
  const second = s[1]!;
  if (second === "[") {
    // CSI: parameter bytes 0x30-0x3f, intermediate 0x20-0x2f, final 0x40-0x7e.
    let i = 2;
    while (i < s.length && s.charCodeAt(i) >= 0x20 && s.charCodeAt(i) <= 0x3f) i++;
    if (i >= s.length) return final ? { key: { name: "escape" }, length: 1 } : null;
    const finalByte = s.charCodeAt(i);
    if (finalByte < 0x40 || finalByte > 0x7e) return { key: { name: "unknown" }, length: i };
    const body = s.slice(2, i + 1);
    if (`\x1b[${body}` === PASTE_START) return { key: { name: "paste-start" }, length: i + 1 };
    return { key: { name: CSI[body] ?? "unknown" }, length: i + 1 };
  }
  if (second === "O") {
    if (s.length < 3) return final ? { key: { name: "escape" }, length: 1 } : null;
    return { key: { name: SS3[s[2]!] ?? "unknown" }, length: 3 };
  }
  if (second === "\x7f" || second === "\b") return { key: { name: "alt-backspace" }, length: 2 };
  if (second === "\x1b") return { key: { name: "escape" }, length: 1 };
  const alt: Record<string, string> = { b: "alt-b", f: "alt-f", d: "alt-d" };
  const name = alt[second.toLowerCase()];
  if (name !== undefined) return { key: { name }, length: 2 };
  // Alt with another key: the key alone.
  return { key: { name: "escape" }, length: 1 };
}
