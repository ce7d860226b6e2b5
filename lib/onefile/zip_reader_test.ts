import assert from "node:assert/strict";
import { crc32, viewOf, ZipError } from "./zip_format.ts";
import {
  extractEntry,
  readEntryBytes,
  readEntryChunks,
  readZipDirectory,
  readZipEntries,
  type ZipDirectory,
} from "./zip_reader.ts";
import { ZipWriter } from "./zip_writer.ts";

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zip_reader_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A valid archive: a prefix, a stored entry, a deflated entry and a third small one. */
async function sample(dir: string, names = ["stored.bin", "deflated.txt", "third.txt"]): Promise<{
  path: string;
  bytes: Uint8Array;
  directory: ZipDirectory;
}> {
  const path = `${dir}/sample.zip`;
  const zip = await ZipWriter.create(path, { prefix: text("#!/bin/sh\nexit 0\n") });
  await zip.addBytes(names[0]!, pseudoRandom(5000, 2), { align: 4096 });
  await zip.addBytes(names[1]!, text("hello deflate ".repeat(500)), { method: "deflate" });
  await zip.addBytes(names[2]!, text("three"));
  await zip.finish();
  return { path, bytes: await Deno.readFile(path), directory: await readZipDirectory(path) };
}

/** File offsets of the central directory headers, in order. */
function centralHeaders(bytes: Uint8Array, directory: ZipDirectory): number[] {
  const view = viewOf(bytes);
  const offsets: number[] = [];
  let at = directory.centralDirectoryOffset;
  for (let i = 0; i < directory.entries.length; i++) {
    offsets.push(at);
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) +
      view.getUint16(at + 32, true);
  }
  return offsets;
}

/** Writes a modified copy of `bytes` and returns its path. */
async function corrupt(
  dir: string,
  bytes: Uint8Array,
  edit: (copy: Uint8Array, view: DataView) => void,
) {
  const copy = bytes.slice();
  edit(copy, viewOf(copy));
  const path = `${dir}/corrupt-${crypto.randomUUID()}.zip`;
  await Deno.writeFile(path, copy);
  return path;
}

async function assertZipError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ZipError, `a ZipError, got ${error}`);
    assert.match(error.message, pattern);
    assert.match(error.message, /^Cannot read archive/);
    assert.ok(!error.message.endsWith("."), "no trailing period");
    return true;
  });
}

Deno.test("readZipDirectory() lists entries with absolute offsets read from local headers", async () => {
  await withTempDir(async (dir) => {
    const { path, bytes, directory } = await sample(dir);
    assert.equal(directory.fileSize, bytes.length);
    assert.equal(directory.offsetBase, 0);
    assert.equal(directory.zip64, false);
    const [stored, deflated] = directory.entries;
    assert.equal(stored!.name, "stored.bin");
    assert.equal(stored!.localHeaderOffset, 17, "right after the 17-byte prefix");
    assert.equal(stored!.dataOffset % 4096, 0);
    assert.ok(stored!.alignment >= 4096);
    // The data offset comes from the LOCAL extra length: the central one has no padding.
    assert.equal(stored!.extra.length, 0);
    assert.ok(stored!.dataOffset > stored!.localHeaderOffset + 30 + 10 + 100);
    assert.deepEqual(
      bytes.subarray(stored!.dataOffset, stored!.dataOffset + 5000),
      pseudoRandom(5000, 2),
    );
    assert.equal(deflated!.method, 8);
    assert.equal(deflated!.crc32, crc32(text("hello deflate ".repeat(500))));
    assert.deepEqual(await readZipEntries(path), directory.entries);
  });
});

Deno.test("readZipEntries() accepts an open file and reads only what it needs", async () => {
  await withTempDir(async (dir) => {
    const { path } = await sample(dir);
    using file = await Deno.open(path);
    const entries = await readZipEntries(file);
    assert.equal(entries.length, 3);
    assert.equal(untext(await readEntryBytes(file, entries[2]!)), "three");
    let joined = "";
    const decoder = new TextDecoder();
    for await (const chunk of readEntryChunks(file, entries[1]!)) {
      joined += decoder.decode(chunk, { stream: true });
    }
    assert.equal(joined, "hello deflate ".repeat(500));
  });
});

Deno.test("readZipDirectory() handles an archive comment and a prefix added afterwards", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/c.zip`;
    const zip = await ZipWriter.create(path, { comment: "a comment with PK\x05\x06 inside" });
    await zip.addBytes("a.txt", text("alpha"), { method: "deflate" });
    await zip.finish();
    const zipBytes = await Deno.readFile(path);
    const prefix = pseudoRandom(1000, 4);
    const joined = new Uint8Array(prefix.length + zipBytes.length);
    joined.set(prefix);
    joined.set(zipBytes, prefix.length);
    await Deno.writeFile(`${dir}/joined.zip`, joined);
    const directory = await readZipDirectory(`${dir}/joined.zip`);
    assert.equal(untext(directory.comment), "a comment with PK\x05\x06 inside");
    assert.equal(directory.offsetBase, 1000);
    assert.equal(directory.entries[0]!.localHeaderOffset, 1000);
    assert.equal(untext(await readEntryBytes(`${dir}/joined.zip`, directory.entries[0]!)), "alpha");
  });
});

Deno.test("extractEntry() streams to a file with the entry's mode", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/x.zip`;
    const big = pseudoRandom(9 << 20, 6); // several read chunks
    const zip = await ZipWriter.create(path);
    await zip.addBytes("bin/tool", big, { method: "deflate", mode: 0o755 });
    await zip.addBytes("raw", big);
    await zip.finish();
    const [tool, raw] = await readZipEntries(path);
    await extractEntry(path, tool!, `${dir}/tool`);
    assert.deepEqual(await Deno.readFile(`${dir}/tool`), big);
    assert.equal((await Deno.stat(`${dir}/tool`)).mode! & 0o111, 0o111, "executable");
    await extractEntry(path, raw!, `${dir}/raw`, { mode: 0o600 });
    assert.deepEqual(await Deno.readFile(`${dir}/raw`), big);
    assert.equal((await Deno.stat(`${dir}/raw`)).mode! & 0o777, 0o600);
  });
});

Deno.test("readEntryBytes() refuses entries over maxSize", async () => {
  await withTempDir(async (dir) => {
    const { path, directory } = await sample(dir);
    await assert.rejects(readEntryBytes(path, directory.entries[0]!, { maxSize: 100 }), RangeError);
  });
});

Deno.test("readZipDirectory() rejects empty, tiny and non-ZIP files", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
    await assertZipError(
      readZipDirectory(`${dir}/empty`),
      /"[^"]*empty": file is too small to be a ZIP archive \(0 bytes\)/,
    );
    await Deno.writeFile(`${dir}/random`, pseudoRandom(100_000, 9));
    await assertZipError(
      readZipDirectory(`${dir}/random`),
      /end of central directory record not found/,
    );
    await assertZipError(readZipDirectory(`${dir}/missing.zip`), /file not found/);
    using file = await Deno.open(`${dir}/random`);
    await assertZipError(readZipDirectory(file), /^Cannot read archive: end of central directory/);
  });
});

Deno.test("readZipDirectory() rejects truncated archives", async () => {
  await withTempDir(async (dir) => {
    const { bytes, directory } = await sample(dir);
    // Cut the end: the end record is gone.
    await Deno.writeFile(`${dir}/cut-end.zip`, bytes.subarray(0, bytes.length - 5));
    await assertZipError(
      readZipDirectory(`${dir}/cut-end.zip`),
      /end of central directory record not found/,
    );
    // Only the end record survives: the directory it describes is missing.
    await Deno.writeFile(`${dir}/only-end.zip`, bytes.subarray(bytes.length - 22));
    await assertZipError(readZipDirectory(`${dir}/only-end.zip`), /central directory is truncated/);
    // Lose the beginning (prefix and first entries) but keep the directory and end record.
    const cd = directory.centralDirectoryOffset;
    await Deno.writeFile(`${dir}/cut-start.zip`, bytes.subarray(cd - 10));
    await assertZipError(
      readZipDirectory(`${dir}/cut-start.zip`),
      /central directory offset \d+ is beyond/,
    );
    // A directory whose stated size is smaller than its entries.
    const path = await corrupt(
      dir,
      bytes,
      (_, view) => view.setUint32(bytes.length - 22 + 12, 60, true),
    );
    await assertZipError(readZipDirectory(path), /central directory is (truncated|corrupt)/);
  });
});

Deno.test("readZipDirectory() rejects a corrupt central directory signature", async () => {
  await withTempDir(async (dir) => {
    const { bytes, directory } = await sample(dir);
    const headers = centralHeaders(bytes, directory);
    const first = await corrupt(dir, bytes, (copy) => (copy[headers[0]!] = 0x51));
    await assertZipError(
      readZipDirectory(first),
      /central directory is corrupt: bad signature of entry 1/,
    );
    const second = await corrupt(dir, bytes, (copy) => (copy[headers[1]! + 2] = 0));
    await assertZipError(readZipDirectory(second), /bad signature of entry 2/);
  });
});

Deno.test("readZipDirectory() rejects offsets outside the archive", async () => {
  await withTempDir(async (dir) => {
    const { bytes, directory } = await sample(dir);
    const headers = centralHeaders(bytes, directory);
    const eocd = bytes.length - 22;
    const cdBeyond = await corrupt(
      dir,
      bytes,
      (_, view) => view.setUint32(eocd + 16, bytes.length + 1000, true),
    );
    await assertZipError(readZipDirectory(cdBeyond), /central directory offset \d+ is beyond/);
    const localBeyond = await corrupt(
      dir,
      bytes,
      (_, view) => view.setUint32(headers[2]! + 42, 0x7fff0000, true),
    );
    await assertZipError(
      readZipDirectory(localBeyond),
      /entry "third.txt" has a local header offset \(\d+\) beyond the archive data/,
    );
    const sizeBeyond = await corrupt(
      dir,
      bytes,
      (_, view) => view.setUint32(headers[2]! + 20, 1 << 30, true),
    );
    await assertZipError(
      readZipDirectory(sizeBeyond),
      /(runs past the archive data|unlike its size)/,
    );
    const deflatedBeyond = await corrupt(
      dir,
      bytes,
      (_, view) => view.setUint32(headers[1]! + 20, 1 << 30, true),
    );
    await assertZipError(readZipDirectory(deflatedBeyond), /overlap|runs past/);
    const local = directory.entries[1]!.localHeaderOffset;
    const badLocal = await corrupt(dir, bytes, (copy) => (copy[local + 3] = 0x09));
    await assertZipError(
      readZipDirectory(badLocal),
      /local header of entry "deflated.txt" is missing/,
    );
    const overlap = await corrupt(dir, bytes, (_, view) => {
      view.setUint32(headers[2]! + 42, directory.entries[1]!.localHeaderOffset, true);
    });
    await assertZipError(readZipDirectory(overlap), /overlap/);
  });
});

Deno.test("readZipDirectory() rejects unsafe and duplicate names", async () => {
  await withTempDir(async (dir) => {
    // Same-length placeholders are renamed in both the central and the local header.
    const cases: [string, string, RegExp][] = [
      ["xx/evil", "../evil", /entry name "\.\.\/evil" is unsafe: name contains a "\.\." segment/],
      [
        "Xetc/passwd",
        "/etc/passwd",
        /entry name "\/etc\/passwd" is unsafe: name is an absolute path/,
      ],
      ["aXb", "a\\b", /is unsafe: name contains a backslash/],
      ["third.txx", "third.txt", /entry name "third.txt" appears twice/],
    ];
    for (const [placeholder, name, pattern] of cases) {
      const { bytes } = await sample(dir, ["stored.bin", placeholder, "third.txt"]);
      const from = text(placeholder);
      const to = text(name);
      const path = await corrupt(dir, bytes, (copy) => {
        for (let i = 0; i + from.length <= copy.length; i++) {
          if (from.every((b, j) => copy[i + j] === b)) copy.set(to, i);
        }
      });
      await assertZipError(readZipDirectory(path), pattern);
    }
  });
});

Deno.test("readEntryBytes() detects a CRC mismatch and corrupt DEFLATE data", async () => {
  await withTempDir(async (dir) => {
    const { bytes, directory } = await sample(dir);
    const [stored, deflated] = directory.entries;
    const flipped = await corrupt(dir, bytes, (copy) => (copy[stored!.dataOffset + 100]! ^= 1));
    const entries = await readZipEntries(flipped);
    await assertZipError(
      readEntryBytes(flipped, entries[0]!),
      /entry "stored.bin" is corrupt: CRC-32 [0-9a-f]{8} does not match/,
    );
    await assertZipError(extractEntry(flipped, entries[0]!, `${dir}/out.bin`), /CRC-32/);
    await assert.rejects(
      Deno.stat(`${dir}/out.bin`),
      Deno.errors.NotFound,
      "the partial file is removed",
    );

    const garbage = await corrupt(
      dir,
      bytes,
      (copy) => copy.fill(0xff, deflated!.dataOffset, deflated!.dataOffset + 8),
    );
    await assertZipError(
      readEntryBytes(garbage, (await readZipEntries(garbage))[1]!),
      /entry "deflated.txt" is corrupt/,
    );

    // A directory that claims more (or fewer) bytes than the stream inflates to.
    await assertZipError(
      readEntryBytes(flipped, { ...deflated!, size: deflated!.size + 1 }),
      /holds \d+ bytes, not \d+/,
    );
    await assertZipError(
      readEntryBytes(flipped, { ...deflated!, size: deflated!.size - 1 }),
      /inflates to more than its size/,
    );
    await assertZipError(
      readEntryBytes(flipped, { ...deflated!, method: 12 }),
      /compression method 12, which is not supported/,
    );
    await assertZipError(readEntryBytes(flipped, { ...deflated!, flags: 1 }), /is encrypted/);
  });
});

Deno.test("readZipDirectory() decodes non-UTF-8 names without the UTF-8 flag byte by byte", async () => {
  await withTempDir(async (dir) => {
    const { bytes } = await sample(dir, ["stored.bin", "caf?.txt", "third.txt"]);
    const path = await corrupt(dir, bytes, (copy) => {
      const from = text("caf?.txt");
      for (let i = 0; i + from.length <= copy.length; i++) {
        if (from.every((b, j) => copy[i + j] === b)) copy[i + 3] = 0xe9; // Latin-1 é
      }
    });
    const entries = await readZipEntries(path);
    assert.equal(entries[1]!.name, "café.txt");
    assert.equal(untext(await readEntryBytes(path, entries[1]!)), "hello deflate ".repeat(500));
  });
});
