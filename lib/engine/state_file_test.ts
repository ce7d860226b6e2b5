import assert from "node:assert/strict";
import { decodeSessionFile, encodeSessionFile, SESSION_MAGIC } from "./state_file.ts";

Deno.test("encodeSessionFile() and decodeSessionFile() round-trip tokens and state", () => {
  const bytes = encodeSessionFile([1, 15043, -1], new Uint8Array([9, 8, 7]));
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), SESSION_MAGIC);
  const file = decodeSessionFile(bytes, 10)!;
  assert.deepEqual([...file.tokens], [1, 15043, -1]);
  assert.deepEqual([...file.state], [9, 8, 7]);
});

Deno.test("decodeSessionFile() refuses other files, other versions and too many tokens", () => {
  const good = encodeSessionFile([1, 2, 3], new Uint8Array(4));
  assert.equal(decodeSessionFile(good, 2), null, "more tokens than the context holds");
  assert.equal(decodeSessionFile(new Uint8Array(0), 10), null);
  assert.equal(decodeSessionFile(good.subarray(0, 16), 10), null, "token list cut short");
  const version = good.slice();
  new DataView(version.buffer).setUint32(4, 9, true);
  assert.equal(decodeSessionFile(version, 10), null);
  assert.equal(decodeSessionFile(new TextEncoder().encode("GGUF and more bytes"), 10), null);
});
