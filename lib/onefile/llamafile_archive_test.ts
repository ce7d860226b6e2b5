import assert from "node:assert/strict";
import {
  applyLlamafileArgs,
  checkWeightsEntry,
  chooseWeightsEntry,
  LlamafileError,
  readLlamafileArgs,
  resolveWeights,
} from "./llamafile_archive.ts";
import type { ZipEntry } from "./zip_reader.ts";
import { ZipWriter } from "./zip_writer.ts";

function entry(name: string, fields: Partial<ZipEntry> = {}): ZipEntry {
  return {
    name,
    method: 0,
    compressedSize: 10,
    size: 10,
    crc32: 0,
    localHeaderOffset: 0,
    dataOffset: 65536,
    alignment: 65536,
    mode: 0o644,
    isDirectory: false,
    flags: 0,
    versionMadeBy: 0,
    versionNeeded: 10,
    dosTime: 0,
    dosDate: 0,
    internalAttributes: 0,
    externalAttributes: 0,
    rawName: new TextEncoder().encode(name),
    extra: new Uint8Array(0),
    comment: new Uint8Array(0),
    ...fields,
  };
}

const GGUF_HEAD = new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]);

Deno.test("chooseWeightsEntry() takes the single .gguf and ignores the runtime folder", () => {
  const entries = [entry(".args"), entry("runtime/linux-x64/x.gguf"), entry("model.gguf")];
  assert.equal(chooseWeightsEntry(entries, "a.llamafile")?.name, "model.gguf");
  assert.equal(chooseWeightsEntry(entries, "a.llamafile", "nope.gguf"), null);
  assert.equal(chooseWeightsEntry(entries, "a.llamafile", ".args")?.name, ".args");
});

Deno.test("chooseWeightsEntry() refuses an archive with no .gguf or with two, naming them", () => {
  assert.throws(
    () => chooseWeightsEntry([entry(".args")], "a.llamafile"),
    (e: Error) =>
      e instanceof LlamafileError && /"a\.llamafile": it holds no \.gguf entry/.test(e.message),
  );
  assert.throws(
    () => chooseWeightsEntry([entry("a.gguf"), entry("b.GGUF")], "x"),
    (e: Error) => /holds 2 \.gguf entries \("a\.gguf", "b\.GGUF"\); pass -m NAME/.test(e.message),
  );
});

Deno.test("checkWeightsEntry() refuses compressed, encrypted and misaligned weights", () => {
  assert.throws(
    () => checkWeightsEntry(entry("m.gguf", { method: 8 }), "x"),
    /compressed \(method 8\)/,
  );
  assert.throws(() => checkWeightsEntry(entry("m.gguf", { flags: 1 }), "x"), /encrypted/);
  assert.throws(
    () => checkWeightsEntry(entry("m.gguf", { dataOffset: 65552 }), "x"),
    /starts at byte 65552, not on a 32-byte boundary/,
  );
  checkWeightsEntry(entry("m.gguf", { dataOffset: 96 }), "x");
});

async function withArchive(
  fn: (dir: string, archive: string) => Promise<void>,
  files: [string, Uint8Array, number][],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "llamafile_archive_test_" });
  try {
    const archive = `${dir}/t.llamafile`;
    const zip = await ZipWriter.create(archive, {
      prefix: new TextEncoder().encode("#!/bin/sh\nexit 1\n"),
    });
    for (const [name, bytes, align] of files) await zip.addBytes(name, bytes, { align });
    await zip.finish();
    await fn(dir, archive);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("applyLlamafileArgs() merges .args around the user's arguments", async () => {
  const args = new TextEncoder().encode("-n 40  # default length\n--temp 0\n...\n-c 128\n");
  await withArchive(async (_dir, archive) => {
    assert.deepEqual(await readLlamafileArgs(archive), [
      "-n",
      "40",
      "--temp",
      "0",
      "...",
      "-c",
      "128",
    ]);
    assert.deepEqual(await applyLlamafileArgs(["-n", "5", "-p", "hi"], archive), [
      "-n",
      "40",
      "--temp",
      "0",
      "-n",
      "5",
      "-p",
      "hi",
      "-c",
      "128",
    ]);
    assert.deepEqual(await applyLlamafileArgs(["-p", "x"], undefined), ["-p", "x"]);
  }, [[".args", args, 1]]);
});

Deno.test("applyLlamafileArgs() reports a bad .args as a SyntaxError", async () => {
  await withArchive(async (_dir, archive) => {
    await assert.rejects(
      applyLlamafileArgs([], archive),
      (e: Error) => e instanceof SyntaxError && /unterminated single quote/.test(e.message),
    );
  }, [[".args", new TextEncoder().encode("-p 'open\n"), 1]]);
});

Deno.test("resolveWeights() finds the default, a named entry, another llamafile, and files on disk", async () => {
  await withArchive(async (dir, archive) => {
    assert.equal(await resolveWeights(undefined, undefined), null);
    const own = await resolveWeights(undefined, archive);
    assert.equal(own?.path, archive);
    assert.equal(own?.entry, "model.gguf");
    assert.equal(own!.offset % 4096, 0);
    // A name with no file on disk is looked up in the archive.
    const named = await resolveWeights("model.gguf", archive);
    assert.deepEqual(named, own);
    await assert.rejects(
      resolveWeights("other.gguf", archive),
      /no such file, and ".*t\.llamafile" has no entry of that name/,
    );
    // Without a llamafile a missing file is left to the loader ("no such file").
    assert.deepEqual(await resolveWeights(`${dir}/none.gguf`, undefined), {
      path: `${dir}/none.gguf`,
      offset: 0,
      entry: null,
    });
    // A GGUF on disk wins over an entry of the same name.
    await Deno.writeFile(`${dir}/disk.gguf`, GGUF_HEAD);
    assert.deepEqual(await resolveWeights(`${dir}/disk.gguf`, archive), {
      path: `${dir}/disk.gguf`,
      offset: 0,
      entry: null,
    });
    // -m other.llamafile uses that file's weights.
    assert.deepEqual(await resolveWeights(archive, undefined), own);
    // Anything else goes to the loader as is (it reports "bad GGUF magic").
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
    assert.deepEqual(await resolveWeights(`${dir}/notes.txt`, undefined), {
      path: `${dir}/notes.txt`,
      offset: 0,
      entry: null,
    });
  }, [[".args", new Uint8Array(0), 1], ["model.gguf", GGUF_HEAD, 4096]]);
});

Deno.test("resolveWeights() refuses misaligned weights in another llamafile", async () => {
  await withArchive(async (_dir, archive) => {
    await assert.rejects(
      resolveWeights(archive, undefined),
      (e: Error) => e instanceof LlamafileError && /not on a 32-byte boundary/.test(e.message),
    );
  }, [["pad", new Uint8Array(3), 1], ["model.gguf", GGUF_HEAD, 1]]);
});
