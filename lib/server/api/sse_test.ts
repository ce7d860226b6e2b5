import assert from "node:assert/strict";
import { NamedEvent, sseEvent, sseResponse } from "./sse.ts";

async function* items(values: unknown[], failAt = -1): AsyncGenerator<unknown> {
  for (let i = 0; i < values.length; i++) {
    if (i === failAt) throw new Error("boom");
    yield values[i];
  }
}

Deno.test("sseEvent() formats one data line and a blank line", () => {
  assert.equal(sseEvent({ a: 1 }), 'data: {"a":1}\n\n');
});

Deno.test("sseResponse() streams events, then [DONE] when asked", async () => {
  let closed = 0;
  const response = sseResponse(items([{ a: 1 }, { b: 2 }]), {
    done: true,
    onClose: () => closed++,
  });
  assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(await response.text(), 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n');
  assert.equal(closed, 1);
  assert.equal(await sseResponse(items([1]), { done: false }).text(), "data: 1\n\n");
});

Deno.test("sseResponse() ends with an error event when the source fails", async () => {
  const response = sseResponse(items([1, 2], 1), {
    done: true,
    errorEvent: (e) => ({ error: (e as Error).message }),
  });
  assert.equal(await response.text(), 'data: 1\n\ndata: {"error":"boom"}\n\n');
});

Deno.test("sseResponse() calls onCancel once when the client cancels", async () => {
  let cancelled = 0;
  let closed = 0;
  async function* endless() {
    let i = 0;
    while (true) yield i++;
  }
  const response = sseResponse(endless(), {
    done: true,
    onCancel: () => cancelled++,
    onClose: () => closed++,
  });
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(cancelled, 1);
  assert.equal(closed, 1);
});

Deno.test("sseEvent() writes a NamedEvent's name on an event line before its data", () => {
  assert.equal(
    sseEvent(new NamedEvent("message_stop", { type: "message_stop" })),
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  );
});
