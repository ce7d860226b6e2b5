import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { crc32, LOCAL_HEADER_SIZE, parseManifest, viewOf } from "./zip_format.ts";
import { readEntryBytes, readZipDirectory, readZipEntries, type ZipEntry } from "./zip_reader.ts";
import { DEFAULT_ALIGNMENT, MANIFEST_NAME, ZipWriter } from "./zip_writer.ts";

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

/** Compressible but not trivial: words from a small vocabulary. */
function prose(length: number): Uint8Array {
  const words = ["the", "llama", "weights", "are", "aligned", "on", "a", "page", "boundary", "\n"];
  const noise = pseudoRandom(length, 42);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const word = words[noise[i % noise.length]! % words.length]! + " ";
    parts.push(word);
    size += word.length;
  }
  return text(parts.join("")).subarray(0, length);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zip_writer_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function byName(entries: ZipEntry[], name: string): ZipEntry {
  const entry = entries.find((e) => e.name === name);
  assert.ok(entry, `entry ${name} is listed`);
  return entry;
}

const PREFIX = text("#!/bin/sh\nexec echo launcher\n");

/** Writes a small llamafile-like archive and returns its path. */
async function writeSample(path: string, source: string): Promise<void> {
  const zip = await ZipWriter.create(path, { prefix: PREFIX });
  await zip.addBytes(".args", text("-m\nmodel.gguf\n...\n"), { method: "deflate" });
  await zip.addFile("model.gguf", source, { method: "store", align: DEFAULT_ALIGNMENT });
  await zip.addBytes("lib/libllama.so", prose(200_000), { method: "deflate", mode: 0o755 });
  await zip.addBytes("empty", new Uint8Array(0));
  await zip.finish();
}

Deno.test("ZipWriter round trips stored, deflated and empty entries after a prefix", async () => {
  await withTempDir(async (dir) => {
    const weights = pseudoRandom(150_000, 3);
    await Deno.writeFile(`${dir}/w.gguf`, weights);
    await writeSample(`${dir}/a.zip`, `${dir}/w.gguf`);
    const file = await Deno.readFile(`${dir}/a.zip`);
    assert.deepEqual(file.subarray(0, PREFIX.length), PREFIX, "the prefix comes first");

    const entries = await readZipEntries(`${dir}/a.zip`);
    assert.deepEqual(entries.map((e) => e.name), [
      ".args",
      "model.gguf",
      "lib/libllama.so",
      "empty",
    ]);
    const args = byName(entries, ".args");
    assert.equal(args.method, 8);
    assert.equal(untext(await readEntryBytes(`${dir}/a.zip`, args)), "-m\nmodel.gguf\n...\n");
    const model = byName(entries, "model.gguf");
    assert.equal(model.method, 0);
    assert.equal(model.size, weights.length);
    assert.equal(model.crc32, crc32(weights));
    assert.deepEqual(await readEntryBytes(`${dir}/a.zip`, model), weights);
    assert.deepEqual(file.subarray(model.dataOffset, model.dataOffset + weights.length), weights);
    const lib = byName(entries, "lib/libllama.so");
    assert.ok(lib.compressedSize < lib.size / 2, "prose compresses");
    assert.equal(lib.mode, 0o755);
    assert.deepEqual(await readEntryBytes(`${dir}/a.zip`, lib), prose(200_000));
    const empty = byName(entries, "empty");
    assert.equal(empty.size, 0);
    assert.deepEqual(await readEntryBytes(`${dir}/a.zip`, empty), new Uint8Array(0));
    assert.equal(empty.mode, 0o644);
  });
});

Deno.test("ZipWriter streams multi-chunk files identically to the same bytes in memory", async () => {
  await withTempDir(async (dir) => {
    // Over two 4 MiB chunks, mixing compressible and random data.
    const data = new Uint8Array(9 * 1024 * 1024 + 17);
    data.set(prose(5 * 1024 * 1024));
    data.set(pseudoRandom(data.length - 5 * 1024 * 1024, 8), 5 * 1024 * 1024);
    await Deno.writeFile(`${dir}/src`, data);
    for (const method of ["store", "deflate"] as const) {
      const fromFile = await ZipWriter.create(`${dir}/f.zip`);
      const progress: [number, number][] = [];
      await fromFile.addFile("x", `${dir}/src`, {
        method,
        onProgress: (d, t) => progress.push([d, t]),
      });
      await fromFile.finish();
      const fromBytes = await ZipWriter.create(`${dir}/b.zip`);
      await fromBytes.addBytes("x", data, { method });
      await fromBytes.finish();
      assert.deepEqual(
        await Deno.readFile(`${dir}/f.zip`),
        await Deno.readFile(`${dir}/b.zip`),
        method,
      );

      assert.deepEqual(progress.map(([d]) => d), [4 << 20, 8 << 20, data.length]);
      assert.ok(progress.every(([, t]) => t === data.length));
      const [entry] = await readZipEntries(`${dir}/f.zip`);
      assert.equal(entry!.crc32, crc32(data));
      const back = await readEntryBytes(`${dir}/f.zip`, entry!);
      assert.equal(back.length, data.length);
      assert.ok(back.every((b, i) => b === data[i]), `${method} data reads back`);
    }
  });
});

Deno.test("ZipWriter aligns stored data on the requested boundary for any prefix length", async () => {
  await withTempDir(async (dir) => {
    const data = pseudoRandom(1000, 5);
    // Prefix lengths chosen so that the padding needed is 0, 1..5 (too small for a field), or large.
    const name = "model.gguf";
    const base = LOCAL_HEADER_SIZE + name.length;
    const prefixLengths = [
      0,
      1,
      100,
      65536 - base,
      65536 - base - 1,
      65536 - base - 3,
      65536 - base - 5,
      65536 - base - 6,
    ];
    for (const prefixLength of prefixLengths) {
      const path = `${dir}/p${prefixLength}.zip`;
      const zip = await ZipWriter.create(path, { prefix: new Uint8Array(prefixLength).fill(0x23) });
      const written = await zip.addBytes(name, data, { align: DEFAULT_ALIGNMENT });
      const other = await zip.addBytes("small.bin", data.subarray(0, 10), { align: 4096 });
      await zip.finish();
      const entries = await readZipEntries(path);
      const entry = byName(entries, name);
      assert.equal(entry.dataOffset % DEFAULT_ALIGNMENT, 0, `prefix ${prefixLength}`);
      assert.equal(entry.alignment >= DEFAULT_ALIGNMENT, true);
      assert.equal(entry.dataOffset, written.dataOffset);
      assert.equal(byName(entries, "small.bin").dataOffset % 4096, 0);
      assert.equal(other.dataOffset % 4096, 0);
      assert.deepEqual(await readEntryBytes(path, entry), data);
    }
  });
});

Deno.test("ZipWriter is deterministic: the same inputs give the same bytes", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/w.gguf`, pseudoRandom(70_000, 11));
    await writeSample(`${dir}/1.zip`, `${dir}/w.gguf`);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a different wall-clock second
    await Deno.chmod(`${dir}/w.gguf`, 0o600); // host metadata must not leak in
    await writeSample(`${dir}/2.zip`, `${dir}/w.gguf`);
    assert.deepEqual(await Deno.readFile(`${dir}/1.zip`), await Deno.readFile(`${dir}/2.zip`));
    for (const entry of await readZipEntries(`${dir}/1.zip`)) {
      assert.equal(entry.dosDate, 0x21, "1980-01-01");
      assert.equal(entry.dosTime, 0);
    }
  });
});

Deno.test("ZipWriter.append() keeps old bytes, lists old and new entries and replaces duplicates", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/w.gguf`, pseudoRandom(100_000, 13));
    const path = `${dir}/a.zip`;
    await writeSample(path, `${dir}/w.gguf`);
    const before = await Deno.readFile(path);

    const zip = await ZipWriter.append(path);
    assert.deepEqual(zip.entries.map((e) => e.name), [
      ".args",
      "model.gguf",
      "lib/libllama.so",
      "empty",
    ]);
    assert.equal(zip.position, before.length);
    await zip.addBytes(".args", text("--temp\n0\n"), { method: "deflate" });
    await zip.addBytes("new.txt", text("new"), {});
    await zip.finish();

    const after = await Deno.readFile(path);
    assert.ok(after.length > before.length);
    assert.deepEqual(after.subarray(0, before.length), before, "existing bytes are untouched");
    const entries = await readZipEntries(path);
    assert.deepEqual(entries.map((e) => e.name), [
      "model.gguf",
      "lib/libllama.so",
      "empty",
      ".args",
      "new.txt",
    ]);
    assert.equal(untext(await readEntryBytes(path, byName(entries, ".args"))), "--temp\n0\n");
    assert.ok(
      byName(entries, ".args").localHeaderOffset >= before.length,
      "the new .args lies after the old end",
    );
    const model = byName(entries, "model.gguf");
    assert.deepEqual(await readEntryBytes(path, model), pseudoRandom(100_000, 13));
    assert.equal(model.dataOffset % DEFAULT_ALIGNMENT, 0);
    assert.equal(byName(entries, "lib/libllama.so").mode, 0o755, "old attributes are kept");

    // A second append still finds the newest directory from the end.
    const again = await ZipWriter.append(path);
    await again.addBytes("third.txt", text("3"), { method: "deflate" });
    await again.finish();
    const names = (await readZipEntries(path)).map((e) => e.name);
    assert.deepEqual(names, [
      "model.gguf",
      "lib/libllama.so",
      "empty",
      ".args",
      "new.txt",
      "third.txt",
    ]);
  });
});

Deno.test("ZipWriter.append() makes offsets absolute for an archive given a prefix afterwards", async () => {
  await withTempDir(async (dir) => {
    const plain = await ZipWriter.create(`${dir}/plain.zip`);
    await plain.addBytes("a.txt", text("alpha"), { method: "deflate" });
    await plain.finish();
    const zipBytes = await Deno.readFile(`${dir}/plain.zip`);
    const prefixed = new Uint8Array(PREFIX.length + zipBytes.length);
    prefixed.set(PREFIX);
    prefixed.set(zipBytes, PREFIX.length);
    await Deno.writeFile(`${dir}/cat.zip`, prefixed);
    assert.equal((await readZipDirectory(`${dir}/cat.zip`)).offsetBase, PREFIX.length);

    const zip = await ZipWriter.append(`${dir}/cat.zip`);
    await zip.addBytes("b.txt", text("beta"));
    await zip.finish();
    const directory = await readZipDirectory(`${dir}/cat.zip`);
    assert.equal(directory.offsetBase, 0);
    assert.equal(
      untext(await readEntryBytes(`${dir}/cat.zip`, byName(directory.entries, "a.txt"))),
      "alpha",
    );
    assert.equal(
      untext(await readEntryBytes(`${dir}/cat.zip`, byName(directory.entries, "b.txt"))),
      "beta",
    );
  });
});

Deno.test("ZipWriter.addManifest() lists the SHA-256 of every other entry, streamed or read back", async () => {
  await withTempDir(async (dir) => {
    const weights = pseudoRandom(300_000, 17);
    await Deno.writeFile(`${dir}/w.gguf`, weights);
    const manifests: string[] = [];
    for (const sha256 of [true, false]) {
      const path = `${dir}/m${sha256}.zip`;
      const zip = await ZipWriter.create(path, { sha256 });
      await zip.addBytes("b.txt", prose(10_000), { method: "deflate" });
      await zip.addFile("a.gguf", `${dir}/w.gguf`, { align: DEFAULT_ALIGNMENT });
      await zip.addManifest();
      await zip.finish();
      const entries = await readZipEntries(path);
      assert.equal(entries.at(-1)!.name, MANIFEST_NAME);
      manifests.push(untext(await readEntryBytes(path, entries.at(-1)!)));
    }
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    assert.equal(manifests[0], `${sha(weights)}  a.gguf\n${sha(prose(10_000))}  b.txt\n`);
    assert.equal(manifests[1], manifests[0]);

    // Appending: old entries are read back, the old manifest is replaced, not listed.
    const path = `${dir}/mtrue.zip`;
    const zip = await ZipWriter.append(path, { sha256: true });
    await zip.addBytes("c.txt", text("gamma"));
    await zip.addManifest();
    await zip.finish();
    const entries = await readZipEntries(path);
    assert.equal(entries.filter((e) => e.name === MANIFEST_NAME).length, 1);
    const hashes = parseManifest(
      untext(await readEntryBytes(path, byName(entries, MANIFEST_NAME))),
    );
    assert.deepEqual([...hashes.keys()], ["a.gguf", "b.txt", "c.txt"]);
    assert.equal(hashes.get("c.txt"), sha(text("gamma")));
    assert.equal(hashes.get("a.gguf"), sha(weights));
  });
});

Deno.test("ZipWriter leaves all-zero chunks as holes with the right CRC", async () => {
  await withTempDir(async (dir) => {
    const chunk = 4 << 20;
    const data = new Uint8Array(3 * chunk + 5);
    data.set(pseudoRandom(1000, 19), 10); // chunk 0: data
    // chunk 1: zeros; chunk 2: zeros; tail: zeros too (a hole at the end of the entry)
    await Deno.writeFile(`${dir}/src`, data);
    const path = `${dir}/z.zip`;
    const zip = await ZipWriter.create(path);
    await zip.addFile("z.bin", `${dir}/src`);
    await zip.addManifest(); // reads the entry back, the trailing hole included
    await zip.finish();
    const entries = await readZipEntries(path);
    const entry = byName(entries, "z.bin");
    assert.equal(entry.crc32, crc32(data));
    assert.deepEqual(await readEntryBytes(path, entry), data);
    const info = await Deno.stat(path);
    assert.ok(info.blocks === null || info.blocks * 512 < 2 * chunk, "zero chunks take no disk");
  });
});

Deno.test("ZipWriter forceZip64 writes ZIP64 records the reader understands", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/z64.zip`;
    const zip = await ZipWriter.create(path, {
      forceZip64: true,
      prefix: PREFIX,
      comment: "forced",
    });
    await zip.addBytes("a.txt", prose(5000), { method: "deflate" });
    await zip.addBytes("b.bin", pseudoRandom(3000), { align: 4096 });
    await zip.finish();
    const directory = await readZipDirectory(path);
    assert.equal(directory.zip64, true);
    assert.equal(untext(directory.comment), "forced");
    assert.deepEqual(await readEntryBytes(path, byName(directory.entries, "a.txt")), prose(5000));
    const b = byName(directory.entries, "b.bin");
    assert.equal(b.dataOffset % 4096, 0);
    assert.deepEqual(await readEntryBytes(path, b), pseudoRandom(3000));
    // Local headers carry the ZIP64 sizes too.
    const file = await Deno.readFile(path);
    const local = viewOf(file.subarray(b.localHeaderOffset));
    assert.equal(local.getUint32(18, true), 0xffffffff);
    assert.equal(local.getUint16(30 + 5, true), 1, "first extra field is ZIP64");
  });
});

Deno.test("ZipWriter writes a ZIP64 end record for 65535 or more entries", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/many.zip`;
    const zip = await ZipWriter.create(path);
    const count = 65_535; // the first count that needs ZIP64
    for (let i = 0; i < count; i++) await zip.addBytes(`f/${i}`, text(String(i)));
    await zip.finish();
    const directory = await readZipDirectory(path);
    assert.equal(directory.zip64, true);
    assert.equal(directory.entries.length, count);
    assert.equal(directory.entries[65_534]!.name, "f/65534");
    assert.equal(untext(await readEntryBytes(path, directory.entries[40_000]!)), "40000");
  });
});

Deno.test("ZipWriter rejects unsafe names and bad options before writing", async () => {
  await withTempDir(async (dir) => {
    const zip = await ZipWriter.create(`${dir}/x.zip`);
    for (const name of ["../evil", "/etc/passwd", "a\\b", "", "dir/"]) {
      await assert.rejects(zip.addBytes(name, text("x")), TypeError, name);
    }
    await assert.rejects(zip.addBytes("a", text("x"), { align: 0 }), RangeError);
    await assert.rejects(zip.addBytes("a", text("x"), { align: 131072 }), RangeError);
    await assert.rejects(zip.addBytes("a", text("x"), { mode: 0o10000 }), RangeError);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(zip.addBytes("a", text("x"), { method: "bzip2" as any }), TypeError);
    assert.equal(zip.position, 0, "nothing was written");
    await zip.addBytes("ok", text("fine"));
    await zip.finish();
    await assert.rejects(zip.addBytes("late", text("x")), /it is finished/);
    zip.close(); // idempotent after finish
    assert.deepEqual((await readZipEntries(`${dir}/x.zip`)).map((e) => e.name), ["ok"]);
  });
});

Deno.test("ZipWriter rejects overlapping operations", async () => {
  await withTempDir(async (dir) => {
    await using zip = await ZipWriter.create(`${dir}/x.zip`);
    const first = zip.addBytes("a", pseudoRandom(100_000), { method: "deflate" });
    await assert.rejects(zip.addBytes("b", text("x")), /another operation is in progress/);
    await first;
  });
});

Deno.test("ZipWriter.append() refuses a file that is not an archive", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/not.zip`, text("just text, no archive here at all"));
    await assert.rejects(ZipWriter.append(`${dir}/not.zip`), {
      name: "ZipError",
      message: /not\.zip/,
    });
    await assert.rejects(ZipWriter.append(`${dir}/not.zip`, { prefix: PREFIX }), TypeError);
  });
});

Deno.test("ZipWriter.addEntry() copies another archive's entries: stored bytes unchanged, deflated ones re-chunked alike", async () => {
  await withTempDir(async (dir) => {
    const big = pseudoRandom(9 << 20, 7); // three 4 MiB chunks' worth
    await Deno.writeFile(`${dir}/big.gguf`, big);
    const source = `${dir}/a.zip`;
    {
      const zip = await ZipWriter.create(source, { prefix: PREFIX });
      await zip.addFile("big.gguf", `${dir}/big.gguf`, { align: 4096 });
      await zip.addBytes("notes.txt", prose(6 << 20), { method: "deflate", mode: 0o600 });
      await zip.finish();
    }
    const from = await readZipEntries(source);
    const copy = `${dir}/b.zip`;
    const zip = await ZipWriter.create(copy, { prefix: text("#!/bin/sh\n") });
    const stored = await zip.addEntry("big.gguf", source, byName(from, "big.gguf"), {
      align: DEFAULT_ALIGNMENT,
    });
    await zip.addEntry("notes.txt", source, byName(from, "notes.txt"), { method: "deflate" });
    await zip.finish();
    assert.equal(stored.dataOffset % DEFAULT_ALIGNMENT, 0);
    const bytes = await Deno.readFile(copy);
    assert.deepEqual(bytes.subarray(stored.dataOffset, stored.dataOffset + big.length), big);
    const to = await readZipEntries(copy);
    assert.equal(byName(to, "big.gguf").crc32, byName(from, "big.gguf").crc32);
    assert.deepEqual(await readEntryBytes(copy, byName(to, "notes.txt")), prose(6 << 20));
    // Re-deflated from the same chunks as addBytes would feed: the same compressed bytes.
    assert.equal(byName(to, "notes.txt").compressedSize, byName(from, "notes.txt").compressedSize);
  });
});

Deno.test("ZipWriter.addEntry() fails on a source entry that fails its CRC check", async () => {
  await withTempDir(async (dir) => {
    const source = `${dir}/a.zip`;
    await writeSample(
      source,
      await (async () => {
        await Deno.writeFile(`${dir}/m`, prose(100_000));
        return `${dir}/m`;
      })(),
    );
    const entry = byName(await readZipEntries(source), "model.gguf");
    {
      using file = await Deno.open(source, { write: true });
      await file.seek(entry.dataOffset + 10, Deno.SeekMode.Start);
      await file.write(text("X"));
    }
    const zip = await ZipWriter.create(`${dir}/b.zip`);
    await assert.rejects(
      () => zip.addEntry("model.gguf", source, entry),
      /entry "model\.gguf" is corrupt: CRC-32/,
    );
    zip.close();
  });
});
