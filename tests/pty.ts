/**
 * Runs a command on a pseudo-terminal through util-linux `script` (Debian's bsdutils), so a
 * test can type keys (Ctrl-C as the byte 0x03, as a terminal sends it) and read what the
 * terminal shows.
 *
 * @module
 */

/** Quotes `word` for `sh`. */
export function shQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Options of {@linkcode Pty.spawn}. */
export interface PtyOptions {
  cwd?: string;
  /** The whole environment of the command (`TERM` defaults to xterm-256color). */
  env?: Record<string, string>;
  columns?: number;
  rows?: number;
}

/** A command on a pseudo-terminal. */
export class Pty {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #output = "";
  #done: Promise<void>;
  #waiters = new Set<() => void>();

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const decoder = new TextDecoder();
    this.#done = (async () => {
      for await (const chunk of child.stdout) {
        this.#output += decoder.decode(chunk, { stream: true });
        for (const wake of this.#waiters) wake();
      }
      for (const wake of this.#waiters) wake();
    })();
  }

  /** Starts `argv` on a new terminal of `columns` x `rows`. */
  static spawn(argv: readonly string[], options: PtyOptions = {}): Pty {
    const size = `stty cols ${options.columns ?? 100} rows ${options.rows ?? 30} 2>/dev/null`;
    const command = `${size}; exec ${argv.map(shQuote).join(" ")}`;
    const child = new Deno.Command("script", {
      args: ["-q", "-e", "-f", "-c", command, "/dev/null"],
      cwd: options.cwd,
      env: { TERM: "xterm-256color", ...options.env },
      clearEnv: options.env !== undefined,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    return new Pty(child);
  }

  /** Everything the terminal showed so far. */
  get output(): string {
    return this.#output;
  }

  /** Types `text` (a key's bytes: `"\x03"` is Ctrl-C, `"\r"` is Enter). */
  async type(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /**
   * Waits until the output after position `from` matches `pattern`; returns the position just
   * after the match.
   */
  async waitFor(pattern: RegExp | string, from = 0, timeoutMs = 30_000): Promise<number> {
    const find = () => {
      const rest = this.#output.slice(from);
      if (typeof pattern === "string") {
        const at = rest.indexOf(pattern);
        return at < 0 ? -1 : from + at + pattern.length;
      }
      const match = pattern.exec(rest);
      return match === null ? -1 : from + match.index + match[0].length;
    };
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const at = find();
      if (at >= 0) return at;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${String(pattern)}; the terminal shows:\n${
            JSON.stringify(this.#output.slice(from).slice(-2000))
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 200));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }

  /** Closes the terminal's input and waits for the command; returns its exit code. */
  async close(): Promise<number> {
    await this.#writer.close().catch(() => {});
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }

  /** Kills `script` and what it runs (cleanup after a failed test). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
}
