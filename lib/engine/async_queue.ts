/**
 * A single-consumer async queue: the producer pushes, the consumer iterates.
 *
 * @module
 */

/** Pushes values to one async iterator; `end()` finishes it, `fail()` throws into it. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: (() => void) | null = null;
  #ended = false;
  #error: unknown = undefined;
  #failed = false;

  /** Adds a value (ignored after the end). */
  push(value: T): void {
    if (this.#ended) return;
    this.#items.push(value);
    this.#wake();
  }

  /** Ends the stream after the queued values. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Ends the stream with an error thrown after the queued values. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#error = error;
    this.#failed = true;
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.#items.length > 0) {
        yield this.#items.shift()!;
        continue;
      }
      if (this.#ended) {
        if (this.#failed) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }
}
