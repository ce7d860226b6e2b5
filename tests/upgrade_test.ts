/**
 * `llamafile upgrade OLD -o NEW` through `deno task llamafile` on a llamafile made the way an
 * older version made them (another launcher, a runtime entry of its own, a single `platform`
 * in its version entry, weights aligned to 4 KiB, extra entries): the new file has this
 * version's runtime and the old weights byte for byte, aligned, with `.args` and the other
 * entries kept, Info-ZIP accepts it, and it runs. Costs two upgrades (~4 s each).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { VERSION } from "../lib/util/version.ts";
import { MANIFEST_NAME, parseManifest } from "../lib/onefile/zip_format.ts";
import { readEntryBytes, readEntryChunks, readZipDirectory } from "../lib/onefile/zip_reader.ts";
import { ZipWriter } from "../lib/onefile/zip_writer.ts";
import { MODELS, STORIES, STORIES_GREEDY, taskArgs } from "./helpers.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const OLD_ARGS = "# defaults of an old llamafile\n-m stories260K.gguf\n-n 40 --temp 0 -t 1\n" +
  "--no-display-prompt\n...\n";
const README = "This llamafile tells stories.\n".repeat(40);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const dir = await Deno.makeTempDir({ prefix: "upgrade_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function llamafile(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(args),
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function tool(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", env }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function entrySha256(path: string, name: string): Promise<string> {
  const entry = (await readZipDirectory(path)).entries.find((e) => e.name === name)!;
  using file = await Deno.open(path);
  const hash = createHash("sha256");
  for await (const chunk of readEntryChunks(file, entry)) hash.update(chunk);
  return hash.digest("hex");
}

/** A llamafile as an older version might have written it. */
async function oldLlamafile(path: string): Promise<void> {
  const launcher = encoder.encode("#!/bin/sh\necho 'an old launcher' >&2\nexit 1\n");
  const zip = await ZipWriter.create(path, { prefix: launcher, sha256: true });
  await zip.addBytes(".args", encoder.encode(OLD_ARGS), { method: "deflate" });
  await zip.addBytes(
    "runtime/version.json",
    encoder.encode(
      '{"llamafile":"0.0.1","llama.cpp":"v0.4.0","deno":"2.0.0","platform":"linux-x64"}\n',
    ),
  );
  await zip.addBytes("runtime/linux-x64/deno", encoder.encode("an old deno"), {
    method: "deflate",
    mode: 0o755,
  });
  await zip.addBytes("runtime/linux-x64/app.js", encoder.encode("an old app"));
  await zip.addFile("stories260K.gguf", STORIES, { align: 4096 });
  await zip.addBytes("README.txt", encoder.encode(README), { method: "deflate" });
  await zip.addBytes("docs/LICENSE", encoder.encode("MIT\n"), { mode: 0o600 });
  await zip.addManifest();
  await zip.finish();
  await Deno.chmod(path, 0o755);
}

let upgraded: Promise<{ old: string; path: string; run: Run }> | null = null;

/** Upgrades the old llamafile once for the tests of this file. */
function upgrade(): Promise<{ old: string; path: string; run: Run }> {
  upgraded ??= (async () => {
    const old = `${dir}/old.llamafile`;
    await oldLlamafile(old);
    const path = `${dir}/new.llamafile`;
    const run = await llamafile(["upgrade", old, "-o", path]);
    assert.equal(run.code, 0, run.stderr);
    return { old, path, run };
  })();
  return upgraded;
}

Deno.test("llamafile upgrade keeps the weights byte for byte on a 64 KiB boundary, and unzip -t accepts it", async () => {
  const { old, path, run } = await upgrade();
  assert.match(
    run.stderr,
    /^llamafile upgrade: wrote .*new\.llamafile \([\d.]+ MB, \d+ entries; runtimes for linux-x64\)$/m,
  );
  const test = await tool("unzip", ["-t", path]);
  assert.equal(test.code, 0, test.stdout + test.stderr);
  assert.match(test.stdout, /No errors detected/);

  const oldWeights = (await readZipDirectory(old)).entries.find((e) =>
    e.name === "stories260K.gguf"
  )!;
  const weights = (await readZipDirectory(path)).entries.find((e) =>
    e.name === "stories260K.gguf"
  )!;
  assert.equal(oldWeights.dataOffset % 65536, 4096, "the old file's weights were 4 KiB aligned");
  assert.equal(weights.method, 0);
  assert.equal(weights.dataOffset % 65536, 0);
  const original = await Deno.readFile(STORIES);
  const bytes = await Deno.readFile(path);
  assert.deepEqual(
    bytes.subarray(weights.dataOffset, weights.dataOffset + original.length),
    original,
  );
  // The entry's SHA-256 as Info-ZIP extracts it, and as the manifest records it.
  const unzipped = await new Deno.Command("unzip", {
    args: ["-p", path, "stories260K.gguf"],
    stdin: "null",
  }).output();
  assert.equal(sha256(unzipped.stdout), sha256(original));
  const manifest = parseManifest(decoder.decode(
    await readEntryBytes(
      path,
      (await readZipDirectory(path)).entries.find((e) => e.name === MANIFEST_NAME)!,
    ),
  ));
  assert.equal(manifest.get("stories260K.gguf"), sha256(original));
});

Deno.test("llamafile upgrade swaps the runtime and keeps .args and the other entries", async () => {
  const { old, path } = await upgrade();
  const directory = await readZipDirectory(path);
  const names = directory.entries.map((e) => e.name);
  assert.deepEqual(names.slice(0, 5), [
    ".args",
    "runtime/version.json",
    "runtime/app.js",
    "runtime/app.script.js",
    "runtime/linux-x64/deno",
  ]);
  assert.deepEqual(names.slice(-4), [
    "stories260K.gguf",
    "README.txt",
    "docs/LICENSE",
    MANIFEST_NAME,
  ]);
  // .args byte for byte; the other entries with their contents, methods and modes.
  assert.equal(await entrySha256(path, ".args"), await entrySha256(old, ".args"));
  const entry = (name: string) => directory.entries.find((e) => e.name === name)!;
  assert.equal(decoder.decode(await readEntryBytes(path, entry("README.txt"))), README);
  assert.equal(entry("README.txt").method, 8);
  assert.equal(decoder.decode(await readEntryBytes(path, entry("docs/LICENSE"))), "MIT\n");
  assert.equal(entry("docs/LICENSE").mode, 0o600);
  // This version's runtime, none of the old one.
  assert.ok(!names.includes("runtime/linux-x64/app.js"));
  assert.equal(
    await entrySha256(path, "runtime/linux-x64/deno"),
    sha256(await Deno.readFile(Deno.execPath())),
  );
  assert.ok(names.includes("runtime/linux-x64/lib/libllama.v0.5.0.so"));
  const version = JSON.parse(
    decoder.decode(await readEntryBytes(path, entry("runtime/version.json"))),
  );
  assert.deepEqual(version, {
    llamafile: VERSION,
    "llama.cpp": "v0.5.0",
    deno: Deno.version.deno,
    platforms: ["linux-x64"],
  });
  const head = decoder.decode((await Deno.readFile(path)).subarray(0, 10));
  assert.equal(head, "#!/bin/sh\n");
});

Deno.test("an upgraded llamafile runs with the old .args and prints the reference text", async () => {
  const { path } = await upgrade();
  const cache = `${dir}/cache`;
  await Deno.mkdir(cache);
  const run = await tool(path, ["-p", "Once upon a time"], { XDG_CACHE_HOME: cache });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, STORIES_GREEDY);
});

Deno.test("llamafile upgrade in place of a current llamafile gives the same bytes", async () => {
  const { path } = await upgrade();
  const copy = `${dir}/again.llamafile`;
  await Deno.copyFile(path, copy);
  const run = await llamafile(["upgrade", copy, "-o", copy]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(sha256(await Deno.readFile(copy)), sha256(await Deno.readFile(path)));
  const leftovers: string[] = [];
  for await (const item of Deno.readDir(dir)) {
    if (item.name.includes(".tmp")) leftovers.push(item.name);
  }
  assert.deepEqual(leftovers, []);
  await Deno.remove(copy);
});

Deno.test("llamafile upgrade reports bad inputs in one line and writes nothing", async () => {
  await Deno.writeFile(
    `${dir}/plain.zip`,
    new Uint8Array([0x50, 0x4b, 5, 6, ...new Array(18).fill(0)]),
  );
  const cases: [string[], number, RegExp][] = [
    [
      [`${dir}/nope.llamafile`, "-o", `${dir}/out`],
      1,
      /^llamafile: Cannot upgrade ".*nope\.llamafile": no such file$/,
    ],
    [
      [STORIES, "-o", `${dir}/out`],
      1,
      /^llamafile: Cannot upgrade ".*stories260K\.gguf": it is a GGUF, not a llamafile \(make one with llamafile pack -m\)$/,
    ],
    [
      [`${dir}/plain.zip`, "-o", `${dir}/out`],
      1,
      /^llamafile: Cannot upgrade ".*plain\.zip": it holds no \.gguf entry, so no weights to keep$/,
    ],
    [[`${MODELS}/stories260K.gguf`], 2, /^llamafile: upgrade needs the output: -o NEW\.llamafile$/],
    [
      [STORIES, "-o", `${dir}/out`, "--platform", "beos-x64"],
      2,
      /^llamafile: Invalid value "beos-x64" for --platform: Unknown platform "beos-x64"/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const run = await llamafile(["upgrade", ...args]);
    assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr.split("\n")[0]!, pattern);
    assert.equal(run.stderr.trimEnd().split("\n").length, code === 2 ? 2 : 1, run.stderr);
    assert.equal(run.stdout, "");
  }
  await assert.rejects(Deno.stat(`${dir}/out`), Deno.errors.NotFound);
});
