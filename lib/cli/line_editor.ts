/**
 * The editing state of one input line, key by key, as readline and bash do it: moving by
 * character and word (arrows, Ctrl-A/E/B/F, Alt-B/F, Ctrl-arrows, Home/End), deleting
 * (Backspace, Delete, Ctrl-D on text, Ctrl-K/U/W, Alt-D, Alt-Backspace) with one kill buffer
 * (Ctrl-Y), history (Up/Down, Ctrl-P/N), incremental reverse search (Ctrl-R), Tab completion,
 * and pasted text (newlines kept). Pure: {@linkcode renderLine} draws it; the terminal driver
 * (`terminal_input.ts`) feeds keys and acts on what {@linkcode LineEditor.handle} returns.
 *
 * @module
 */
import type { Key } from "./terminal_keys.ts";

/** What a key did to the line. */
export type EditResult =
  | "edited"
  /** The line is done: {@linkcode LineEditor.text} holds it. */
  | "submit"
  /** Ctrl-D on an empty line. */
  | "eof"
  /** Ctrl-C. */
  | "interrupt"
  /** Ctrl-L: clear the screen, then redraw. */
  | "clear-screen"
  /** Nothing to do (a key with no meaning here): ring the bell, or not. */
  | "ignored";

/** Options of {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** Earlier lines, oldest first; shared between editors (submitted lines are added). */
  history?: string[];
  /** Completions of the text before the cursor (Tab): whole replacements of that text. */
  complete?: (before: string) => string[];
  /** Text typed before the editor existed (keys pressed while the model was answering). */
  initial?: string;
}

/** Most lines kept in the history. */
export const HISTORY_LIMIT = 1000;

const WORD = /[\p{L}\p{N}_]/u;

/** One line being edited. */
export class LineEditor {
  #chars: string[];
  #cursor: number;
  #history: string[];
  /** Index into the history while browsing it; `history.length` is the line being typed. */
  #at: number;
  /** The line being typed, kept while browsing the history. */
  #draft: string[] = [];
  #kill = "";
  #complete: ((before: string) => string[]) | undefined;
  /** Reverse search: the query, and the history index of the match (-1: none). */
  #search: { query: string; match: number } | null = null;

  constructor(options: LineEditorOptions = {}) {
    this.#history = options.history ?? [];
    this.#at = this.#history.length;
    this.#chars = [...(options.initial ?? "")];
    this.#cursor = this.#chars.length;
    this.#complete = options.complete;
  }

  /** The line as it stands. */
  get text(): string {
    return this.#chars.join("");
  }

  /** The cursor, in characters (code points) from the start. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The reverse search in progress, or null. */
  get search(): { query: string; found: boolean } | null {
    return this.#search === null
      ? null
      : { query: this.#search.query, found: this.#search.match >= 0 };
  }

  /** Applies one key. */
  handle(key: Key): EditResult {
    if (this.#search !== null) {
      const handled = this.#searchKey(key);
      if (handled !== null) return handled;
    }
    switch (key.name) {
      case "text":
      case "paste":
        this.#insert(key.text ?? "");
        return "edited";
      case "enter":
        this.#remember();
        return "submit";
      case "ctrl-c":
        return "interrupt";
      case "ctrl-d":
        if (this.#chars.length === 0) return "eof";
        return this.#deleteRight();
      case "delete":
        return this.#deleteRight();
      case "backspace":
      case "ctrl-h":
        if (this.#cursor === 0) return "ignored";
        this.#chars.splice(--this.#cursor, 1);
        return "edited";
      case "left":
      case "ctrl-b":
        return this.#moveTo(this.#cursor - 1);
      case "right":
      case "ctrl-f":
        return this.#moveTo(this.#cursor + 1);
      case "home":
      case "ctrl-a":
        return this.#moveTo(0);
      case "end":
      case "ctrl-e":
        return this.#moveTo(this.#chars.length);
      case "alt-b":
      case "ctrl-left":
        return this.#moveTo(this.#wordStart(this.#cursor));
      case "alt-f":
      case "ctrl-right":
        return this.#moveTo(this.#wordEnd(this.#cursor));
      case "ctrl-k":
        return this.#cut(this.#cursor, this.#chars.length);
      case "ctrl-u":
        return this.#cut(0, this.#cursor);
      case "ctrl-w":
      case "alt-backspace":
        return this.#cut(this.#wordStart(this.#cursor), this.#cursor);
      case "alt-d":
        return this.#cut(this.#cursor, this.#wordEnd(this.#cursor));
      case "ctrl-y":
        if (this.#kill === "") return "ignored";
        this.#insert(this.#kill);
        return "edited";
      case "ctrl-t":
        return this.#transpose();
      case "up":
      case "ctrl-p":
        return this.#browse(this.#at - 1);
      case "down":
      case "ctrl-n":
        return this.#browse(this.#at + 1);
      case "ctrl-r":
        if (this.#at === this.#history.length) this.#draft = [...this.#chars];
        this.#search = { query: "", match: -1 };
        return "edited";
      case "ctrl-l":
        return "clear-screen";
      case "tab":
        return this.#tab();
      default:
        return "ignored";
    }
  }

  #insert(text: string): void {
    const chars = [...text.replace(/\r\n?/g, "\n").replace(/\t/g, "  ")].filter((c) =>
      c === "\n" || c >= " "
    );
    this.#chars.splice(this.#cursor, 0, ...chars);
    this.#cursor += chars.length;
  }

  #deleteRight(): EditResult {
    if (this.#cursor >= this.#chars.length) return "ignored";
    this.#chars.splice(this.#cursor, 1);
    return "edited";
  }

  #moveTo(at: number): EditResult {
    const to = Math.max(0, Math.min(at, this.#chars.length));
    if (to === this.#cursor) return "ignored";
    this.#cursor = to;
    return "edited";
  }

  #cut(from: number, to: number): EditResult {
    if (to <= from) return "ignored";
    this.#kill = this.#chars.slice(from, to).join("");
    this.#chars.splice(from, to - from);
    this.#cursor = from;
    return "edited";
  }

  #transpose(): EditResult {
    if (this.#chars.length < 2 || this.#cursor === 0) return "ignored";
    const at = this.#cursor === this.#chars.length ? this.#cursor - 1 : this.#cursor;
    const a = this.#chars[at - 1]!;
    this.#chars[at - 1] = this.#chars[at]!;
    this.#chars[at] = a;
    this.#cursor = at + 1;
    return "edited";
  }

  #isWord(i: number): boolean {
    return WORD.test(this.#chars[i] ?? "");
  }

  #wordStart(from: number): number {
    let i = from;
    while (i > 0 && !this.#isWord(i - 1)) i--;
    while (i > 0 && this.#isWord(i - 1)) i--;
    return i;
  }

  #wordEnd(from: number): number {
    let i = from;
    while (i < this.#chars.length && !this.#isWord(i)) i++;
    while (i < this.#chars.length && this.#isWord(i)) i++;
    return i;
  }

  #set(text: string): void {
    this.#chars = [...text];
    this.#cursor = this.#chars.length;
  }

  #browse(to: number): EditResult {
    if (to < 0 || to > this.#history.length || to === this.#at) return "ignored";
    if (this.#at === this.#history.length) this.#draft = [...this.#chars];
    this.#at = to;
    this.#set(to === this.#history.length ? this.#draft.join("") : this.#history[to]!);
    return "edited";
  }

  #remember(): void {
    const line = this.text;
    this.#at = this.#history.length;
    if (line.trim() === "" || this.#history.at(-1) === line) return;
    this.#history.push(line);
    if (this.#history.length > HISTORY_LIMIT) this.#history.splice(0, 1);
    this.#at = this.#history.length;
  }

  /** Finds `query` in the history at or before `from`; returns the index or -1. */
  #find(query: string, from: number): number {
    for (let i = Math.min(from, this.#history.length - 1); i >= 0; i--) {
      if (this.#history[i]!.includes(query)) return i;
    }
    return -1;
  }

  /** A key during reverse search: null when it ends the search and is handled as usual. */
  #searchKey(key: Key): EditResult | null {
    const search = this.#search!;
    const update = (query: string, from: number) => {
      search.query = query;
      search.match = query === "" ? -1 : this.#find(query, from);
      if (search.match >= 0) this.#set(this.#history[search.match]!);
      return "edited" as const;
    };
    switch (key.name) {
      case "text":
        return update(search.query + (key.text ?? ""), search.match >= 0 ? search.match : Infinity);
      case "backspace":
      case "ctrl-h":
        return update([...search.query].slice(0, -1).join(""), Infinity);
      case "ctrl-r":
        if (search.match <= 0) return "ignored";
        {
          const next = this.#find(search.query, search.match - 1);
          if (next < 0) return "ignored";
          search.match = next;
          this.#set(this.#history[next]!);
        }
        return "edited";
      case "ctrl-g":
      case "escape":
        this.#search = null;
        this.#set(
          this.#at === this.#history.length ? this.#draft.join("") : this.#history[this.#at]!,
        );
        return "edited";
      case "ctrl-c":
        this.#search = null;
        return "interrupt";
      default:
        // Any other key accepts the match and acts on it (Enter submits it).
        this.#search = null;
        return null;
    }
  }

  #tab(): EditResult {
    if (this.#complete === undefined) return "ignored";
    const before = this.#chars.slice(0, this.#cursor).join("");
    const options = this.#complete(before);
    if (options.length === 0) return "ignored";
    let common = options[0]!;
    for (const option of options.slice(1)) {
      let n = 0;
      while (n < common.length && n < option.length && common[n] === option[n]) n++;
      common = common.slice(0, n);
    }
    if (common.length <= before.length) return "ignored";
    const after = this.#chars.slice(this.#cursor);
    this.#chars = [...common, ...after];
    this.#cursor = [...common].length;
    return "edited";
  }
}

/** Columns a character takes in a terminal: 0, 1 or 2 (wide East Asian and emoji). */
export function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code === 0 || (code >= 0x300 && code <= 0x36f) || code === 0x200d) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `text` takes, escape sequences (`ESC [ ... m`) left out. */
export function textWidth(text: string): number {
  let width = 0;
  // deno-lint-ignore no-control-regex
  for (const char of text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")) width += charWidth(char);
  return width;
}

/** How {@linkcode renderLine} draws a line. */
export interface RenderedLine {
  /** What to write after moving to the start of the line (prompt included, line cleared). */
  text: string;
  /** The cursor's column after the prompt and the visible text, from the line's start. */
  column: number;
}

/** Shown for a newline inside the line (pasted text). */
export const NEWLINE_MARK = "\u21b5";

/**
 * Draws `text` after `prompt` on one terminal line of `columns`, scrolled so that the cursor
 * shows (`<` and `>` mark hidden text), like linenoise's single-line mode. Newlines show as
 * {@linkcode NEWLINE_MARK}.
 */
export function renderLine(
  prompt: string,
  text: string,
  cursor: number,
  columns: number,
): RenderedLine {
  const chars = [...text].map((c) => (c === "\n" ? NEWLINE_MARK : c));
  const room = Math.max(columns - textWidth(prompt) - 1, 8);
  const widths = chars.map(charWidth);
  const widthOf = (from: number, to: number) =>
    widths.slice(from, to).reduce((sum, w) => sum + w, 0);
  let start = 0;
  // Scroll right until the cursor fits, keeping one column for a `>` marker.
  while (widthOf(start, cursor) > room - (start > 0 ? 2 : 1)) start++;
  let end = start;
  let used = start > 0 ? 1 : 0;
  while (end < chars.length && used + widths[end]! <= room - (end + 1 < chars.length ? 1 : 0)) {
    used += widths[end]!;
    end++;
  }
  const visible = (start > 0 ? "<" : "") + chars.slice(start, end).join("") +
    (end < chars.length ? ">" : "");
  return {
    text: `${prompt}${visible}`,
    column: textWidth(prompt) + (start > 0 ? 1 : 0) + widthOf(start, cursor),
  };
}
