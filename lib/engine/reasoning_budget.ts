/**
 * The reasoning budget (upstream `common/reasoning-budget.cpp`): watches the generated tokens
 * for a thinking block (its start tag, one of its end tags); inside one, counts tokens, and
 * once the budget is spent (and the last character is whole) forces the end sequence (an
 * optional message, then the first end tag), token by token. A lazy tool-call grammar is kept
 * off while a block is open, so a trigger inside the thinking does not start a call.
 *
 * @module
 */

/** Where the budget stands (upstream common_reasoning_budget_state). */
export type ReasoningBudgetState = "idle" | "counting" | "waiting-utf8" | "forcing" | "done";

/** What {@linkcode ReasoningBudget} watches for and forces, as token ids. */
export interface ReasoningBudgetOptions {
  /** Each start tag's tokens. */
  starts: readonly (readonly number[])[];
  /** Each end tag's tokens; the first one is forced. */
  ends: readonly (readonly number[])[];
  /** The tokens forced when the budget is spent (a message, then the first end tag). */
  forced: readonly number[];
  /** Tokens allowed inside a block; -1: unlimited. */
  budget: number;
  /** Where it starts (default idle); counting with no budget starts forcing. */
  initial?: ReasoningBudgetState;
}

/** Matches token sequences as tokens arrive (an Aho-Corasick automaton over token ids). */
class TokenMatcher {
  readonly seqs: number[][];
  readonly #goto: Map<number, number>[] = [new Map()];
  readonly #pattern: number[] = [-1];
  readonly #fail: number[] = [0];
  #state = 0;

  constructor(seqs: readonly (readonly number[])[]) {
    this.seqs = [];
    for (const seq of seqs) {
      if (
        seq.length > 0 &&
        !this.seqs.some((s) => s.length === seq.length && s.every((t, i) => t === seq[i]))
      ) {
        this.seqs.push([...seq]);
      }
    }
    this.seqs.forEach((seq, index) => {
      let state = 0;
      for (const token of seq) {
        let next = this.#goto[state]!.get(token);
        if (next === undefined) {
          next = this.#goto.length;
          this.#goto.push(new Map());
          this.#pattern.push(-1);
          this.#fail.push(0);
          this.#goto[state]!.set(token, next);
        }
        state = next;
      }
      if (this.#pattern[state]! < 0) this.#pattern[state] = index;
    });
    // failure links, breadth first; a state matches the longest pattern on its fail chain
    const queue = [...this.#goto[0]!.values()];
    while (queue.length > 0) {
      const u = queue.shift()!;
      for (const [token, v] of this.#goto[u]!) {
        let f = this.#fail[u]!;
        while (f !== 0 && !this.#goto[f]!.has(token)) f = this.#fail[f]!;
        const to = this.#goto[f]!.get(token);
        this.#fail[v] = to !== undefined && to !== v ? to : 0;
        if (this.#pattern[v]! < 0) this.#pattern[v] = this.#pattern[this.#fail[v]!]!;
        queue.push(v);
      }
    }
  }

  /** Feeds one token; returns the index of the sequence it completes, or -1. */
  advance(token: number): number {
    let state = this.#state;
    while (state !== 0 && !this.#goto[state]!.has(token)) state = this.#fail[state]!;
    state = this.#goto[state]!.get(token) ?? 0;
    const match = this.#pattern[state]!;
    this.#state = match >= 0 ? 0 : state;
    return match;
  }

  reset(): void {
    this.#state = 0;
  }
}

/** Whether `bytes` end on a whole UTF-8 character (upstream common_utf8_is_complete). */
export function utf8Complete(bytes: Uint8Array): boolean {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte
    const need = b < 0x80
      ? 1
      : (b & 0xe0) === 0xc0
      ? 2
      : (b & 0xf0) === 0xe0
      ? 3
      : (b & 0xf8) === 0xf0
      ? 4
      : 1;
    return back >= need;
  }
  return bytes.length === 0;
}

/** One generation's reasoning budget. */
export class ReasoningBudget {
  readonly #start: TokenMatcher;
  readonly #end: TokenMatcher;
  readonly #forced: readonly number[];
  readonly #budget: number;
  #remaining: number;
  #forcePos = 0;
  #endMatch = -1;
  state: ReasoningBudgetState = "idle";

  constructor(options: ReasoningBudgetOptions) {
    this.#start = new TokenMatcher(options.starts);
    this.#end = new TokenMatcher(options.ends);
    this.#forced = options.forced;
    this.#budget = options.budget < 0 ? Number.MAX_SAFE_INTEGER : options.budget;
    this.#remaining = this.#budget;
    this.state = options.initial ?? "idle";
    if (this.state === "counting" && this.#budget <= 0) this.state = "forcing";
  }

  /** Starts forcing the end sequence now, if a block is being counted; whether it did. */
  force(): boolean {
    if (this.state !== "counting") return false;
    this.state = "forcing";
    this.#forcePos = 0;
    this.#end.reset();
    return true;
  }

  /** The token to force next, or -1 when the model samples freely. */
  get forcedToken(): number {
    return this.state === "forcing" && this.#forcePos < this.#forced.length
      ? this.#forced[this.#forcePos]!
      : -1;
  }

  /** The end sequence that closed the last block, once done. */
  get endMatch(): readonly number[] | null {
    return this.#endMatch < 0 ? null : this.#end.seqs[this.#endMatch] ?? null;
  }

  #open(): void {
    this.state = "counting";
    this.#remaining = this.#budget;
    if (this.#remaining <= 0) {
      this.state = "forcing";
      this.#forcePos = 0;
    }
  }

  /** Feeds a token of the generation prompt or the output; `bytes` is its text. */
  accept(token: number, bytes: Uint8Array): void {
    switch (this.state) {
      case "idle":
        if (this.#start.advance(token) >= 0) this.#open();
        break;
      case "counting":
      case "waiting-utf8": {
        const match = this.#end.advance(token);
        if (match >= 0) {
          this.state = "done";
          this.#endMatch = match;
          break;
        }
        const complete = utf8Complete(bytes);
        if (this.state === "waiting-utf8") {
          if (complete) {
            this.state = "forcing";
            this.#forcePos = 0;
            this.#end.reset();
          }
        } else if (--this.#remaining <= 0) {
          this.state = complete ? "forcing" : "waiting-utf8";
          this.#forcePos = 0;
          this.#end.reset();
        }
        break;
      }
      case "forcing": {
        const match = this.#end.advance(token);
        if (++this.#forcePos >= this.#forced.length) {
          this.state = "done";
          this.#endMatch = match;
        }
        break;
      }
      case "done":
        if (this.#start.advance(token) >= 0) {
          this.#end.reset();
          this.#endMatch = -1;
          this.#open();
        }
        break;
    }
  }
}
