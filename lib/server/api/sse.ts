/**
 * Server-sent events: `data: JSON` per event (`event: NAME` first for a {@linkcode NamedEvent},
 * as the Anthropic and Responses APIs send them), an optional `data: [DONE]` at the end (OpenAI's
 * chat and completion endpoints), and an error event when the source fails mid-stream.
 * Cancelling the response body (the client went away) calls `onCancel` at once, so generation
 * can stop before its next token.
 *
 * @module
 */

/** An event sent with its name (`event: message_start`). */
export class NamedEvent {
  constructor(readonly event: string, readonly data: unknown) {}
}

/** Options of {@linkcode sseResponse}. */
export interface SseOptions {
  /** End with `data: [DONE]` (OpenAI endpoints; llama.cpp's `/completion` does not). */
  done: boolean;
  /** Called once when the client cancels the stream. */
  onCancel?: () => void;
  /** Called once when the stream ends for any reason (finished, failed, cancelled). */
  onClose?: () => void;
  /** The event to send when `events` throws, or `null` to end silently. */
  errorEvent?: (error: unknown) => unknown;
}

/** Formats one event. */
export function sseEvent(data: unknown): string {
  if (data instanceof NamedEvent) {
    return `event: ${data.event}\ndata: ${JSON.stringify(data.data)}\n\n`;
  }
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** Streams `events` as `text/event-stream`. */
export function sseResponse(events: AsyncIterable<unknown>, options: SseOptions): Response {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    options.onClose?.();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const step = await iterator.next();
        if (closed) return;
        if (!step.done) {
          controller.enqueue(encoder.encode(sseEvent(step.value)));
          return;
        }
        if (options.done) controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      } catch (error) {
        if (closed) return;
        const event = options.errorEvent?.(error) ?? null;
        if (event !== null) controller.enqueue(encoder.encode(sseEvent(event)));
      }
      close();
      controller.close();
    },
    cancel() {
      const first = !closed;
      close();
      if (first) options.onCancel?.();
      // Not awaited: a pending next() settles once generation sees the abort.
      iterator.return?.()?.catch(() => {});
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    },
  });
}
