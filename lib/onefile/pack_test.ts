import assert from "node:assert/strict";
import { reservedEntryReason, runtimeHash, weightsEntryName } from "./pack.ts";

Deno.test("weightsEntryName() keeps the base name and ends it in .gguf", () => {
  assert.equal(weightsEntryName("../shared/models/stories260K.gguf"), "stories260K.gguf");
  assert.equal(weightsEntryName("/x/model.GGUF"), "model.GGUF");
  assert.equal(weightsEntryName("weights.bin"), "weights.bin.gguf");
});

Deno.test("reservedEntryReason() protects .args, the manifest and the runtime payload", () => {
  assert.match(reservedEntryReason(".args")!, /pack again with --args/);
  assert.match(reservedEntryReason(".manifest.sha256")!, /manifest/);
  assert.match(reservedEntryReason("runtime/linux-x64/deno")!, /runtime/);
  assert.equal(reservedEntryReason("extra.gguf"), null);
});

Deno.test("runtimeHash() depends on every name and hash, and is 16 hex digits", () => {
  const a = runtimeHash(
    new Map([["runtime/x/deno", "a".repeat(64)], ["runtime/x/app.js", "b".repeat(64)]]),
  );
  const b = runtimeHash(
    new Map([["runtime/x/app.js", "b".repeat(64)], ["runtime/x/deno", "a".repeat(64)]]),
  );
  const c = runtimeHash(
    new Map([["runtime/x/deno", "a".repeat(64)], ["runtime/x/app.js", "c".repeat(64)]]),
  );
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.equal(a, b);
  assert.notEqual(a, c);
});
