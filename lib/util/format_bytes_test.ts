import assert from "node:assert/strict";
import { formatBytes } from "./format_bytes.ts";

Deno.test("formatBytes() uses decimal units", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1185376), "1.2 MB");
  assert.equal(formatBytes(4.5e9), "4.5 GB");
});
