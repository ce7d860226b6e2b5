import assert from "node:assert/strict";
import { StopMatcher } from "./stop_matcher.ts";

function run(stops: string[], chunks: string[]): { out: string; stop: string | null } {
  const m = new StopMatcher(stops);
  let out = "";
  for (const chunk of chunks) {
    const step = m.push(chunk);
    out += step.text;
    if (step.stop !== null) return { out, stop: step.stop };
  }
  return { out: out + m.flush(), stop: null };
}

Deno.test("StopMatcher passes text through without stops", () => {
  assert.deepEqual(run([], ["a", "b"]), { out: "ab", stop: null });
});

Deno.test("StopMatcher cuts at a stop string split across chunks", () => {
  assert.deepEqual(run(["\n\n"], ["Hello\n", "\nWorld"]), { out: "Hello", stop: "\n\n" });
});

Deno.test("StopMatcher holds back a partial match and releases it when it fails", () => {
  const m = new StopMatcher(["User:"]);
  assert.deepEqual(m.push("Hi Us"), { text: "Hi ", stop: null });
  assert.deepEqual(m.push("a"), { text: "Usa", stop: null });
  assert.equal(m.flush(), "");
});

Deno.test("StopMatcher picks the earliest of several stops", () => {
  assert.deepEqual(run(["b", "a"], ["xxab"]), { out: "xx", stop: "a" });
});

Deno.test("StopMatcher flushes a held partial match at the end", () => {
  assert.deepEqual(run(["STOP"], ["abc ST"]), { out: "abc ST", stop: null });
});
