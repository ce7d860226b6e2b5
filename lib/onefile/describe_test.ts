import assert from "node:assert/strict";
import {
  formatCount,
  formatEntryTable,
  formatModelSummary,
  formatPlatformSizes,
} from "./describe.ts";
import type { GgufSummary } from "../engine/gguf_reader.ts";
import type { ZipEntry } from "./zip_reader.ts";

Deno.test("formatCount() writes parameter counts like model cards", () => {
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(292800), "293K");
  assert.equal(formatCount(1_100_048_384), "1.1B");
  assert.equal(formatCount(7_241_732_096), "7.24B");
  assert.equal(formatCount(2_000_000), "2M");
});

Deno.test("formatModelSummary() shows what the issue asks for", () => {
  const summary: GgufSummary = {
    architecture: "llama",
    name: "tiny",
    version: 3,
    parameterCount: 292800,
    fileType: undefined,
    fileTypeName: "F32",
    tensorTypes: { F32: 48 },
    contextLength: 2048,
    embeddingLength: 64,
    blockCount: 5,
    vocabSize: 512,
    tokenizerModel: "llama",
    hasChatTemplate: false,
    tensorCount: 48,
    tensorBytes: 1171200,
  };
  const text = formatModelSummary(summary).join("\n");
  for (
    const pattern of [
      /architecture: +llama/,
      /parameters: +293K \(292800\)/,
      /quant type: +F32/,
      /context length: +2048/,
      /chat template: +no/,
      /vocab size: +512 \(llama\)/,
    ]
  ) {
    assert.match(text, pattern);
  }
});

Deno.test("formatEntryTable() lists entries by offset with size, alignment and method", () => {
  const base = { compressedSize: 5, size: 5, flags: 0 } as Partial<ZipEntry>;
  const lines = formatEntryTable([
    { ...base, name: "m.gguf", dataOffset: 131072, alignment: 131072, method: 0 } as ZipEntry,
    {
      ...base,
      name: ".args",
      dataOffset: 4131,
      alignment: 1,
      method: 8,
      compressedSize: 3,
    } as ZipEntry,
  ]);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /offset +size +stored +align +method +name/);
  assert.match(lines[1]!, /4131 +5 +3 +1 +deflate +\.args$/);
  assert.match(lines[2]!, /131072 +5 +5 +65536\+ +store +m\.gguf$/);
});

Deno.test("formatPlatformSizes() gives each platform's runtime files and sizes, then the shared app", () => {
  const entry = (name: string, size: number, stored: number) =>
    ({ name, size, compressedSize: stored, isDirectory: false }) as ZipEntry;
  const lines = formatPlatformSizes(["linux-x64", "linux-arm64"], [
    entry(".args", 10, 10),
    entry("runtime/version.json", 90, 90),
    entry("runtime/app.js", 2_000_000, 500_000),
    entry("runtime/linux-x64/deno", 100_000_000, 40_000_000),
    entry("runtime/linux-x64/lib/libllama.v0.5.0.so", 4_000_000, 1_500_000),
    entry("runtime/linux-arm64/deno", 90_000_000, 38_000_000),
    entry("m.gguf", 1000, 1000),
  ]);
  assert.deepEqual(lines, [
    "  linux-x64:    2 files, 104.0 MB (41.5 MB stored)",
    "  linux-arm64:  1 file, 90.0 MB (38.0 MB stored)",
    "  shared:       1 file, 2.0 MB (500.0 KB stored)",
  ]);
});
