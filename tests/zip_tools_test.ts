/**
 * Our ZIP writer's archives checked by Info-ZIP's `unzip -t` and `zipinfo` (Debian package
 * `unzip`), archives made by Info-ZIP `zip` read by our reader (skipped when `zip` is not
 * installed), and ZIP64 over a sparse file larger than 4 GiB.
 */
import assert from "node:assert/strict";
import { crc32, crc32Combine, crc32ZeroExtend } from "../lib/onefile/zip_format.ts";
import { readEntryBytes, readZipDirectory, readZipEntries } from "../lib/onefile/zip_reader.ts";
import { DEFAULT_ALIGNMENT, ZipWriter } from "../lib/onefile/zip_writer.ts";

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(command: string, args: string[]): Promise<{ code: number; out: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot run "${command}": it is not installed (apt-get install -y unzip zip)`,
      );
    }
    throw error;
  }
  return { code: output.code, out: untext(output.stdout) + untext(output.stderr) };
}

async function has(command: string): Promise<boolean> {
  try {
    await new Deno.Command(command, { args: ["-v"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** `unzip -t` passes with no warning at all (offsets, extra bytes, CRCs). */
async function assertUnzipTest(path: string, ...members: string[]): Promise<string> {
  const { code, out } = await run("unzip", ["-t", path, ...members]);
  assert.equal(code, 0, out);
  assert.match(out, /No errors detected/);
  assert.doesNotMatch(out, /warning|error:|extra bytes|offset/i, out);
  return out;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zip_tools_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

const LAUNCHER = text('#!/bin/sh\necho "this is the launcher"\nexit 0\n');
const ARGS = text("-m\nmodel.gguf\n--temp 0.7\n...\n");

Deno.test("unzip -t and zipinfo accept a prefix, an aligned stored entry and a deflated entry", async () => {
  await withTempDir(async (dir) => {
    const weights = pseudoRandom(200_000, 3);
    await Deno.writeFile(`${dir}/model.gguf`, weights);
    const path = `${dir}/model.llamafile`;
    const zip = await ZipWriter.create(path, { prefix: LAUNCHER, sha256: true });
    await zip.addBytes(".args", ARGS, { method: "deflate" });
    await zip.addFile("model.gguf", `${dir}/model.gguf`, { align: DEFAULT_ALIGNMENT });
    await zip.addBytes("bin/run.sh", text("#!/bin/sh\necho run\n".repeat(100)), {
      method: "deflate",
      mode: 0o755,
    });
    await zip.addManifest();
    await zip.finish();

    const tested = await assertUnzipTest(path);
    for (const name of [".args", "model.gguf", "bin/run.sh", ".manifest.sha256"]) {
      assert.match(tested, new RegExp(`testing: ${name.replace(".", "\\.")}\\s+OK`));
    }
    const info = await run("zipinfo", [path]);
    assert.equal(info.code, 0, info.out);
    assert.match(info.out, /-rw-r--r--.* stor 80-Jan-01 00:00 model\.gguf/);
    assert.match(info.out, /-rw-r--r--.* defN 80-Jan-01 00:00 \.args/);
    assert.match(info.out, /-rwxr-xr-x.* defN 80-Jan-01 00:00 bin\/run\.sh/);
    assert.match(info.out, /number of entries: 4/);
    assert.doesNotMatch(info.out, /warning/i);

    const model = (await readZipEntries(path)).find((e) => e.name === "model.gguf")!;
    assert.equal(model.dataOffset % DEFAULT_ALIGNMENT, 0);
    const piped = await new Deno.Command("unzip", {
      args: ["-p", path, "model.gguf"],
      stdout: "piped",
    }).output();
    assert.deepEqual(piped.stdout, weights);
    const args = await new Deno.Command("unzip", { args: ["-p", path, ".args"], stdout: "piped" })
      .output();
    assert.deepEqual(args.stdout, ARGS);
    const sums = await new Deno.Command("unzip", {
      args: ["-p", path, ".manifest.sha256"],
      stdout: "piped",
    }).output();
    assert.match(
      untext(sums.stdout),
      /^[0-9a-f]{64} {2}\.args\n[0-9a-f]{64} {2}bin\/run\.sh\n[0-9a-f]{64} {2}model\.gguf\n$/,
    );

    // The launcher still runs as a shell script.
    const shell = await run("sh", [path]);
    assert.equal(shell.code, 0);
    assert.equal(shell.out, "this is the launcher\n");
  });
});

Deno.test("unzip -t accepts alignment done with a few bytes before the local header", async () => {
  await withTempDir(async (dir) => {
    // Padding of 1 to 5 bytes cannot hold an extra field; with 64 KiB alignment the writer
    // leaves zero bytes before the local header instead.
    for (const short of [1, 3, 5]) {
      const path = `${dir}/gap${short}.zip`;
      const prefix = new Uint8Array(65536 - 30 - "w.gguf".length - short).fill(0x23);
      const zip = await ZipWriter.create(path, { prefix });
      const entry = await zip.addBytes("w.gguf", pseudoRandom(3000), { align: DEFAULT_ALIGNMENT });
      await zip.finish();
      assert.equal(entry.localHeaderOffset, prefix.length + short);
      assert.equal(entry.dataOffset % DEFAULT_ALIGNMENT, 0);
      await assertUnzipTest(path);
    }
  });
});

Deno.test("unzip -t accepts an appended archive and sees the newest directory", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/a.llamafile`;
    const first = await ZipWriter.create(path, { prefix: LAUNCHER });
    await first.addBytes(".args", ARGS, { method: "deflate" });
    await first.addBytes("model.gguf", pseudoRandom(70_000), { align: DEFAULT_ALIGNMENT });
    await first.finish();
    const second = await ZipWriter.append(path);
    await second.addBytes(".args", text("--temp\n0\n"), { method: "deflate" });
    await second.addBytes("extra.txt", text("extra"), { align: 4096 });
    await second.finish();

    const out = await assertUnzipTest(path);
    assert.equal(out.match(/testing:/g)?.length, 3);
    const args = await new Deno.Command("unzip", { args: ["-p", path, ".args"], stdout: "piped" })
      .output();
    assert.equal(untext(args.stdout), "--temp\n0\n");
    const info = await run("zipinfo", ["-1", path]);
    assert.deepEqual(info.out.trim().split("\n"), ["model.gguf", ".args", "extra.txt"]);
  });
});

Deno.test("unzip -t and zipinfo accept forced ZIP64 records and 65535 entries", async () => {
  await withTempDir(async (dir) => {
    const forced = `${dir}/forced.zip`;
    const zip = await ZipWriter.create(forced, { prefix: LAUNCHER, forceZip64: true });
    await zip.addBytes("a.txt", text("alpha ".repeat(1000)), { method: "deflate" });
    await zip.addBytes("b.bin", pseudoRandom(5000), { align: DEFAULT_ALIGNMENT });
    await zip.finish();
    await assertUnzipTest(forced);
    const verbose = await run("zipinfo", ["-v", forced]);
    assert.equal(verbose.code, 0, verbose.out);
    assert.match(verbose.out, /minimum software version required to extract:\s+4\.5/);

    const many = `${dir}/many.zip`;
    const big = await ZipWriter.create(many);
    for (let i = 0; i < 65_535; i++) await big.addBytes(`d/${i}.txt`, text(`${i}\n`));
    await big.finish();
    const { code, out } = await run("unzip", ["-tq", many]);
    assert.equal(code, 0, out);
    assert.match(out, /No errors detected in compressed data/);
    const listed = await run("zipinfo", ["-h", many]);
    assert.match(listed.out, /number of entries: 65535/);
  });
});

const hasZip = await has("zip");

Deno.test({
  name: "readZipDirectory() reads Info-ZIP archives, with a prefix added by cat or zip -A",
  ignore: !hasZip,
  fn: async () => {
    await withTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/one.txt`, text("one ".repeat(1000)));
      await Deno.writeFile(`${dir}/two.bin`, pseudoRandom(10_000));
      const made = await new Deno.Command("zip", {
        args: ["-q", "-X", `${dir}/info.zip`, "one.txt", "two.bin"],
        cwd: dir,
      }).output();
      assert.equal(made.code, 0);
      const zipBytes = await Deno.readFile(`${dir}/info.zip`);
      const joined = new Uint8Array(LAUNCHER.length + zipBytes.length);
      joined.set(LAUNCHER);
      joined.set(zipBytes, LAUNCHER.length);
      await Deno.writeFile(`${dir}/cat.zip`, joined);

      const relative = await readZipDirectory(`${dir}/cat.zip`);
      assert.equal(relative.offsetBase, LAUNCHER.length);
      const one = relative.entries.find((e) => e.name === "one.txt")!;
      assert.equal(one.method, 8);
      assert.equal(untext(await readEntryBytes(`${dir}/cat.zip`, one)), "one ".repeat(1000));

      const adjusted = await new Deno.Command("zip", { args: ["-q", "-A", `${dir}/cat.zip`] })
        .output();
      assert.equal(adjusted.code, 0);
      const absolute = await readZipDirectory(`${dir}/cat.zip`);
      assert.equal(absolute.offsetBase, 0);
      const two = absolute.entries.find((e) => e.name === "two.bin")!;
      assert.deepEqual(await readEntryBytes(`${dir}/cat.zip`, two), pseudoRandom(10_000));

      // Appending to an Info-ZIP archive keeps it valid for unzip.
      const zip = await ZipWriter.append(`${dir}/cat.zip`);
      await zip.addBytes("three.txt", text("three"), { method: "deflate" });
      await zip.finish();
      const out = await assertUnzipTest(`${dir}/cat.zip`);
      assert.equal(out.match(/testing:/g)?.length, 3);
    });
  },
});

const GIB = 2 ** 30;

/** A sparse source over 4 GiB with a few non-zero bytes at telling places. */
async function sparseWeights(path: string): Promise<{ size: number; crc: number }> {
  const size = 4 * GIB + 70_000;
  const marks: [number, Uint8Array][] = [
    [0, text("GGUF")],
    [2 ** 32 - 2, text("edge")], // across the 4 GiB boundary
    [size - 3, text("end")],
  ];
  await Deno.writeFile(path, new Uint8Array(0));
  await Deno.truncate(path, size);
  const file = await Deno.open(path, { write: true });
  for (const [at, bytes] of marks) {
    await file.seek(at, Deno.SeekMode.Start);
    await file.write(bytes);
  }
  file.close();
  // Expected CRC from the pieces (crc32Combine and crc32ZeroExtend are unit-tested against
  // direct computation), independently of the writer's chunking.
  let crc = 0;
  let at = 0;
  for (const [start, bytes] of marks) {
    crc = crc32ZeroExtend(crc, start - at);
    crc = crc32Combine(crc, crc32(bytes), bytes.length);
    at = start + bytes.length;
  }
  crc = crc32ZeroExtend(crc, size - at);
  return { size, crc };
}

Deno.test("ZipWriter writes ZIP64 for a sparse entry over 4 GiB, read back by us and zipinfo", async () => {
  await withTempDir(async (dir) => {
    const source = `${dir}/big.gguf`;
    const { size, crc } = await sparseWeights(source);
    const path = `${dir}/big.llamafile`;
    const zip = await ZipWriter.create(path, { prefix: LAUNCHER });
    await zip.addBytes(".args", ARGS, { method: "deflate" });
    let lastProgress = 0;
    await zip.addFile("big.gguf", source, {
      align: DEFAULT_ALIGNMENT,
      onProgress: (done) => (lastProgress = done),
    });
    await zip.addBytes("after.txt", text("after the big one"), { method: "deflate" });
    await zip.addBytes("after.bin", pseudoRandom(1000), { align: 4096 });
    await zip.finish();
    assert.equal(lastProgress, size);

    const directory = await readZipDirectory(path);
    assert.equal(directory.zip64, true);
    const [args, big, after, afterBin] = directory.entries;
    assert.equal(big!.name, "big.gguf");
    assert.equal(big!.size, size);
    assert.equal(big!.compressedSize, size);
    assert.equal(big!.crc32, crc);
    assert.equal(big!.dataOffset % DEFAULT_ALIGNMENT, 0);
    assert.ok(after!.localHeaderOffset > 2 ** 32, "the next entry's offset needs ZIP64");
    assert.equal(after!.localHeaderOffset, big!.dataOffset + size);
    assert.ok(directory.centralDirectoryOffset > 2 ** 32);
    assert.equal(untext(await readEntryBytes(path, after!)), "after the big one");
    assert.equal(untext(await readEntryBytes(path, args!)), untext(ARGS));
    assert.equal(afterBin!.dataOffset % 4096, 0);
    assert.deepEqual(await readEntryBytes(path, afterBin!), pseudoRandom(1000));

    // The data is in place in the archive file (this is what the runtime maps).
    using file = await Deno.open(path);
    const probe = new Uint8Array(4);
    await file.seek(big!.dataOffset + 2 ** 32 - 2, Deno.SeekMode.Start);
    await file.read(probe);
    assert.equal(untext(probe), "edge");
    assert.ok((await Deno.stat(path)).blocks! * 512 < 64 * 2 ** 20, "zero chunks stay holes");

    const info = await run("zipinfo", [path]);
    assert.equal(info.code, 0, info.out);
    assert.match(info.out, new RegExp(`-rw-r--r-- .* ${size} b. stor 80-Jan-01 00:00 big\\.gguf`));
    assert.match(info.out, /number of entries: 4/);
    // Test the members around the big one (testing the big one reads 4 GiB: see below).
    await assertUnzipTest(path, ".args", "after.txt", "after.bin");
  });
});

Deno.test({
  name: "unzip -t checks the CRC of an entry over 4 GiB (ZIP_SLOW_TESTS=1)",
  ignore: Deno.env.get("ZIP_SLOW_TESTS") !== "1",
  fn: async () => {
    await withTempDir(async (dir) => {
      await sparseWeights(`${dir}/big.gguf`);
      const zip = await ZipWriter.create(`${dir}/big.zip`, { prefix: LAUNCHER });
      await zip.addFile("big.gguf", `${dir}/big.gguf`, { align: DEFAULT_ALIGNMENT });
      await zip.finish();
      await assertUnzipTest(`${dir}/big.zip`);
    });
  },
});
