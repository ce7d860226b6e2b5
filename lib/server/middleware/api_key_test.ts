import assert from "node:assert/strict";
import { presentedKey, timingSafeEqual } from "./api_key.ts";

Deno.test("presentedKey() reads Bearer tokens and X-Api-Key", () => {
  assert.equal(presentedKey("Bearer sk-1", undefined), "sk-1");
  assert.equal(presentedKey("bearer   sk-1 ", undefined), "sk-1");
  assert.equal(presentedKey(undefined, "sk-2"), "sk-2");
  assert.equal(presentedKey("Basic abc", "sk-3"), "sk-3");
  assert.equal(presentedKey("Basic abc", undefined), null);
  assert.equal(presentedKey(undefined, undefined), null);
});

Deno.test("timingSafeEqual() compares whole strings", async () => {
  assert.equal(await timingSafeEqual("sk-123", "sk-123"), true);
  assert.equal(await timingSafeEqual("sk-123", "sk-124"), false);
  assert.equal(await timingSafeEqual("sk-123", "sk-1234"), false);
  assert.equal(await timingSafeEqual("", "x"), false);
});
