import assert from "node:assert/strict";
import { processEscapes } from "./escapes.ts";

Deno.test("processEscapes() turns \\n \\r \\t into control characters", () => {
  assert.equal(processEscapes("a\\nb\\rc\\td"), "a\nb\rc\td");
});

Deno.test("processEscapes() unescapes quotes and backslashes", () => {
  assert.equal(processEscapes(`\\'\\"\\\\`), `'"\\`);
});

Deno.test("processEscapes() decodes \\xNN bytes, including UTF-8 sequences", () => {
  assert.equal(processEscapes("\\x41\\xc3\\xa9"), "Aé");
});

Deno.test("processEscapes() keeps unknown and incomplete sequences", () => {
  assert.equal(processEscapes("\\q \\xZZ \\x4"), "\\q \\xZZ \\x4");
  assert.equal(processEscapes("end\\"), "end\\");
});
