import assert from "node:assert/strict";
import { eventLoopTurn } from "./event_loop_turn.ts";

Deno.test("eventLoopTurn() lets a timer that is due run", async () => {
  let fired = false;
  setTimeout(() => (fired = true), 0);
  // Keep the JS thread busy past the timer's due time, as a decode on this thread does.
  const until = performance.now() + 20;
  while (performance.now() < until) {
    // busy
  }
  assert.equal(fired, false);
  for (let i = 0; i < 3 && !fired; i++) await eventLoopTurn();
  assert.equal(fired, true);
});
