/**
 * `llamafile pack`, end to end through `launch.ts` (what `deno task llamafile pack` runs): the
 * archive Info-ZIP sees, alignment, the manifest, determinism, append-only `--add`, ZIP64 for
 * weights over 4 GiB, and the errors.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { libraryDir } from "../ffi/library_path.ts";
import { bundleApp } from "../lib/onefile/app_bundle.ts";
import { GgmlType, GgufType, readGguf } from "../lib/engine/gguf_reader.ts";
import { encodeGgufHeader } from "../bench/gguf_writer.ts";
import { cliPermissionFlags } from "../lib/sandbox/permissions.ts";
import { resolveWeights } from "../lib/onefile/llamafile_archive.ts";
import { MANIFEST_NAME, parseManifest } from "../lib/onefile/zip_format.ts";
import { readEntryBytes, readEntryChunks, readZipDirectory } from "../lib/onefile/zip_reader.ts";
import {
  hostRuntimeFileCount,
  MODELS,
  ROOT,
  STORIES,
  STORIES_GREEDY,
  taskArgs,
} from "./helpers.ts";

const decoder = new TextDecoder();
const ARGS = "-n 40 --temp 0 -t 1 --no-display-prompt ...\n";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno task llamafile ARGS` the way the task does (launch.ts picks the flags). */
async function llamafile(args: string[], cwd = ROOT): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(args),
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function tool(cmd: string, args: string[]): Promise<Run> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", env: { LC_ALL: "C" } }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

const dir = await Deno.makeTempDir({ prefix: "pack_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let packed: Promise<string> | null = null;

/** Packs stories260K with `.args` once for the tests of this file. */
function packStories(): Promise<string> {
  packed ??= (async () => {
    await Deno.writeTextFile(`${dir}/A`, ARGS);
    const out = `${dir}/s.llamafile`;
    const run = await llamafile(["pack", "-m", STORIES, "--args", `${dir}/A`, "-o", out]);
    assert.equal(run.code, 0, run.stderr);
    return out;
  })();
  return packed;
}

async function sha256File(path: string): Promise<string> {
  using file = await Deno.open(path);
  const hash = createHash("sha256");
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

Deno.test("bundleApp() makes a loader and one script that run with --cached-only from an empty folder, no node_modules, no network", async () => {
  await Deno.mkdir(`${dir}/bundle/empty`, { recursive: true });
  const { loader: app, script } = await bundleApp(`${dir}/bundle`);
  assert.deepEqual([app, script], [`${dir}/bundle/app.js`, `${dir}/bundle/app.script.js`]);
  assert.ok((await Deno.readTextFile(app)).length < 2000, "the loader is small");
  const text = await Deno.readTextFile(script);
  assert.ok(!/\bfrom ["'](npm|jsr|https?|node):/.test(text), "no static imports left");
  assert.ok(!/\bimport\.meta\b/.test(text), "import.meta comes from the loader");
  assert.match(text, /node_modules\/hono\//, "hono is inlined");
  assert.match(text, /node_modules\/@huggingface\/jinja\//, "@huggingface/jinja is inlined");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--cached-only",
      ...cliPermissionFlags(),
      app,
      "-m",
      STORIES,
      "-p",
      "Once upon a time",
      "-n",
      "40",
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
    ],
    cwd: `${dir}/bundle/empty`,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: `${dir}/bundle/empty`,
      DENO_DIR: `${dir}/bundle/deno_dir`,
      LLAMAFILE_LIBDIR: libraryDir(),
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.equal(decoder.decode(out.stdout), STORIES_GREEDY);
});

Deno.test("pack writes a sh launcher and a ZIP that unzip -t accepts, weights stored on a 64 KiB boundary", async () => {
  const path = await packStories();
  const head = decoder.decode((await Deno.readFile(path)).subarray(0, 64));
  assert.ok(head.startsWith("#!/bin/sh\n"), head);
  assert.equal((await Deno.stat(path)).mode! & 0o111, 0o111, "executable");

  const test = await tool("unzip", ["-t", path]);
  assert.equal(test.code, 0, test.stdout + test.stderr);
  assert.match(test.stdout, /No errors detected/);
  const info = await tool("zipinfo", [path]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^-.* stor .* stories260K\.gguf$/m);
  assert.match(info.stdout, /^-.* defN .* runtime\/linux-x64\/deno$/m);

  const directory = await readZipDirectory(path);
  const names = directory.entries.map((e) => e.name);
  assert.deepEqual(names.slice(0, 5), [
    ".args",
    "runtime/version.json",
    "runtime/app.js",
    "runtime/app.script.js",
    "runtime/linux-x64/deno",
  ]);
  assert.ok(names.includes("runtime/linux-x64/lib/libllama.v0.5.0.so"));
  assert.ok(names.includes("runtime/linux-x64/lib/libggml-base.so"));
  assert.ok(names.some((n) => n.startsWith("runtime/linux-x64/lib/libggml-cpu-")));
  assert.ok(!names.some((n) => n.includes("libllama-common") || n.endsWith(".node")));
  assert.equal(names.at(-1), MANIFEST_NAME);
  const weights = directory.entries.find((e) => e.name === "stories260K.gguf")!;
  assert.equal(weights.method, 0);
  assert.equal(weights.dataOffset % 65536, 0);
  // The bytes at the data offset are the GGUF, unchanged.
  const whole = await Deno.readFile(path);
  const original = await Deno.readFile(STORIES);
  assert.deepEqual(
    whole.subarray(weights.dataOffset, weights.dataOffset + original.length),
    original,
  );
  const args = directory.entries.find((e) => e.name === ".args")!;
  assert.equal(decoder.decode(await readEntryBytes(path, args)), ARGS);
  const version = JSON.parse(decoder.decode(await readEntryBytes(path, directory.entries[1]!)));
  assert.deepEqual(version, {
    llamafile: version.llamafile,
    "llama.cpp": "v0.5.0",
    deno: Deno.version.deno,
    platforms: ["linux-x64"],
  });
});

Deno.test("pack writes a SHA-256 manifest covering every other entry", async () => {
  const path = await packStories();
  const directory = await readZipDirectory(path);
  const manifest = parseManifest(decoder.decode(
    await readEntryBytes(path, directory.entries.find((e) => e.name === MANIFEST_NAME)!),
  ));
  const others = directory.entries.filter((e) => e.name !== MANIFEST_NAME);
  assert.deepEqual([...manifest.keys()].sort(), others.map((e) => e.name).sort());
  using file = await Deno.open(path);
  for (const entry of others) {
    const hash = createHash("sha256");
    for await (const chunk of readEntryChunks(file, entry)) hash.update(chunk);
    assert.equal(manifest.get(entry.name), hash.digest("hex"), entry.name);
  }
  assert.equal(manifest.get("runtime/linux-x64/deno"), await sha256File(Deno.execPath()));
  assert.equal(manifest.get("stories260K.gguf"), await sha256File(STORIES));
});

Deno.test("pack is deterministic: the same inputs give the same bytes", async () => {
  const first = await packStories();
  const second = `${dir}/again.llamafile`;
  const run = await llamafile([
    "pack",
    "-m",
    STORIES,
    "--arg",
    "-n",
    "--arg",
    "40",
    "--arg",
    "--temp",
    "--arg",
    "0",
    "-o",
    second,
  ]);
  assert.equal(run.code, 0, run.stderr);
  // --arg words make another .args: pack the same way a second time to compare.
  await Deno.writeTextFile(`${dir}/A2`, ARGS);
  const third = `${dir}/third.llamafile`;
  const again = await llamafile(["pack", "-m", STORIES, "--args", `${dir}/A2`, "-o", third]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await sha256File(third), await sha256File(first));
  assert.notEqual(await sha256File(second), await sha256File(first));
  // Plain progress lines when stderr is not a terminal, one per entry.
  assert.match(
    again.stderr,
    /^llamafile pack: stories260K\.gguf \(1\.2 MB, stored at offset \d+\)$/m,
  );
  // The runtime's files, .args, the app (loader and script), the version, the manifest, the weights.
  const entries = hostRuntimeFileCount() + 6;
  assert.match(
    again.stderr,
    new RegExp(
      `^llamafile pack: wrote .*third\\.llamafile \\(\\d+\\.\\d MB, ${entries} entries; runtimes for linux-x64\\)$`,
      "m",
    ),
  );
  assert.ok(!again.stderr.includes("\r"));
  await Deno.remove(second);
  await Deno.remove(third);
});

Deno.test("pack --add appends without rewriting a byte, and the newest central directory wins", async () => {
  const copy = `${dir}/add.llamafile`;
  await Deno.copyFile(await packStories(), copy);
  const before = await Deno.readFile(copy);
  await Deno.writeTextFile(`${dir}/notes.txt`, "hello\n");
  const run = await llamafile([
    "pack",
    "--add",
    `${MODELS}/mmproj-tinygemma3.gguf`,
    `${dir}/notes.txt`,
    copy,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const after = await Deno.readFile(copy);
  assert.ok(after.length > before.length);
  assert.deepEqual(after.subarray(0, before.length), before, "old bytes untouched");

  const directory = await readZipDirectory(copy);
  const projector = directory.entries.find((e) => e.name === "mmproj-tinygemma3.gguf")!;
  assert.equal(projector.method, 0);
  assert.equal(projector.dataOffset % 65536, 0);
  assert.ok(projector.localHeaderOffset >= before.length);
  const manifest = parseManifest(decoder.decode(
    await readEntryBytes(copy, directory.entries.find((e) => e.name === MANIFEST_NAME)!),
  ));
  assert.equal(
    manifest.get("mmproj-tinygemma3.gguf"),
    await sha256File(`${MODELS}/mmproj-tinygemma3.gguf`),
  );
  assert.equal(manifest.get("notes.txt"), createHash("sha256").update("hello\n").digest("hex"));
  assert.equal(manifest.size, directory.entries.length - 1);
  const test = await tool("unzip", ["-t", copy]);
  assert.equal(test.code, 0, test.stdout + test.stderr);

  const info = await llamafile(["info", copy]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(
    info.stdout,
    // An entry added with --add: the projector, but no libmtmd (only pack --mmproj carries it).
    /projector: +mmproj-tinygemma3\.gguf at offset \d+ \(libmtmd for no platform\)\n +architecture: +clip \(multimodal projector\)/,
  );
  assert.match(info.stdout, /weights: +stories260K\.gguf at offset \d+\n +architecture: +llama/);
  assert.match(info.stdout, /^runtime: +llamafile\.ts \S+, deno \S+, llama\.cpp v0\.5\.0$/m);
  assert.match(
    info.stdout,
    new RegExp(
      `^platforms: +linux-x64\\n {2}linux-x64: +${hostRuntimeFileCount()} files, [\\d.]+ MB \\([\\d.]+ MB stored\\)\\n {2}shared: +2 files, `,
      "m",
    ),
  );
  assert.match(info.stdout, /^\.args: +-n 40 --temp 0 -t 1 --no-display-prompt \.\.\.$/m);
  assert.match(info.stdout, /^ +\d+ +1185376 +1185376 +65536\+? +store +stories260K\.gguf$/m);
  assert.match(info.stdout, /^ +\d+ +95\d{6} +\d+ +\d+ +deflate +runtime\/linux-x64\/deno$/m);
  assert.match(
    info.stdout,
    /quant type: +F32\n +context length: +2048\n +chat template: +no\n +vocab size: +512/,
  );
  await Deno.remove(copy);
});

Deno.test("pack --mmproj stores the projector beside the weights and names both in .args", async () => {
  const out = `${dir}/vision.llamafile`;
  await Deno.writeTextFile(`${dir}/V`, "--temp 0 -n 40 -t 1 --no-display-prompt\n");
  const run = await llamafile([
    "pack",
    "-m",
    STORIES,
    "--mmproj",
    `${MODELS}/mmproj-tinygemma3.gguf`,
    "--args",
    `${dir}/V`,
    "-o",
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const directory = await readZipDirectory(out);
  for (const name of ["stories260K.gguf", "mmproj-tinygemma3.gguf"]) {
    const entry = directory.entries.find((e) => e.name === name)!;
    assert.equal(entry.method, 0, name);
    assert.equal(entry.dataOffset % 65536, 0, name);
  }
  const args = directory.entries.find((e) => e.name === ".args")!;
  assert.equal(
    decoder.decode(await readEntryBytes(out, args)),
    "-m stories260K.gguf\n--mmproj mmproj-tinygemma3.gguf\n--temp 0 -n 40 -t 1 --no-display-prompt\n",
  );
  // Two .gguf entries, and the .args -m picks the weights.
  await Deno.mkdir(`${dir}/vision-cache`);
  const ran = await new Deno.Command(out, {
    args: ["-p", "Once upon a time"],
    cwd: `${dir}/vision-cache`,
    stdin: "null",
    env: { XDG_CACHE_HOME: `${dir}/vision-cache` },
  }).output();
  assert.equal(ran.code, 0, decoder.decode(ran.stderr));
  assert.equal(decoder.decode(ran.stdout), STORIES_GREEDY);
  await Deno.remove(out);
});

Deno.test("pack --add refuses .args, the manifest and runtime names and leaves the file as it was", async () => {
  const copy = `${dir}/refuse.llamafile`;
  await Deno.copyFile(await packStories(), copy);
  const before = await sha256File(copy);
  await Deno.writeTextFile(`${dir}/.args`, "-n 1\n");
  const run = await llamafile(["pack", "--add", `${dir}/.args`, copy]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^llamafile: Cannot add ".*\/\.args" as "\.args": the launcher's defaults were built from the packed \.args; pack again with --args\n$/,
  );
  const missing = await llamafile(["pack", "--add", `${dir}/none.gguf`, copy]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot add ".*none\.gguf": no such file/);
  assert.equal(await sha256File(copy), before);
  await Deno.remove(copy);
});

Deno.test("pack reports bad inputs in one line and writes nothing", async () => {
  await Deno.writeTextFile(`${dir}/notes.gguf`, "not a model");
  await Deno.writeTextFile(`${dir}/bad.args`, "-n 40 --frobnicate\n");
  await Deno.writeTextFile(`${dir}/open.args`, "-p 'open\n");
  const cases: [string[], number, RegExp][] = [
    [
      ["-m", `${dir}/notes.gguf`, "-o", `${dir}/x.llamafile`],
      1,
      /^llamafile: Cannot pack model ".*notes\.gguf": .*bad GGUF magic/,
    ],
    [
      ["-m", `${dir}/none.gguf`, "-o", `${dir}/x.llamafile`],
      1,
      /^llamafile: Cannot pack model ".*none\.gguf": no such file/,
    ],
    [
      ["-m", STORIES, "--args", `${dir}/bad.args`, "-o", `${dir}/x.llamafile`],
      2,
      /^llamafile: Cannot use ".*bad\.args" as \.args: Unknown option "--frobnicate"/,
    ],
    [
      ["-m", STORIES, "--args", `${dir}/open.args`, "-o", `${dir}/x.llamafile`],
      2,
      /unterminated single quote on line 1/,
    ],
    [
      ["-m", STORIES, "--args", `${dir}/none.args`, "-o", `${dir}/x.llamafile`],
      1,
      /Cannot read --args file ".*none\.args": no such file/,
    ],
    [
      ["-m", STORIES, "-o", `${dir}/x.llamafile`, "--align", "100"],
      2,
      /Invalid value "100" for --align/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const run = await llamafile(["pack", ...args]);
    assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
    assert.ok(!/\n\s+at /.test(run.stderr), run.stderr);
  }
  const left = [];
  for await (const item of Deno.readDir(dir)) {
    if (item.name.includes("x.llamafile")) left.push(item.name);
  }
  assert.deepEqual(left, []);
});

Deno.test("pack stores weights over 4 GiB with ZIP64 sizes and offsets that read back", async () => {
  // A synthetic GGUF: one 4.5 GB F32 tensor of zeros, as a sparse file.
  const big = `${dir}/big.gguf`;
  const dims = [1024, 1_100_000];
  const { header, sizes } = encodeGgufHeader({
    metadata: [["general.architecture", { type: GgufType.STRING, value: "llama" }]],
    tensors: [{ name: "big", dims, type: GgmlType.F32, data: new Uint8Array(0) }],
  });
  {
    using file = await Deno.open(big, { write: true, create: true, truncate: true });
    await file.write(header);
    await file.truncate(header.length + sizes[0]!);
  }
  const out = `${dir}/big.llamafile`;
  try {
    const run = await llamafile(["pack", "-m", big, "-o", out]);
    assert.equal(run.code, 0, run.stderr);
    const stat = await Deno.stat(out);
    assert.ok(stat.size > 2 ** 32, `size ${stat.size}`);
    assert.ok(stat.blocks! * 512 < 2 ** 30, "the zeros stay holes in the output");

    const directory = await readZipDirectory(out);
    assert.equal(directory.zip64, true);
    const weights = directory.entries.find((e) => e.name === "big.gguf")!;
    assert.equal(weights.size, header.length + sizes[0]!);
    assert.equal(weights.dataOffset % 65536, 0);
    const manifest = directory.entries.find((e) => e.name === MANIFEST_NAME)!;
    assert.ok(manifest.localHeaderOffset > 2 ** 32, "an offset past 4 GiB");
    assert.ok(directory.centralDirectoryOffset > 2 ** 32);
    const lines = parseManifest(decoder.decode(await readEntryBytes(out, manifest)));
    assert.match(lines.get("big.gguf")!, /^[0-9a-f]{64}$/);
    // The weights resolve in place and their header reads back at that offset.
    const source = await resolveWeights(undefined, out);
    assert.deepEqual(source, { path: out, offset: weights.dataOffset, entry: "big.gguf" });
    const gguf = await readGguf(out, { offset: source!.offset });
    assert.deepEqual(gguf.tensors.map((t) => [t.name, t.dims]), [["big", dims]]);
    const info = await tool("zipinfo", [out]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`^-.* ${weights.size} .* stor .* big\\.gguf$`, "m"));
  } finally {
    await Deno.remove(big).catch(() => {});
    await Deno.remove(out).catch(() => {});
  }
});
