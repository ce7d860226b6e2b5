import assert from "node:assert/strict";
import { oneLine } from "./one_line.ts";

Deno.test("oneLine() keeps the text and shows its control characters as escapes", () => {
  assert.equal(oneLine('Cannot read "a.png": it is empty'), 'Cannot read "a.png": it is empty');
  assert.equal(oneLine("tab\tstays, é and 名 too"), "tab\tstays, é and 名 too");
  assert.equal(oneLine("its \n\r chunk"), "its \\n\\r chunk");
  // A terminal escape from a crafted file cannot recolour or rewrite the terminal.
  assert.equal(oneLine("llama\u001b[31m.block_count"), "llama\\u001b[31m.block_count");
  assert.equal(oneLine("\u0000\u007f\u009b"), "\\u0000\\u007f\\u009b");
});
