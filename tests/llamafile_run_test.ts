/**
 * A packed llamafile, run: the launcher under dash, bash, busybox sh and zsh, the runtime
 * cache (extracted once, concurrently safe, `$TMPDIR` fallback, never the weights), weights
 * mapped in place, `.args` defaults, the mode's permission flags, and the one-line errors of
 * mutated archives. Needs `unzip` (`zipinfo`), `busybox` and `zsh` (Debian packages).
 */
import assert from "node:assert/strict";
import {
  cliPermissionFlags,
  serverPermissionFlags,
  UNSECURE_PERMISSION_FLAGS,
} from "../lib/sandbox/permissions.ts";
import { addToLlamafile } from "../lib/onefile/pack.ts";
import { onPath } from "../lib/cli/launch_plan.ts";
import { readZipDirectory } from "../lib/onefile/zip_reader.ts";
import { MODELS, runCli, STORIES, STORIES_GREEDY, taskArgs, watchSandboxed } from "./helpers.ts";

const decoder = new TextDecoder();
const PROMPT = "Once upon a time";
const SHELLS = ["dash", "bash", "busybox sh", "zsh"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const dir = await Deno.makeTempDir({ prefix: "llamafile_run_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const work = `${dir}/elsewhere`;
await Deno.mkdir(work);

let packed: Promise<string> | null = null;

/** Packs stories260K with the issue's `.args` once for this file (through `launch.ts`). */
function llamafile(): Promise<string> {
  packed ??= (async () => {
    await Deno.writeTextFile(`${dir}/A`, "-n 40 --temp 0 -t 1 --no-display-prompt ...\n");
    const path = `${dir}/s.llamafile`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: taskArgs(["pack", "-m", STORIES, "--args", `${dir}/A`, "-o", path]),
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    return path;
  })();
  return packed;
}

let caches = 0;
/** A fresh, empty cache home. */
async function freshCache(): Promise<string> {
  const path = `${dir}/cache${++caches}`;
  await Deno.mkdir(path);
  return path;
}

interface RunOptions {
  shell?: string;
  cache: string;
  env?: Record<string, string>;
}

function spawn(path: string, args: string[], options: RunOptions): Deno.ChildProcess {
  const shell = options.shell?.split(" ") ?? [];
  const [cmd, ...rest] = [...shell, path, ...args];
  return new Deno.Command(cmd!, {
    args: rest,
    cwd: work,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { XDG_CACHE_HOME: options.cache, NO_COLOR: "1", ...options.env },
  }).spawn();
}

async function run(path: string, args: string[], options: RunOptions): Promise<Run> {
  const start = performance.now();
  const out = await spawn(path, args, options).output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - start,
  };
}

/** Every path under `root`, relative. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(at: string, prefix: string): Promise<void> {
    for await (const item of Deno.readDir(at)) {
      out.push(prefix + item.name);
      if (item.isDirectory) await walk(`${at}/${item.name}`, `${prefix}${item.name}/`);
    }
  }
  await walk(root, "");
  return out.sort();
}

Deno.test("a llamafile run from another folder prints what the plain GGUF prints; the second start is fast", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  const first = await run(path, ["-p", PROMPT], { cache });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, STORIES_GREEDY);
  const plain = await runCli([
    "-m",
    STORIES,
    "-p",
    PROMPT,
    "-n",
    "40",
    "--temp",
    "0",
    "-t",
    "1",
    "--no-display-prompt",
  ]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(first.stdout, plain.stdout);

  const warm = await run(path, ["-p", PROMPT], { cache });
  assert.equal(warm.stdout, STORIES_GREEDY);
  console.log(`first run ${first.ms.toFixed(0)} ms, warm start ${warm.ms.toFixed(0)} ms`);
  assert.ok(warm.ms < first.ms, `warm ${warm.ms} ms vs first ${first.ms} ms`);

  // One runtime folder, no temporary folder left, and no weights in it.
  const tree = await listTree(`${cache}/llamafile`);
  const top = tree.filter((p) => !p.includes("/"));
  assert.equal(top.length, 1, top.join(", "));
  assert.match(top[0]!, /^[0-9a-f]{16}$/);
  assert.ok(tree.includes(`${top[0]}/deno`) && tree.includes(`${top[0]}/app.js`));
  assert.ok(tree.includes(`${top[0]}/app.script.js`));
  assert.ok(tree.includes(`${top[0]}/lib/libllama.v0.5.0.so`));
  assert.ok(!tree.some((p) => p.endsWith(".gguf")), tree.join("\n"));
});

Deno.test("a launch starts V8 with our flags, then the user's DENO_V8_FLAGS, which win", async () => {
  // V8 prints every flag's value at start with --print-flag-values.
  const ours = ["--min-semi-space-size=8", "--no-sparkplug"];
  const theirs = ["--min-semi-space-size=2", "--sparkplug"];
  const cache = await freshCache();
  const path = await llamafile();
  const checkout = (env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: taskArgs(["--version"]),
      stdin: "null",
      env: { NO_COLOR: "1", ...env },
    }).output();
  for (const launch of ["llamafile", "deno task llamafile"]) {
    for (
      const [user, wanted, unwanted] of [
        ["--print-flag-values", ours, []],
        [["--print-flag-values", ...theirs].join(","), theirs, ours],
      ] as const
    ) {
      const env = { DENO_V8_FLAGS: user };
      const out = launch === "llamafile"
        ? await run(path, ["--version"], { cache, env })
        : await checkout(env).then((o) => ({
          code: o.code,
          stdout: decoder.decode(o.stdout),
          stderr: decoder.decode(o.stderr),
        }));
      assert.equal(out.code, 0, `${launch}: ${out.stderr}`);
      const flags = out.stdout.split("\n");
      for (const flag of wanted) {
        assert.ok(flags.includes(flag), `${launch} with ${user}: no ${flag}`);
      }
      for (const flag of unwanted) {
        assert.ok(!flags.includes(flag), `${launch} with ${user}: ${flag}`);
      }
      assert.match(out.stdout, /^llamafile /m);
    }
  }
});

Deno.test("the launcher extracts and runs under dash, bash, busybox sh and zsh", async () => {
  const path = await llamafile();
  for (const shell of SHELLS) {
    const cache = await freshCache();
    const cold = await run(path, ["-p", PROMPT], { shell, cache });
    assert.equal(cold.code, 0, `${shell}: ${cold.stderr}`);
    assert.equal(cold.stdout, STORIES_GREEDY, shell);
    const warm = await run(path, ["-p", PROMPT], { shell, cache });
    assert.equal(warm.stdout, STORIES_GREEDY, shell);
  }
});

Deno.test("two first runs at once both succeed and leave one runtime folder", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  const runs = await Promise.all([1, 2, 3].map(() => run(path, ["-p", PROMPT], { cache })));
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, STORIES_GREEDY);
  }
  const top = (await listTree(`${cache}/llamafile`)).filter((p) => !p.includes("/"));
  assert.equal(top.length, 1, top.join(", "));
  assert.ok(!(await listTree(`${cache}/llamafile/${top[0]}`)).some((p) => p.includes(".tmp.")));
});

Deno.test("the weights are mapped from the llamafile itself while it runs", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  await run(path, ["--version"], { cache }); // extract first: the launcher's pid becomes deno's
  const child = spawn(path, ["-p", PROMPT, "-n", "4000", "--ignore-eos", "-c", "4096"], { cache });
  let mapped = "";
  const deadline = Date.now() + 30_000;
  let status: Deno.CommandStatus | null = null;
  child.status.then((s) => (status = s));
  while (!mapped && status === null && Date.now() < deadline) {
    try {
      const maps = await Deno.readTextFile(`/proc/${child.pid}/maps`);
      mapped = maps.split("\n").find((line) => line.endsWith(` ${path}`)) ?? "";
    } catch {
      // exited
    }
    if (!mapped) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  await child.output();
  assert.ok(mapped, "no mapping of the llamafile seen");
  // A read-only shared mapping of the file itself: the weights are not copied anywhere.
  assert.match(mapped, / r--s /);
});

Deno.test(".args defaults apply first and the user's flags override them; -m finds entries and other llamafiles", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  const short = await run(path, ["-p", PROMPT, "-n", "5"], { cache });
  const plain = await runCli([
    "-m",
    STORIES,
    "-p",
    PROMPT,
    "-n",
    "5",
    "--temp",
    "0",
    "-t",
    "1",
    "--no-display-prompt",
  ]);
  assert.equal(short.code, 0, short.stderr);
  assert.equal(short.stdout, plain.stdout);
  assert.ok(short.stdout.length < STORIES_GREEDY.length && STORIES_GREEDY.startsWith(short.stdout));
  // The entry name, with no such file in the working folder.
  const named = await run(path, ["-m", "stories260K.gguf", "-p", PROMPT], { cache });
  assert.equal(named.stdout, STORIES_GREEDY, named.stderr);
  // Another llamafile's weights.
  const other = `${dir}/other.llamafile`;
  await Deno.copyFile(path, other);
  const fromOther = await run(path, ["-m", other, "-p", PROMPT], { cache });
  assert.equal(fromOther.stdout, STORIES_GREEDY, fromOther.stderr);
  // A plain GGUF on disk.
  const onDisk = await run(path, ["-m", `${MODELS}/stories260K.gguf`, "-p", PROMPT], { cache });
  assert.equal(onDisk.stdout, STORIES_GREEDY, onDisk.stderr);
  await Deno.remove(other);
});

Deno.test("the launcher falls back to $TMPDIR when the home cache cannot be written", async () => {
  const path = await llamafile();
  await Deno.writeTextFile(`${dir}/a-file`, "");
  const tmp = `${dir}/tmp`;
  await Deno.mkdir(tmp);
  await Deno.mkdir(`${dir}/home`, { recursive: true });
  const r = await run(path, ["-p", PROMPT], {
    cache: `${dir}/a-file/cache`,
    env: { HOME: `${dir}/home`, TMPDIR: tmp },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, STORIES_GREEDY);
  const uid = Deno.uid();
  const info = await Deno.stat(`${tmp}/llamafile-${uid}`);
  assert.equal(info.mode! & 0o777, 0o700);
  const top = (await listTree(`${tmp}/llamafile-${uid}`)).filter((p) => !p.includes("/"));
  assert.equal(top.length, 1);
});

Deno.test("the launcher picks each mode's permission flags from .args and the user's arguments", async () => {
  const path = await llamafile();
  const browser = onPath("xdg-open");
  const cases: [string[], string[]][] = [
    [["-p", PROMPT], cliPermissionFlags()],
    [["-p", "--server"], cliPermissionFlags()],
    [["-p", "--unsecure"], cliPermissionFlags()],
    [["--prompt", "--server"], cliPermissionFlags()],
    [["-f", "--server"], cliPermissionFlags()],
    [["-p=--server"], cliPermissionFlags()],
    [["--server"], serverPermissionFlags({ host: "127.0.0.1", port: 8080, browser })],
    [["--server", "--nobrowser"], serverPermissionFlags({ host: "127.0.0.1", port: 8080 })],
    [
      ["--server", "--host", "::1", "--port=9090"],
      serverPermissionFlags({ host: "::1", port: 9090, browser }),
    ],
    [
      ["--server", "--host=localhost", "--port", "0"],
      serverPermissionFlags({ host: "localhost", port: 0, browser }),
    ],
    [
      ["--server", "--host", "127.0.0.1,::1"],
      serverPermissionFlags({ host: "127.0.0.1,::1", port: 8080, browser }),
    ],
    [["--server", "--port", "70000"], cliPermissionFlags()],
    [["--prompt-cache", "c.bin", "-p", "x"], cliPermissionFlags({ promptCache: "c.bin" })],
    [["--server", "--unsecure"], [...UNSECURE_PERMISSION_FLAGS]],
  ];
  for (const shell of SHELLS) {
    for (const [args, flags] of cases) {
      const r = await run(path, args, {
        shell,
        cache: `${dir}/unused`,
        env: { LLAMAFILE_LAUNCHER_DRY_RUN: "1" },
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines[0], `${dir}/unused/llamafile/${lines[0]!.split("/").at(-2)}/deno`);
      assert.deepEqual(lines.slice(1, 4), ["run", "--no-config", "--cached-only"]);
      assert.deepEqual(lines.slice(4, 4 + flags.length), flags, `${shell} ${args.join(" ")}`);
      assert.match(lines[4 + flags.length]!, /\/app\.js$/);
      assert.deepEqual(lines.slice(5 + flags.length), args, `${shell} ${args.join(" ")}`);
    }
    const bad = await run(path, ["--server", "--host", ","], {
      shell,
      cache: `${dir}/unused`,
      env: { LLAMAFILE_LAUNCHER_DRY_RUN: "1" },
    });
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'llamafile: Cannot grant access to host ",": Deno permission lists cannot hold an empty name\n',
    );
  }
});

Deno.test("a packed llamafile runs -p --server and friends as the CLI, sandboxed, without --allow-net or --allow-all", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  await run(path, ["--version"], { cache }); // extract first: the launcher's pid becomes deno's
  await Deno.writeTextFile(`${work}/--server`, PROMPT); // what `-f --server` reads
  try {
    for (
      const words of [["-p", "--server"], ["-p", "--unsecure"], ["--prompt", "--server"], [
        "-f",
        "--server",
      ]]
    ) {
      const child = spawn(path, [...words, "-n", "3000", "--ignore-eos", "-c", "4096"], { cache });
      const seen = await watchSandboxed(child.pid);
      child.kill("SIGTERM");
      const out = await child.output();
      assert.ok(seen !== null, `${words.join(" ")} ended early: ${decoder.decode(out.stderr)}`);
      const flags = seen.cmdline.filter((w) => w.startsWith("--allow") || w === "--no-prompt");
      assert.deepEqual(flags, cliPermissionFlags(), words.join(" "));
      assert.ok(seen.seccomp.every((m) => m === 2), `${words.join(" ")}: ${seen.seccomp}`);
      // Not even Deno's cache databases: the llamafile's Deno directory has them as folders.
      assert.deepEqual(seen.writableFiles, [], words.join(" "));
    }
  } finally {
    await Deno.remove(`${work}/--server`);
  }
});

/** Overwrites bytes of `path` at `offset`. */
async function patch(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  using file = await Deno.open(path, { write: true });
  await file.seek(offset, Deno.SeekMode.Start);
  await file.write(bytes);
}

function assertOneLineError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code: ${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^llamafile: /);
  assert.match(lines[0]!, pattern);
}

Deno.test("a corrupt runtime payload fails its hash check and nothing is extracted", async () => {
  const path = await llamafile();
  const bad = `${dir}/bad-payload.llamafile`;
  await Deno.copyFile(path, bad);
  const app = (await readZipDirectory(bad)).entries.find((e) =>
    e.name === "runtime/app.script.js"
  )!;
  const at = app.dataOffset + Math.floor(app.compressedSize / 2);
  const original = (await Deno.readFile(bad)).subarray(at, at + 1);
  await patch(bad, at, new Uint8Array([original[0]! ^ 0x55]));
  const cache = await freshCache();
  const r = await run(bad, ["-p", PROMPT], { cache });
  // The first run says it extracts the runtime, then the one error line.
  const announced = /^llamafile: first run: extracting the linux-x64 runtime [^\n]*\n/;
  assert.match(r.stderr, announced);
  assertOneLineError(
    { ...r, stderr: r.stderr.replace(announced, "") },
    /^llamafile: Cannot extract the runtime from ".*bad-payload\.llamafile": entry "runtime\/app\.script\.js" fails its SHA-256 check \(the file is corrupt or truncated\)$/,
  );
  assert.deepEqual(await listTree(cache), ["llamafile"], "nothing extracted");
  await Deno.remove(bad);
});

Deno.test("mutated archives give one clear error line and exit 1", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  assert.equal((await run(path, ["--version"], { cache })).code, 0);
  const before = await listTree(cache);
  const directory = await readZipDirectory(path);
  const weights = directory.entries.find((e) => e.name === "stories260K.gguf")!;
  const size = directory.fileSize;
  const bytes = await Deno.readFile(path);
  /** Where `name` is written in the central directory. */
  const centralNameAt = (name: string) => {
    const needle = new TextEncoder().encode(name);
    for (let i = directory.centralDirectoryOffset; i < bytes.length - needle.length; i++) {
      if (needle.every((b, j) => bytes[i + j] === b)) return i;
    }
    throw new Error(`no ${name} in the central directory`);
  };
  const cases: [string, (p: string) => Promise<void>, string[], RegExp][] = [
    [
      "truncated",
      (p) => Deno.truncate(p, size - 200),
      [],
      /Cannot read archive ".*": end of central directory record not found \(not a ZIP archive, or truncated\)$/,
    ],
    [
      "cut in the weights",
      (p) => Deno.truncate(p, weights.dataOffset + 1000),
      [],
      /Cannot read archive ".*": end of central directory record not found/,
    ],
    [
      "corrupt central directory",
      (p) => patch(p, directory.centralDirectoryOffset, new Uint8Array([0x50, 0x4b, 9, 9])),
      [],
      /Cannot read archive ".*": central directory is corrupt/,
    ],
    [
      "no .gguf",
      async (p) => {
        const name = new TextEncoder().encode("stories260K.ggux");
        await patch(p, weights.localHeaderOffset + 30, name);
        await patch(p, centralNameAt("stories260K.gguf"), name);
      },
      [],
      /Cannot choose the weights of ".*": it holds no \.gguf entry$/,
    ],
    [
      "two .gguf",
      async (p) => {
        await addToLlamafile(p, [`${MODELS}/mmproj-tinygemma3.gguf`], { log: () => {} });
      },
      [],
      /Cannot choose the weights of ".*": it holds 2 \.gguf entries \("stories260K\.gguf", "mmproj-tinygemma3\.gguf"\); pass -m NAME$/,
    ],
    [
      "compressed weights",
      async (p) => {
        const name = centralNameAt("stories260K.gguf");
        await patch(p, name - 46 + 10, new Uint8Array([8, 0]));
        await patch(p, weights.localHeaderOffset + 8, new Uint8Array([8, 0]));
      },
      [],
      /Cannot load weights "stories260K\.gguf" from ".*": the entry is compressed \(method 8\); weights must be STORED to be read in place$/,
    ],
    [
      "misaligned weights",
      async (p) => {
        const view = new DataView(bytes.buffer, weights.localHeaderOffset + 28, 2);
        const extra = view.getUint16(0, true);
        await patch(
          p,
          weights.localHeaderOffset + 28,
          new Uint8Array([(extra - 1) & 0xff, (extra - 1) >> 8]),
        );
      },
      [],
      /Cannot load weights "stories260K\.gguf" from ".*": its data starts at byte \d+, not on a 32-byte boundary/,
    ],
    [
      "missing entry",
      async () => {},
      ["-m", "nope.gguf"],
      /Cannot load model "nope\.gguf": no such file, and ".*" has no entry of that name$/,
    ],
  ];
  for (const [what, mutate, args, pattern] of cases) {
    const copy = `${dir}/mutated.llamafile`;
    await Deno.copyFile(path, copy);
    await mutate(copy);
    const r = await run(copy, [...args, "-p", PROMPT], { cache });
    assertOneLineError(r, pattern);
    assert.deepEqual(await listTree(cache), before, `${what}: the cache changed`);
    await Deno.remove(copy);
  }
});

Deno.test("two .gguf entries work with -m NAME", async () => {
  const path = await llamafile();
  const copy = `${dir}/two.llamafile`;
  await Deno.copyFile(path, copy);
  await addToLlamafile(copy, [`${MODELS}/stories260K-chatml-test.gguf`], { log: () => {} });
  const cache = await freshCache();
  const r = await run(copy, ["-m", "stories260K-chatml-test.gguf", "-p", PROMPT], { cache });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, STORIES_GREEDY);
  await Deno.remove(copy);
});

Deno.test("a llamafile run on a platform it lacks says so in one line, naming the one it holds", async () => {
  const path = await llamafile();
  const fake = `${dir}/fake-uname`;
  await Deno.mkdir(fake, { recursive: true });
  const cases: [string | null, Record<string, string>, string][] = [
    [
      "Linux aarch64",
      {},
      "Cannot run on Linux aarch64 (linux-arm64): this llamafile holds a runtime for linux-x64 only",
    ],
    [
      "Darwin arm64",
      {},
      "Cannot run on Darwin arm64: this llamafile holds a runtime for linux-x64 only",
    ],
    ["", {}, "Cannot run on this system: this llamafile holds a runtime for linux-x64 only"],
    [
      null,
      { LLAMAFILE_PLATFORM: "linux-arm64" },
      "Cannot run on LLAMAFILE_PLATFORM=linux-arm64: this llamafile holds a runtime for linux-x64 only",
    ],
    [
      "Linux x86_64",
      { LLAMAFILE_PLATFORM: "bogus" },
      "Cannot run on LLAMAFILE_PLATFORM=bogus: this llamafile holds a runtime for linux-x64 only",
    ],
  ];
  for (const shell of SHELLS) {
    for (const [uname, env, message] of cases) {
      // `uname -sm` answers what a machine of that kind answers.
      await Deno.writeTextFile(`${fake}/uname`, `#!/bin/sh\necho '${uname}'\n`, { mode: 0o755 });
      const cache = await freshCache();
      const r = await run(path, ["-p", PROMPT], {
        shell,
        cache,
        env: { ...(uname !== null && { PATH: `${fake}:${Deno.env.get("PATH")}` }), ...env },
      });
      assert.equal(r.code, 1, `${shell} ${uname}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `llamafile: ${message}\n`, `${shell} ${uname}`);
      assert.deepEqual(await listTree(cache), [], "nothing extracted");
    }
  }
});

Deno.test("a llamafile truncated inside its launcher fails with one line, never exit 0", async () => {
  const path = await llamafile();
  const cache = await freshCache();
  // A warm cache: the truncated copies have the same runtime hash, so a launcher that ran on
  // would go straight to its exec.
  assert.equal((await run(path, ["--version"], { cache })).code, 0);
  const bytes = await Deno.readFile(path);
  const directory = await readZipDirectory(path);
  const launcherSize = Math.min(...directory.entries.map((e) => e.localHeaderOffset));
  const text = bytes.subarray(0, launcherSize);
  const shebangEnd = text.indexOf(0x0a) + 1; // "#!/bin/sh\n": a file cut there is an empty script
  // The trap line is whole once its closing brace is there (its newline need not be).
  const checkEnd = text.indexOf(0x0a, shebangEnd);
  // The script, then newline padding, then the group's closing "}\n" as the last two bytes.
  assert.deepEqual([...text.subarray(launcherSize - 3)], [0x0a, 0x7d, 0x0a]);
  const scriptEnd = text.subarray(0, launcherSize - 2).findLastIndex((b) => b !== 0x0a) + 1;
  // Line ends of the script (where a cut leaves whole commands: every third one), the
  // padding, and just before the closing brace; then points inside the trap line itself.
  const cuts = new Set<number>([checkEnd, scriptEnd, scriptEnd + 1, launcherSize - 2]);
  let line = 0;
  text.forEach((b, i) => {
    if (b === 0x0a && i > checkEnd && i < scriptEnd && line++ % 3 === 0) cuts.add(i + 1);
  });
  const inCheck: number[] = [];
  for (let at = shebangEnd + 1; at < checkEnd; at += 9) inCheck.push(at);
  const cut = `${work}/cut.llamafile`;
  const before = await listTree(work);
  const start = performance.now();
  const expected =
    `llamafile: Cannot run "${cut}": the file is truncated (shorter than its ${launcherSize}-byte launcher)\n`;
  let runs = 0;
  for (const at of [...[...cuts].sort((a, b) => a - b), ...inCheck]) {
    await Deno.writeFile(cut, bytes.subarray(0, at), { mode: 0o755 });
    for (const shell of SHELLS) {
      const r = await run(cut, ["-p", PROMPT], { shell, cache });
      runs++;
      const where = `${shell}, cut at byte ${at} of ${launcherSize}`;
      assert.notEqual(r.code, 0, where);
      assert.equal(r.stdout, "", where);
      if (at >= checkEnd) {
        assert.equal(r.code, 1, `${where}: ${r.stderr}`);
        assert.equal(r.stderr, expected, where);
      } else {
        // Inside the trap line itself: one compound command, so the shell's own syntax error
        // (one line; two for zsh inside a quote) and nothing ran.
        assert.ok(r.stderr.trimEnd().split("\n").length <= 2, `${where}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /^llamafile: /m, where);
      }
    }
  }
  assert.deepEqual(await listTree(work), [...before, "cut.llamafile"].sort(), "no file created");
  // Cut in the launcher's last byte (the newline after "}") or just past the launcher: the
  // script is whole and runs, and the archive's reader reports the truncation.
  for (const at of [launcherSize - 1, launcherSize]) {
    await Deno.writeFile(cut, bytes.subarray(0, at), { mode: 0o755 });
    const past = await run(cut, ["-p", PROMPT], { cache });
    assertOneLineError(
      past,
      /Cannot read archive ".*cut\.llamafile": end of central directory record not found/,
    );
  }
  await Deno.remove(cut);
  console.log(
    `${cuts.size + inCheck.length} cut points, ${runs} runs under ${SHELLS.length} shells in ${
      (performance.now() - start).toFixed(0)
    } ms`,
  );
});

/** Lavapipe as ggml's Vulkan device 0 (see tests/gpu_test.ts), with the usual shader cache. */
function lavapipe(): Record<string, string> {
  const home = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
  return { GGML_VK_VISIBLE_DEVICES: "0", MESA_SHADER_CACHE_DIR: home };
}

Deno.test("a llamafile packed without GPU backends runs -ngl 99 --gpu vulkan on the CPU, with one line", async () => {
  const out = await run(await llamafile(), ["-p", PROMPT, "-ngl", "99", "--gpu", "vulkan"], {
    cache: await freshCache(),
    env: lavapipe(),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, STORIES_GREEDY);
  assert.deepEqual(
    out.stderr.split("\n").filter((line) => line.startsWith("llamafile: warning:")),
    [
      "llamafile: warning: --gpu vulkan: the Vulkan backend (libggml-vulkan.so) is not installed (pack the llamafile with --gpu vulkan, or npm install @node-llama-cpp/linux-x64-vulkan@3.22.1); running on the CPU",
    ],
  );
});

Deno.test("pack --gpu vulkan adds the Vulkan backend to the runtime, and the llamafile offloads to lavapipe", async () => {
  const plain = (await Deno.stat(await llamafile())).size; // also writes the .args file A
  const path = `${dir}/v.llamafile`;
  const packed = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(["pack", "-m", STORIES, "--args", `${dir}/A`, "--gpu", "vulkan", "-o", path]),
    stdin: "null",
  }).output();
  assert.equal(packed.code, 0, decoder.decode(packed.stderr));
  const entries = (await readZipDirectory(path)).entries;
  const vulkan = entries.find((e) => e.name === "runtime/linux-x64/lib/vulkan/libggml-vulkan.so");
  assert.ok(vulkan, entries.map((e) => e.name).join("\n"));
  // The backend is all it adds, give or take the launcher's lines and the weights' 64 KiB
  // alignment padding.
  const added = (await Deno.stat(path)).size - plain;
  assert.ok(
    Math.abs(added - vulkan.compressedSize) < 128 * 1024,
    `${added} bytes added for a ${vulkan.compressedSize}-byte entry`,
  );
  const out = await run(path, ["-p", PROMPT, "--gpu", "vulkan", "--verbose"], {
    cache: await freshCache(),
    env: lavapipe(),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, STORIES_GREEDY);
  assert.ok(
    out.stderr.includes("\nllamafile: 6/6 layers offloaded: layers 0-4 and output on Vulkan0\n"),
    out.stderr,
  );
});
