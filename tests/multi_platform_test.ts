/**
 * One llamafile for two platforms: `pack --platform linux-x64,linux-arm64` (the arm64 `deno`
 * and libraries come from their pinned npm packages), run from a read-only folder on this
 * x86-64 machine and, for arm64, under Debian's `qemu-aarch64-static` with the arm64 C library
 * of `libc6-arm64-cross` (`QEMU_LD_PREFIX`). Costs one two-platform pack (~9 s, a first run
 * fetches ~48 MB from npm) and one emulated run (~11 s).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { npmPackageDir } from "../lib/onefile/npm_package.ts";
import { PLATFORMS } from "../lib/onefile/platforms.ts";
import { MANIFEST_NAME, parseManifest } from "../lib/onefile/zip_format.ts";
import { readEntryBytes, readZipDirectory } from "../lib/onefile/zip_reader.ts";
import { hostRuntimeFileCount, STORIES, STORIES_GREEDY, taskArgs } from "./helpers.ts";

const decoder = new TextDecoder();
const PROMPT = "Once upon a time";
const QEMU_LD_PREFIX = "/usr/aarch64-linux-gnu";
const NOBODY = 65534;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const dir = await Deno.makeTempDir({ prefix: "multi_platform_test_" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.chmodSync(`${dir}/ro`, 0o755);
  } catch {
    // never made: the pack failed
  }
  Deno.removeSync(dir, { recursive: true });
});
// Others (nobody, below) must reach the files in it.
await Deno.chmod(dir, 0o755);

let packed: Promise<string> | null = null;

/** Packs stories260K for linux-x64 and linux-arm64 once, into a read-only folder. */
function llamafile(): Promise<string> {
  packed ??= (async () => {
    await Deno.writeTextFile(`${dir}/A`, "-n 40 --temp 0 -t 1 --no-display-prompt ...\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: taskArgs([
        "pack",
        "-m",
        STORIES,
        "--args",
        `${dir}/A`,
        "--platform",
        "linux-x64,linux-arm64",
        "-o",
        `${dir}/two.llamafile`,
      ]),
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    await Deno.mkdir(`${dir}/ro`);
    await Deno.rename(`${dir}/two.llamafile`, `${dir}/ro/two.llamafile`);
    await Deno.chmod(`${dir}/ro/two.llamafile`, 0o555);
    await Deno.chmod(`${dir}/ro`, 0o555);
    return `${dir}/ro/two.llamafile`;
  })();
  return packed;
}

let caches = 0;
/** A fresh cache home that the user running the llamafile may write. */
async function freshCache(): Promise<string> {
  const path = `${dir}/cache${++caches}`;
  await Deno.mkdir(path);
  if (Deno.uid() === 0) await Deno.chown(path, NOBODY, NOBODY);
  return path;
}

/**
 * Runs the llamafile from its read-only folder (as `nobody` when we are root, so that the
 * folder's mode binds), with `env` added.
 */
async function run(path: string, args: string[], env: Record<string, string>): Promise<Run> {
  const asNobody = Deno.uid() === 0
    ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"]
    : [];
  const [cmd, ...rest] = [...asNobody, path, ...args];
  const start = performance.now();
  const out = await new Deno.Command(cmd!, {
    args: rest,
    cwd: `${dir}/ro`,
    stdin: "null",
    env: { NO_COLOR: "1", HOME: "/nonexistent", ...env },
  }).output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - start,
  };
}

/** The one runtime folder under a cache home. */
async function runtimeFolder(cache: string): Promise<string> {
  const names: string[] = [];
  for await (const item of Deno.readDir(`${cache}/llamafile`)) names.push(item.name);
  assert.equal(names.length, 1, names.join(", "));
  return `${cache}/llamafile/${names[0]}`;
}

/** `e_machine` of an ELF file: 62 x86-64, 183 AArch64. */
async function elfMachine(path: string): Promise<number> {
  const head = (await Deno.readFile(path)).subarray(0, 20);
  assert.deepEqual([...head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${path} is an ELF file`);
  return head[18]! | (head[19]! << 8);
}

Deno.test("pack --platform linux-x64,linux-arm64 stores both runtimes, the weights once, and info lists them", async () => {
  const path = await llamafile();
  const directory = await readZipDirectory(path);
  const names = directory.entries.map((e) => e.name);
  assert.equal(names.filter((n) => n.endsWith(".gguf")).length, 1, "one copy of the weights");
  for (const platform of ["linux-x64", "linux-arm64"]) {
    assert.ok(names.includes(`runtime/${platform}/deno`), platform);
    assert.ok(names.includes(`runtime/${platform}/lib/libllama.v0.5.0.so`), platform);
  }
  assert.ok(names.some((n) => /^runtime\/linux-arm64\/lib\/libggml-cpu-armv8\.0_1\.so$/.test(n)));
  const weights = directory.entries.find((e) => e.name === "stories260K.gguf")!;
  assert.equal(weights.dataOffset % 65536, 0);

  const unzip = await new Deno.Command("unzip", { args: ["-t", path], stdin: "null" }).output();
  assert.equal(unzip.code, 0, decoder.decode(unzip.stdout));

  const info = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(["info", path]),
    stdin: "null",
  }).output();
  const text = decoder.decode(info.stdout);
  assert.equal(info.code, 0, decoder.decode(info.stderr));
  assert.match(text, /^platforms: +linux-x64, linux-arm64$/m);
  assert.match(
    text,
    new RegExp(
      `^ {2}linux-x64: +${hostRuntimeFileCount()} files, [\\d.]+ MB \\([\\d.]+ MB stored\\)$`,
      "m",
    ),
  );
  assert.match(text, /^ {2}linux-arm64: +12 files, [\d.]+ MB \([\d.]+ MB stored\)$/m);
  assert.match(text, /^ {2}shared: +2 files, [\d.]+ [KM]B \([\d.]+ [KM]B stored\)$/m);
});

Deno.test("a two-platform llamafile prints the reference text on x86-64 and under qemu-aarch64, from a read-only folder", async () => {
  const path = await llamafile();

  const x64Cache = await freshCache();
  const x64 = await run(path, ["-p", PROMPT], { XDG_CACHE_HOME: x64Cache });
  assert.equal(x64.code, 0, x64.stderr);
  assert.equal(x64.stdout, STORIES_GREEDY);
  assert.equal(await elfMachine(`${await runtimeFolder(x64Cache)}/deno`), 62);

  const armCache = await freshCache();
  const arm = await run(path, ["-p", PROMPT], {
    XDG_CACHE_HOME: armCache,
    LLAMAFILE_PLATFORM: "linux-arm64",
    LLAMAFILE_EMULATOR: "qemu-aarch64-static",
    QEMU_LD_PREFIX,
  });
  console.log(`x86-64 first run ${x64.ms.toFixed(0)} ms, arm64 under qemu ${arm.ms.toFixed(0)} ms`);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(arm.stdout, STORIES_GREEDY);
  const armFolder = await runtimeFolder(armCache);
  assert.equal(await elfMachine(`${armFolder}/deno`), 183);
  assert.equal(await elfMachine(`${armFolder}/lib/libllama.v0.5.0.so`), 183);
  assert.notEqual(armFolder.split("/").at(-1), (await runtimeFolder(x64Cache)).split("/").at(-1));
  // qemu-user does not emulate seccomp(2): the arm64 table is built and refused with ENOSYS,
  // and the app says so in its one warning line (Deno's permissions still apply), after the
  // launcher's line about extracting the arm64 runtime.
  const lines = arm.stderr.trimEnd().split("\n");
  assert.match(lines[0]!, /^llamafile: first run: extracting the linux-arm64 runtime \(/);
  assert.deepEqual(lines.slice(1, 2), [
    "llamafile: warning: kernel sandbox is off (the kernel does not support seccomp(SECCOMP_SET_MODE_FILTER) for aarch64: ENOSYS); only Deno permissions apply",
  ]);
  assert.match(lines[2]!, /^llamafile: prompt 5 tokens in .*, generated 40 tokens in /);
  assert.equal(lines.length, 3, arm.stderr);

  // Nothing was written beside the llamafile.
  const listing: string[] = [];
  for await (const item of Deno.readDir(`${dir}/ro`)) listing.push(item.name);
  assert.deepEqual(listing, ["two.llamafile"]);
});

Deno.test("the launcher takes the runtime uname names, or LLAMAFILE_PLATFORM's whatever uname says", async () => {
  const path = await llamafile();
  await Deno.mkdir(`${dir}/fake`, { recursive: true });
  /** The cache folder the launcher would run from, with `uname -sm` saying `uname`. */
  const picked = async (uname: string | null, env: Record<string, string> = {}) => {
    await Deno.writeTextFile(`${dir}/fake/uname`, `#!/bin/sh\necho '${uname}'\n`, { mode: 0o755 });
    const out = await new Deno.Command(path, {
      args: ["-p", PROMPT],
      stdin: "null",
      env: {
        ...(uname !== null && { PATH: `${dir}/fake:${Deno.env.get("PATH")}` }),
        LLAMAFILE_LAUNCHER_DRY_RUN: "1",
        XDG_CACHE_HOME: `${dir}/unused`,
        ...env,
      },
    }).output();
    return {
      code: out.code,
      folder: decoder.decode(out.stdout).split("\n")[0]!.split("/").at(-2),
      stderr: decoder.decode(out.stderr),
    };
  };
  const native = await picked(null);
  const arm = await picked("Linux aarch64");
  assert.equal(native.code, 0, native.stderr);
  assert.equal(arm.code, 0, arm.stderr);
  assert.notEqual(native.folder, arm.folder);
  assert.equal((await picked("Linux x86_64")).folder, native.folder);
  assert.equal((await picked(null, { LLAMAFILE_PLATFORM: "linux-arm64" })).folder, arm.folder);
  assert.equal(
    (await picked("Linux aarch64", { LLAMAFILE_PLATFORM: "linux-x64" })).folder,
    native.folder,
  );
  const riscv = await picked("Linux riscv64");
  assert.equal(riscv.code, 1);
  assert.equal(
    riscv.stderr,
    "llamafile: Cannot run on Linux riscv64: this llamafile holds runtimes for linux-x64, linux-arm64 only\n",
  );
});

Deno.test("the arm64 runtime is the pinned npm packages' files, byte for byte", async () => {
  const path = await llamafile();
  const directory = await readZipDirectory(path);
  const manifest = parseManifest(decoder.decode(
    await readEntryBytes(path, directory.entries.find((e) => e.name === MANIFEST_NAME)!),
  ));
  const { deno, llama } = PLATFORMS["linux-arm64"]!;
  const hash = async (file: string) =>
    createHash("sha256").update(await Deno.readFile(file)).digest("hex");
  // Found where pack found them (node_modules or the npm cache): no fetch here.
  const denoDir = await npmPackageDir(deno);
  const llamaDir = await npmPackageDir(llama);
  assert.equal(manifest.get("runtime/linux-arm64/deno"), await hash(`${denoDir}/deno`));
  assert.equal(
    manifest.get("runtime/linux-arm64/lib/libllama.v0.5.0.so"),
    await hash(`${llamaDir}/${llama.libDir}/libllama.v0.5.0.so`),
  );
});
