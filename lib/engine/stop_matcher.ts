/**
 * Finds stop strings in streamed text, holding back only what could still
 * turn out to be the start of one.
 *
 * @module
 */

/** What a {@linkcode StopMatcher.push} lets through. */
export interface StopStep {
  /** Text safe to emit now. */
  text: string;
  /** The stop string that matched, or `null`. */
  stop: string | null;
}

/** Streams text through, cutting it at the first stop string. */
export class StopMatcher {
  readonly #stops: readonly string[];
  #pending = "";
  #done = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  /** Adds text; returns what can be emitted, and the stop string when one matched. */
  push(text: string): StopStep {
    if (this.#done) return { text: "", stop: null };
    if (this.#stops.length === 0) return { text, stop: null };
    const buffer = this.#pending + text;
    let first = -1;
    let matched: string | null = null;
    for (const stop of this.#stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
        matched = stop;
      }
    }
    if (matched !== null) {
      this.#done = true;
      this.#pending = "";
      return { text: buffer.slice(0, first), stop: matched };
    }
    const hold = this.#heldSuffix(buffer);
    this.#pending = buffer.slice(buffer.length - hold);
    return { text: buffer.slice(0, buffer.length - hold), stop: null };
  }

  /** Returns the held-back text at the end of the stream. */
  flush(): string {
    const rest = this.#done ? "" : this.#pending;
    this.#pending = "";
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of a stop string. */
  #heldSuffix(buffer: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, buffer.length);
      for (let n = max; n > longest; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
