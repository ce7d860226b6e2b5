import assert from "node:assert/strict";
import { commonPrefix } from "./common_prefix.ts";

Deno.test("commonPrefix() counts the shared leading tokens", () => {
  assert.equal(commonPrefix([1, 2, 3], [1, 2, 4, 5]), 2);
  assert.equal(commonPrefix([1, 2], [1, 2, 3]), 2);
  assert.equal(commonPrefix([], [1]), 0);
  assert.equal(commonPrefix(new Int32Array([7]), [8]), 0);
});
