/**
 * The Responses API's stored responses: each with the conversation that led to it, so that
 * `previous_response_id` can continue it. Bounded in count and in bytes (the JSON size of what
 * is kept); the oldest are evicted first. In memory only: a restart forgets them all.
 *
 * @module
 */
import type { ChatMessage } from "../../engine/chat_template.ts";

/** One stored response. */
export interface StoredResponse {
  /** The response object, as `GET /v1/responses/{id}` returns it. */
  response: Record<string, unknown>;
  /** The conversation up to and including this response's output (no instructions). */
  history: ChatMessage[];
}

/** Limits of a {@linkcode ResponseStore}. */
export interface ResponseStoreLimits {
  /** Responses kept at most (default 1000). */
  maxCount?: number;
  /** Bytes kept at most, counted as JSON (default 64 MiB). */
  maxBytes?: number;
}

/** The default limits. */
export const RESPONSE_STORE_DEFAULTS = { maxCount: 1000, maxBytes: 64 * 1024 * 1024 } as const;

/** Stored responses by id, oldest first. */
export class ResponseStore {
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly #entries = new Map<string, { value: StoredResponse; bytes: number }>();
  #bytes = 0;

  constructor(limits: ResponseStoreLimits = {}) {
    this.maxCount = limits.maxCount ?? RESPONSE_STORE_DEFAULTS.maxCount;
    this.maxBytes = limits.maxBytes ?? RESPONSE_STORE_DEFAULTS.maxBytes;
  }

  /** Responses stored now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes stored now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores `value` under `id`, evicting the oldest responses until it fits. Returns false (and
   * stores nothing) when it alone is larger than the byte limit.
   */
  put(id: string, value: StoredResponse): boolean {
    const bytes = new TextEncoder().encode(JSON.stringify(value)).byteLength;
    this.delete(id);
    if (bytes > this.maxBytes || this.maxCount <= 0) return false;
    while (this.#entries.size >= this.maxCount || this.#bytes + bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next().value!;
      this.delete(oldest);
    }
    this.#entries.set(id, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  /** The response stored under `id`, or `undefined`. */
  get(id: string): StoredResponse | undefined {
    return this.#entries.get(id)?.value;
  }

  /** Forgets `id`; true when it was stored. */
  delete(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
    return true;
  }
}
