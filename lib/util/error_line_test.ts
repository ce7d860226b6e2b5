import assert from "node:assert/strict";
import { errorLine } from "./error_line.ts";

Deno.test("errorLine() keeps a message's text and shows its control characters as escapes", () => {
  assert.equal(errorLine('Cannot read "a.png": it is empty'), 'Cannot read "a.png": it is empty');
  assert.equal(errorLine("tab\tstays, é and 名 too"), "tab\tstays, é and 名 too");
  assert.equal(errorLine("its \n\r chunk"), "its \\n\\r chunk");
  // A terminal escape from a crafted file cannot recolour or rewrite the terminal.
  assert.equal(errorLine("llama\u001b[31m.block_count"), "llama\\u001b[31m.block_count");
  assert.equal(errorLine("\u0000\u007f\u009b"), "\\u0000\\u007f\\u009b");
});
