import assert from "node:assert/strict";
import {
  alignmentField,
  alignmentOf,
  crc32,
  crc32Combine,
  crc32ZeroExtend,
  encodeCentralHeader,
  encodeDirectoryEnd,
  encodeExtra,
  EOCD_SIGNATURE,
  EXTRA_ALIGNMENT,
  EXTRA_ZIP64,
  formatManifest,
  MAX_32,
  parseExtra,
  parseManifest,
  unsafeNameReason,
  viewOf,
  ZIP64_EOCD_SIGNATURE,
  ZIP64_LOCATOR_SIGNATURE,
} from "./zip_format.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Bit-by-bit CRC-32, the reference the table-driven one must agree with. */
function slowCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

// The first tests run before the module builds its CRC table: inputs of at most 64 bytes are
// then computed bit by bit; the later ones (longer inputs first) check the table.
Deno.test("crc32() continues a running CRC across short pieces", () => {
  const data = pseudoRandom(60, 5);
  let crc = 0;
  for (let at = 0; at < data.length; at += 7) crc = crc32(data.subarray(at, at + 7), crc);
  assert.equal(crc, slowCrc32(data));
});

Deno.test("crc32() matches the standard check values", () => {
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(text("123456789")), 0xcbf43926);
  assert.equal(crc32(text("The quick brown fox jumps over the lazy dog")), 0x414fa339);
});

Deno.test("crc32() agrees with a bitwise CRC at every length and alignment", () => {
  // Bit by bit up to the first input over 64 bytes, with the table after it.
  const data = pseudoRandom(300);
  for (let start = 0; start < 8; start++) {
    for (const length of [0, 1, 3, 15, 16, 17, 31, 33, 64, 100, 255, 292]) {
      const part = data.subarray(start, start + length);
      assert.equal(crc32(part), slowCrc32(part), `start ${start} length ${length}`);
    }
  }
});

Deno.test("crc32() continues a running CRC across chunks", () => {
  const data = pseudoRandom(100_000, 7);
  let crc = 0;
  for (let at = 0; at < data.length; at += 4099) crc = crc32(data.subarray(at, at + 4099), crc);
  assert.equal(crc, crc32(data));
  assert.equal(crc, slowCrc32(data));
});

Deno.test("crc32ZeroExtend() equals feeding the zeros", () => {
  const head = pseudoRandom(37, 3);
  for (const zeros of [0, 1, 2, 7, 8, 100, 4096, 65_537, (1 << 20) + 3]) {
    const whole = new Uint8Array(head.length + zeros);
    whole.set(head);
    assert.equal(crc32ZeroExtend(crc32(head), zeros), crc32(whole), `${zeros} zeros`);
  }
  assert.equal(crc32ZeroExtend(0, 1000), crc32(new Uint8Array(1000)));
});

Deno.test("crc32ZeroExtend() composes past 4 GiB", () => {
  const start = crc32(text("weights"));
  const a = 3 * 2 ** 30 + 5;
  const b = 2 ** 31 + 11;
  assert.equal(crc32ZeroExtend(crc32ZeroExtend(start, a), b), crc32ZeroExtend(start, a + b));
  assert.throws(() => crc32ZeroExtend(0, -1), RangeError);
  assert.throws(() => crc32ZeroExtend(0, 1.5), RangeError);
});

Deno.test("crc32Combine() gives the CRC of a concatenation", () => {
  const a = pseudoRandom(1234, 5);
  const b = pseudoRandom(777, 9);
  const ab = new Uint8Array(a.length + b.length);
  ab.set(a);
  ab.set(b, a.length);
  assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(ab));
  assert.equal(crc32Combine(crc32(a), 0, 0), crc32(a));
});

Deno.test("parseExtra() and encodeExtra() round trip, and reject overruns", () => {
  const fields = [
    { id: EXTRA_ZIP64, data: new Uint8Array(16).fill(1) },
    { id: 0x7875, data: new Uint8Array([1, 4, 0, 0, 0, 0]) },
    { id: 0x1234, data: new Uint8Array(0) },
  ];
  const block = encodeExtra(fields);
  assert.equal(block.length, 4 + 16 + 4 + 6 + 4);
  assert.deepEqual(parseExtra(block), fields);
  assert.equal(parseExtra(block.subarray(0, block.length - 5)), null);
  // Up to three stray trailing bytes are tolerated (zero padding of some aligners).
  assert.deepEqual(parseExtra(new Uint8Array([0, 0, 0])), []);
});

Deno.test("alignmentField() pads to an exact size and records the alignment", () => {
  const field = alignmentField(4096, 10);
  assert.equal(field.id, EXTRA_ALIGNMENT);
  assert.equal(encodeExtra([field]).length, 10);
  assert.equal(viewOf(field.data).getUint16(0, true), 4096);
  assert.equal(viewOf(alignmentField(65536, 6).data).getUint16(0, true), 0);
  assert.throws(() => alignmentField(4096, 5), RangeError);
});

Deno.test("encodeCentralHeader() adds a ZIP64 field only for overflowing values", () => {
  const header = {
    versionMadeBy: 0x032d,
    versionNeeded: 10,
    flags: 0,
    method: 0,
    dosTime: 0,
    dosDate: 0x21,
    crc32: 0xdeadbeef,
    compressedSize: 5 * 2 ** 30,
    size: 5 * 2 ** 30,
    internalAttributes: 0,
    externalAttributes: 0,
    localHeaderOffset: 1000,
    name: text("w.gguf"),
    extra: new Uint8Array(0),
    comment: new Uint8Array(0),
  };
  const bytes = encodeCentralHeader(header);
  const view = viewOf(bytes);
  assert.equal(view.getUint16(6, true), 45);
  assert.equal(view.getUint32(20, true), MAX_32);
  assert.equal(view.getUint32(24, true), MAX_32);
  assert.equal(view.getUint32(42, true), 1000);
  const fields = parseExtra(bytes.subarray(46 + 6, 46 + 6 + view.getUint16(30, true)))!;
  assert.equal(fields.length, 1);
  assert.equal(fields[0]!.id, EXTRA_ZIP64);
  assert.equal(fields[0]!.data.length, 16);

  const small = viewOf(encodeCentralHeader({ ...header, compressedSize: 5, size: 5 }));
  assert.equal(small.getUint16(30, true), 0);
  assert.equal(small.getUint16(6, true), 10);
  const forced = viewOf(encodeCentralHeader({ ...header, compressedSize: 5, size: 5 }, true));
  assert.equal(forced.getUint16(30, true), 4 + 24);
  assert.equal(forced.getUint32(42, true), MAX_32);
});

Deno.test("encodeDirectoryEnd() writes ZIP64 records at 65535 entries", () => {
  const plain = encodeDirectoryEnd({ count: 65534, size: 10, offset: 20, comment: text("hi") }, 30);
  assert.equal(plain.length, 22 + 2);
  assert.equal(viewOf(plain).getUint32(0, true), EOCD_SIGNATURE);
  assert.equal(viewOf(plain).getUint16(10, true), 65534);

  const big = encodeDirectoryEnd(
    { count: 65535, size: 10, offset: 20, comment: new Uint8Array(0) },
    30,
  );
  const view = viewOf(big);
  assert.equal(big.length, 56 + 20 + 22);
  assert.equal(view.getUint32(0, true), ZIP64_EOCD_SIGNATURE);
  assert.equal(Number(view.getBigUint64(32, true)), 65535);
  assert.equal(view.getUint32(56, true), ZIP64_LOCATOR_SIGNATURE);
  assert.equal(Number(view.getBigUint64(56 + 8, true)), 30);
  assert.equal(view.getUint16(76 + 10, true), 0xffff);
  assert.equal(view.getUint32(76 + 12, true), 10, "a size that fits is written as is");
});

Deno.test("unsafeNameReason() rejects traversal, absolute and odd names", () => {
  for (const name of ["model.gguf", "a/b/c.so", ".args", "dir/", "..a", "a..b", "ünï.txt"]) {
    assert.equal(unsafeNameReason(name), null, name);
  }
  for (
    const name of [
      "",
      "../x",
      "a/../../x",
      "a/..",
      "..",
      "/etc/passwd",
      "C:/x",
      "c:x",
      "a\\b",
      "a//b",
      "./a",
      "a\0b",
    ]
  ) {
    assert.notEqual(unsafeNameReason(name), null, JSON.stringify(name));
  }
});

Deno.test("alignmentOf() gives the largest power of two dividing an offset", () => {
  assert.equal(alignmentOf(65536), 65536);
  assert.equal(alignmentOf(3 * 65536), 65536);
  assert.equal(alignmentOf(4096 + 2048), 2048);
  assert.equal(alignmentOf(77), 1);
  assert.equal(alignmentOf(2 ** 33), 2 ** 30);
});

Deno.test("formatManifest() sorts lines and parseManifest() reads them back", () => {
  const a = "a".repeat(64);
  const b = "B".repeat(64);
  const manifest = formatManifest(new Map([["z.gguf", a], [".args", b.toLowerCase()]]));
  assert.equal(manifest, `${"b".repeat(64)}  .args\n${a}  z.gguf\n`);
  assert.deepEqual(parseManifest(manifest), new Map([[".args", "b".repeat(64)], ["z.gguf", a]]));
  assert.deepEqual(parseManifest(`${b}  x y\n`), new Map([["x y", "b".repeat(64)]]));
  assert.throws(() => parseManifest("abc  x\n"), SyntaxError);
  assert.throws(() => parseManifest(`${a} x\n`), /line 1/);
});
