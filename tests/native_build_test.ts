/**
 * `llamafile --build-native`: the CPU backend built for this machine from llama.cpp's source,
 * checked against the prebuilt variant and loaded in its place, by the checkout and by a packed
 * llamafile; without the tools it needs, one line and nothing changes.
 *
 * The build is cached in `~/.cache/llamafile-test-native/` (an `XDG_CACHE_HOME` of its own, so
 * the other tests keep the prebuilt variant): the first run builds it (npm pack of
 * node-llama-cpp once, then ggml-base and ggml-cpu: about 5 minutes on 2 busy cores), later runs
 * find it built and only run the check again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cpuKey } from "../ffi/library.ts";
import { NATIVE_CPU_LIB, NATIVE_CPU_STAMP } from "../ffi/library_path.ts";
import { cpuinfoText } from "../ffi/proc.ts";
import { LLAMA_CPP_RELEASE } from "../lib/util/version.ts";
import { missingTool } from "../lib/cli/native_build.ts";
import { cliCommandArgs, ROOT, STORIES, STORIES_GREEDY, taskArgs, viewProcess } from "./helpers.ts";

const decoder = new TextDecoder();

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
const HOME = Deno.env.get("HOME") ?? "/tmp";
/** The test build's own cache folder (kept between runs: a cold build takes minutes). */
const CACHE = `${HOME}/.cache/llamafile-test-native`;
const NATIVE_DIR = `${CACHE}/llamafile/native/${LLAMA_CPP_RELEASE}-${cpuKey(cpuinfoText()!)}`;

async function cli(
  args: string[],
  env: Record<string, string>,
  clearEnv = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: ROOT,
    // Unset what the test runner sets (it pins the prebuilt variant for the other tests).
    env: { NO_COLOR: "1", LLAMAFILE_CPU_BACKEND: "", ...env },
    clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("missingTool() names the first tool a build lacks", () => {
  const has = (names: string[]) => (name: string) => names.includes(name);
  assert.equal(missingTool(has(["cmake", "cc", "c++", "git"])), null);
  assert.equal(missingTool(has(["cc", "c++", "git"])), "cmake");
  assert.equal(missingTool(has(["cmake", "git", "g++"])), "a C compiler (cc, gcc or clang)");
  assert.equal(missingTool(has(["cmake", "gcc", "git"])), "a C++ compiler (c++, g++ or clang++)");
  assert.equal(missingTool(has(["cmake", "clang", "clang++"])), "git");
});

Deno.test("llamafile --build-native without cmake says so in one line and changes nothing", async () => {
  const cache = await Deno.makeTempDir({ prefix: "native_build_test_" });
  const empty = `${cache}/bin`;
  await Deno.mkdir(empty);
  try {
    const r = await cli(["--build-native", "-m", STORIES], {
      PATH: empty,
      HOME: cache,
      XDG_CACHE_HOME: cache,
    }, true);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      "llamafile: Cannot build the CPU backend for this machine: cmake is not on PATH (nothing changed: the prebuilt one stays in use)\n",
    );
    // (Deno keeps its own cache there: deno/.)
    assert.ok(!existsSync(`${cache}/llamafile`), "nothing created");
    // Without a model to check it against, in the checkout: one line too.
    const noModel = await cli(["--build-native"], { XDG_CACHE_HOME: cache });
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /^llamafile: Cannot check the CPU backend .*pass -m MODEL\.gguf/);
    assert.equal(noModel.stderr.trimEnd().split("\n").length, 1);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test({
  name:
    "llamafile --build-native builds, checks and installs the CPU backend for this machine, and runs load it sandboxed with one libggml-base",
  ignore: missingTool() !== null,
  fn: async () => {
    const env = { XDG_CACHE_HOME: CACHE };
    const started = performance.now();
    const build = await cli(["--build-native", "-m", STORIES], env);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(build.code, 0, build.stderr);
    const lines = build.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2, build.stdout);
    assert.match(
      lines[0]!,
      new RegExp(
        `^llamafile: built the CPU backend for this machine in \\d+ s \\(.+\\): ${NATIVE_DIR}/${NATIVE_CPU_LIB}$`,
      ),
    );
    assert.match(lines[1]!, /writes the prebuilt backend's 64 greedy tokens for .*stories260K/);
    const stamp = JSON.parse(await Deno.readTextFile(`${NATIVE_DIR}/${NATIVE_CPU_STAMP}`));
    assert.equal(stamp.release, LLAMA_CPP_RELEASE);
    assert.ok(stamp.cmakeFlags.includes("-DGGML_BACKEND_DL=ON"));
    console.log(`--build-native took ${seconds.toFixed(0)} s (${stamp.compiler})`);

    // Loaded from then on, and named by --version; LLAMAFILE_CPU_BACKEND=prebuilt goes back.
    const version = await cli(["--version"], env);
    assert.match(version.stdout, /, CPU backend native build; /);
    const prebuilt = await cli(["--version"], { ...env, LLAMAFILE_CPU_BACKEND: "prebuilt" });
    assert.match(prebuilt.stdout, /, CPU backend \w+ \(prebuilt\); /);

    // The same greedy text, sandboxed, with one libggml-base mapped beside the native build.
    const args = ["-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0", "-t", "1"];
    const child = new Deno.Command(Deno.execPath(), {
      args: cliCommandArgs([...args, "--no-display-prompt", "--log-disable"]),
      cwd: ROOT,
      env: { ...env, LLAMAFILE_CPU_BACKEND: "" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let maps = "";
    let seccomp: number[] = [];
    for (let i = 0; i < 2000 && maps === ""; i++) {
      const view = viewProcess(child.pid);
      if (view !== null && view.seccomp.length > 0 && view.seccomp.every((m) => m === 2)) {
        seccomp = view.seccomp;
        maps = await Deno.readTextFile(`/proc/${child.pid}/maps`).catch(() => "");
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const out = await child.output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.equal(decoder.decode(out.stdout), STORIES_GREEDY);
    assert.ok(seccomp.length > 0 && seccomp.every((m) => m === 2), `seccomp ${seccomp}`);
    const mapped = new Set(
      maps.split("\n").map((l) => l.split(/\s+/)[5] ?? "").filter((p) => p.includes("libggml")),
    );
    assert.deepEqual(
      [...mapped].filter((p) => p.endsWith("/libggml-base.so")).length,
      1,
      [...mapped].join("\n"),
    );
    assert.ok(mapped.has(`${NATIVE_DIR}/${NATIVE_CPU_LIB}`), [...mapped].join("\n"));
    assert.ok(
      ![...mapped].some((p) => /libggml-cpu-(?!native)\w+\.so$/.test(p)),
      "no prebuilt variant",
    );
  },
});

Deno.test({
  name:
    "a packed llamafile's --build-native checks the build with its own weights, and its runs load it",
  ignore: missingTool() !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "native_build_test_" });
    try {
      await Deno.writeTextFile(`${dir}/A`, "-n 40 --temp 0 -t 1 --no-display-prompt ...\n");
      const path = `${dir}/s.llamafile`;
      const pack = await new Deno.Command(Deno.execPath(), {
        args: taskArgs(["pack", "-m", STORIES, "--args", `${dir}/A`, "-o", path]),
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(pack.code, 0, decoder.decode(pack.stderr));
      // The build folder of the test above is reused: only the check runs again.
      const env = { XDG_CACHE_HOME: CACHE, LLAMAFILE_CPU_BACKEND: "" };
      const run = (args: string[]) =>
        new Deno.Command(path, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
          .output();
      const build = await run(["--build-native"]);
      assert.equal(build.code, 0, decoder.decode(build.stderr));
      assert.match(
        decoder.decode(build.stdout),
        new RegExp(`greedy tokens for ${path.replaceAll(".", "\\.")};`),
      );
      const version = await run(["--version"]);
      assert.match(decoder.decode(version.stdout), /, CPU backend native build; /);
      const story = await run(["-p", "Once upon a time", "--log-disable"]);
      assert.equal(decoder.decode(story.stdout), STORIES_GREEDY);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
