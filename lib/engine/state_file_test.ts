import assert from "node:assert/strict";
import {
  decodeSequenceFile,
  decodeSessionFile,
  encodeSequenceFile,
  encodeSessionFile,
  SEQUENCE_MAGIC,
  SequenceFileError,
  SESSION_MAGIC,
} from "./state_file.ts";

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

Deno.test("encodeSequenceFile() writes llama.cpp's packed slot file and decodeSequenceFile() reads it back", () => {
  const state = new Uint8Array([9, 8, 7]);
  const bytes = encodeSequenceFile([1, 2, 3], state);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), SEQUENCE_MAGIC);
  assert.equal(view.getUint32(8, true), 7); // -1, version, count, 3 tokens, media count
  assert.equal(view.getInt32(12, true), -1);
  const back = decodeSequenceFile(bytes);
  assert.deepEqual(back.tokens, [1, 2, 3]);
  assert.deepEqual([...back.state], [9, 8, 7]);
});

Deno.test("decodeSequenceFile() reads a plain token list and refuses a file of another kind", () => {
  const plain = new Uint8Array(12 + 8 + 1);
  const view = new DataView(plain.buffer);
  view.setUint32(0, SEQUENCE_MAGIC, true);
  view.setUint32(4, 3, true);
  view.setUint32(8, 2, true);
  view.setInt32(12, 5, true);
  view.setInt32(16, 6, true);
  assert.deepEqual(decodeSequenceFile(plain).tokens, [5, 6]);
  assert.throws(() => decodeSequenceFile(new Uint8Array(5)), SequenceFileError);
  view.setUint32(8, 1000, true);
  assert.throws(() => decodeSequenceFile(plain), /runs past the end/);
});
