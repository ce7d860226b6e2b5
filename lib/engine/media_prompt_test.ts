import assert from "node:assert/strict";
import { checkPromptEnd } from "./generate.ts";
import type { MediaChunk } from "./projector.ts";
import { placeholderId, splitAtMarkers } from "./media_prompt.ts";

const M = "<__media__>";

Deno.test("splitAtMarkers() puts each image at its marker, in order", () => {
  assert.deepEqual(splitAtMarkers(`a${M}b${M}c`, M, [1, 2]), ["a", 1, "b", 2, "c"]);
  assert.deepEqual(splitAtMarkers(`${M}${M}`, M, [1, 2]), [1, 2]);
  assert.deepEqual(splitAtMarkers("text", M, []), ["text"]);
});

Deno.test("splitAtMarkers() puts the images before a prompt without markers, as llama-mtmd-cli", () => {
  assert.deepEqual(splitAtMarkers("Describe it.", M, [1]), [1, "Describe it."]);
  assert.deepEqual(splitAtMarkers("Compare.", M, [1, 2]), [1, 2, "Compare."]);
});

Deno.test("splitAtMarkers() refuses markers and images that differ in number", () => {
  assert.throws(
    () => splitAtMarkers(`a${M}b${M}`, M, [1]),
    /^RangeError: the prompt has 2 media markers \(<__media__>\) and there is 1 image$/,
  );
  assert.throws(
    () => splitAtMarkers(`a${M}`, M, [1, 2, 3]),
    /the prompt has 1 media marker \(<__media__>\) and there are 3 images/,
  );
});

Deno.test("placeholderId() gives one negative id per content, never a token id", () => {
  const a = placeholderId("sha-a#0");
  const b = placeholderId("sha-b#0");
  assert.ok(a < 0 && b < 0);
  assert.notEqual(a, b);
  assert.equal(placeholderId("sha-a#0"), a);
  assert.notEqual(placeholderId("sha-a#1"), a);
});

Deno.test("checkPromptEnd() refuses a prompt that ends with an image: there are no logits to sample", () => {
  const chunk: MediaChunk = {
    tokens: 3,
    positions: 3,
    key: "k#0",
    evaluate: () => Promise.resolve(0),
  };
  const tokens = [1, -5, -5, -5];
  assert.throws(
    () => checkPromptEnd(tokens, [{ start: 1, chunk }]),
    /^RangeError: Cannot generate after an image that ends the prompt: put text after the media marker$/,
  );
  assert.doesNotThrow(() => checkPromptEnd([...tokens, 9], [{ start: 1, chunk }]));
  assert.doesNotThrow(() => checkPromptEnd([1, 2], []));
});
