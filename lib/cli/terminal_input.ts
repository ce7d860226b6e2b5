/**
 * Line input on a terminal: raw mode for the whole session, a {@linkcode LineEditor} per line,
 * drawn in place. Raw mode stays on while the model answers, so Ctrl-C arrives as a key (not
 * as a signal to the whole process group) and stops the answer; other keys typed meanwhile
 * wait for the next prompt. Bracketed paste keeps pasted newlines in the line.
 *
 * @module
 */
import { type EditResult, LineEditor, renderLine } from "./line_editor.ts";
import { type Key, KeyDecoder } from "./terminal_keys.ts";

/** The terminal as the input needs it (stdin/stdout, or a fake in tests). */
export interface TerminalIo {
  /** Reads some bytes into `buffer`; null at the end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes to the terminal. */
  write(text: string): void;
  /** Turns raw mode on or off. */
  setRaw(on: boolean): void;
  /** The terminal's width in columns. */
  columns(): number;
}

/** stdin and stdout, which must be terminals. */
export function stdioTerminal(): TerminalIo {
  const encoder = new TextEncoder();
  return {
    read: (buffer) => Deno.stdin.read(buffer),
    write(text) {
      let bytes = encoder.encode(text);
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    },
    setRaw: (on) => Deno.stdin.setRaw(on),
    columns() {
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
  };
}

/** What one {@linkcode TerminalInput.readLine} got. */
export type LineRead =
  | { kind: "line"; text: string }
  /** Ctrl-D on an empty line, or the terminal went away. */
  | { kind: "eof" }
  /** Ctrl-C; `text` is what the line held. */
  | { kind: "interrupt"; text: string };

/** Options of {@linkcode TerminalInput.readLine}. */
export interface ReadLineOptions {
  /** Completions of the text before the cursor (Tab). */
  complete?: (before: string) => string[];
}

/** Wait for the rest of an escape sequence this long before taking ESC as the Escape key. */
const ESCAPE_WAIT_MS = 40;

/** Line input on a raw terminal; {@linkcode close} restores the terminal. */
export class TerminalInput {
  #io: TerminalIo;
  #decoder = new KeyDecoder();
  #history: string[] = [];
  /** Keys that arrived while no line was being read. */
  #ahead: Key[] = [];
  #line: {
    editor: LineEditor;
    prompt: string;
    resolve: (read: LineRead) => void;
  } | null = null;
  #ended = false;
  #closed = false;
  #started = false;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Called on Ctrl-C while no line is being read (the model is answering). */
  onInterrupt: (() => void) | null = null;

  constructor(io: TerminalIo) {
    this.#io = io;
  }

  /** Raw mode on, bracketed paste on, and keys read from now on. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#io.setRaw(true);
    this.#io.write("\x1b[?2004h");
    void this.#pump();
  }

  /** Restores the terminal (cooked mode, no bracketed paste). Idempotent. */
  close(): void {
    if (this.#closed || !this.#started) return;
    this.#closed = true;
    clearTimeout(this.#escapeTimer);
    try {
      this.#io.write("\x1b[?2004l");
      this.#io.setRaw(false);
    } catch {
      // the terminal is gone
    }
    this.#line?.resolve({ kind: "eof" });
    this.#line = null;
  }

  /** Reads one line after `prompt` (which may hold colour sequences). */
  readLine(prompt: string, options: ReadLineOptions = {}): Promise<LineRead> {
    if (this.#line !== null) throw new Error("Cannot read two lines at once");
    if (this.#ended || this.#closed) return Promise.resolve({ kind: "eof" });
    const editor = new LineEditor({
      history: this.#history,
      ...(options.complete && { complete: options.complete }),
    });
    return new Promise<LineRead>((resolve) => {
      this.#line = { editor, prompt, resolve };
      this.#draw();
      const ahead = this.#ahead.splice(0);
      for (const key of ahead) {
        if (this.#line === null) {
          this.#ahead.push(key);
        } else {
          this.#key(key);
        }
      }
    });
  }

  async #pump(): Promise<void> {
    const buffer = new Uint8Array(4096);
    try {
      while (!this.#closed) {
        const n = await this.#io.read(buffer);
        if (n === null) break;
        clearTimeout(this.#escapeTimer);
        for (const key of this.#decoder.feed(buffer.subarray(0, n))) this.#key(key);
        if (this.#decoder.pending) {
          this.#escapeTimer = setTimeout(() => {
            for (const key of this.#decoder.flush()) this.#key(key);
          }, ESCAPE_WAIT_MS);
        }
      }
    } catch {
      // the terminal went away: like the end of input
    }
    this.#ended = true;
    const line = this.#line;
    this.#line = null;
    line?.resolve({ kind: "eof" });
  }

  #key(key: Key): void {
    const line = this.#line;
    if (line === null) {
      if (key.name === "ctrl-c") this.onInterrupt?.();
      else if (key.name !== "ctrl-d") this.#ahead.push(key);
      return;
    }
    const result: EditResult = line.editor.handle(key);
    switch (result) {
      case "submit":
        this.#draw(false);
        this.#io.write("\r\n");
        this.#finish({ kind: "line", text: line.editor.text });
        return;
      case "eof":
        this.#io.write("\r\n");
        this.#finish({ kind: "eof" });
        return;
      case "interrupt":
        this.#draw(false);
        this.#io.write("^C\r\n");
        this.#finish({ kind: "interrupt", text: line.editor.text });
        return;
      case "clear-screen":
        this.#io.write("\x1b[H\x1b[2J");
        this.#draw();
        return;
      case "edited":
        this.#draw();
        return;
      case "ignored":
        return;
    }
  }

  #finish(read: LineRead): void {
    const line = this.#line!;
    this.#line = null;
    line.resolve(read);
  }

  /** Redraws the line being read (with the search prompt while searching, unless `search` is false). */
  #draw(search = true): void {
    const line = this.#line;
    if (line === null) return;
    const state = search ? line.editor.search : null;
    const prompt = state === null
      ? line.prompt
      : `(${state.found || state.query === "" ? "" : "failed "}reverse-i-search)'${state.query}': `;
    const shown = renderLine(prompt, line.editor.text, line.editor.cursor, this.#io.columns());
    this.#io.write(
      `\r${shown.text}\x1b[K\r${shown.column > 0 ? `\x1b[${shown.column}C` : ""}`,
    );
  }
}
