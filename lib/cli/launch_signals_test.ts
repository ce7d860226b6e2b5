import assert from "node:assert/strict";
import { forwardSignal } from "./launch_signals.ts";

Deno.test("forwardSignal() passes on only what the terminal did not already deliver", () => {
  assert.equal(forwardSignal("SIGINT", true), false);
  assert.equal(forwardSignal("SIGHUP", true), false);
  assert.equal(forwardSignal("SIGTERM", true), true);
  assert.equal(forwardSignal("SIGINT", false), true);
  assert.equal(forwardSignal("SIGHUP", false), true);
  assert.equal(forwardSignal("SIGINT", null), true);
});
