import assert from "node:assert/strict";
import { type AnswerTimings, ChatSession } from "./chat_session.ts";

const timings = (n: number): AnswerTimings => ({
  promptTokens: 10 * n,
  cachedTokens: n,
  completionTokens: 5 * n,
  promptMs: n,
  generateMs: 2 * n,
  finishReason: "eog",
});

Deno.test("ChatSession keeps the system prompt through clear and undo", () => {
  const s = new ChatSession("Be brief.");
  assert.deepEqual(s.messages, [{ role: "system", content: "Be brief." }]);
  assert.equal(s.undo(), false);
  s.add("hi", "hello");
  s.add("and?", "bye");
  assert.equal(s.exchanges, 2);
  assert.deepEqual(s.withMessage("x").at(-1), { role: "user", content: "x" });
  assert.equal(s.undo(), true);
  assert.deepEqual(s.messages.map((m) => m.content), ["Be brief.", "hi", "hello"]);
  s.clear();
  assert.deepEqual(s.messages.map((m) => m.content), ["Be brief."]);
  assert.equal(new ChatSession().messages.length, 0);
});

Deno.test("ChatSession push and pop save and restore conversations", () => {
  const s = new ChatSession();
  assert.equal(s.pop(), false);
  s.add("one", "1");
  assert.equal(s.push(), 1);
  s.add("two", "2");
  assert.equal(s.push(), 2);
  s.clear();
  assert.equal(s.pop(), true);
  assert.deepEqual(s.messages.map((m) => m.content), ["one", "1", "two", "2"]);
  assert.equal(s.pop(), true);
  assert.deepEqual(s.messages.map((m) => m.content), ["one", "1"]);
  assert.equal(s.depth, 0);
});

Deno.test("ChatSession sums the timings of the answers", () => {
  const s = new ChatSession();
  assert.equal(s.last, null);
  s.add("a", "b", timings(1));
  s.add("c", "d", timings(2));
  s.add("e", "f");
  assert.deepEqual(s.last, timings(2));
  assert.deepEqual(s.totals, {
    answers: 2,
    promptTokens: 30,
    cachedTokens: 3,
    completionTokens: 15,
    promptMs: 3,
    generateMs: 6,
  });
});
