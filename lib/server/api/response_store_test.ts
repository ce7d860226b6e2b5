import assert from "node:assert/strict";
import { ResponseStore, type StoredResponse } from "./response_store.ts";

function stored(id: string, text = "x"): StoredResponse {
  return { response: { id, object: "response" }, history: [{ role: "user", content: text }] };
}

Deno.test("ResponseStore keeps responses by id and forgets deleted ones", () => {
  const store = new ResponseStore();
  assert.equal(store.put("a", stored("a")), true);
  assert.deepEqual(store.get("a"), stored("a"));
  assert.equal(store.get("b"), undefined);
  assert.equal(store.delete("a"), true);
  assert.equal(store.delete("a"), false);
  assert.equal(store.get("a"), undefined);
  assert.equal(store.size, 0);
  assert.equal(store.bytes, 0);
});

Deno.test("ResponseStore evicts the oldest responses past its count limit", () => {
  const store = new ResponseStore({ maxCount: 2 });
  store.put("a", stored("a"));
  store.put("b", stored("b"));
  store.put("c", stored("c"));
  assert.equal(store.size, 2);
  assert.equal(store.get("a"), undefined);
  assert.ok(store.get("b") && store.get("c"));
});

Deno.test("ResponseStore evicts the oldest responses past its byte limit, and refuses one larger than it", () => {
  const one = new TextEncoder().encode(JSON.stringify(stored("a", "x".repeat(100)))).byteLength;
  const store = new ResponseStore({ maxBytes: one * 2 + 10 });
  store.put("a", stored("a", "x".repeat(100)));
  store.put("b", stored("b", "x".repeat(100)));
  assert.equal(store.size, 2);
  store.put("c", stored("c", "x".repeat(100)));
  assert.equal(store.get("a"), undefined);
  assert.equal(store.size, 2);
  assert.ok(store.bytes <= store.maxBytes);
  assert.equal(store.put("huge", stored("huge", "x".repeat(one * 3))), false);
  assert.equal(store.get("huge"), undefined);
  assert.ok(store.get("b") && store.get("c"), "a refused response evicts nothing");
});

Deno.test("ResponseStore replaces a response stored again under the same id", () => {
  const store = new ResponseStore({ maxCount: 2 });
  store.put("a", stored("a", "first"));
  store.put("a", stored("a", "second"));
  assert.equal(store.size, 1);
  assert.equal(store.get("a")!.history[0]!.content, "second");
});
