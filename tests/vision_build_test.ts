/**
 * Building libmtmd when a run needs it: `deno task llamafile` says in one line that it builds
 * it, and without a C++ toolchain says so in one more and exits 1, before anything runs; a built
 * library is found again at once (the cache's stamps).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ensureMtmdBuild, mtmdBuildPaths } from "../scripts/build_mtmd.ts";
import { STORIES, taskArgs } from "./helpers.ts";

Deno.test("deno task llamafile --mmproj --image without a C++ toolchain: one line that it builds libmtmd, one that it cannot, exit 1", async () => {
  const cache = await Deno.makeTempDir({ prefix: "vision_build_test_" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: taskArgs(["-m", STORIES, "--mmproj", "p.gguf", "--image", "a.png", "-p", "x"]),
      // No libmtmd anywhere (an empty cache home), and no compiler on PATH.
      env: { XDG_CACHE_HOME: cache, PATH: `${cache}/bin`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
    assert.equal(out.code, 1, stderr.join("\n"));
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.equal(stderr.length, 2, stderr.join("\n"));
    assert.match(
      stderr[0]!,
      /^llamafile: building libmtmd \(images\) from llama\.cpp's source, once: a few minutes; cached in .*\/llamafile-build\/mtmd$/,
    );
    assert.match(
      stderr[1]!,
      /^llamafile: Cannot build libmtmd: cmake, make, g\+\+, git, tar, npm are not installed \(a C\+\+ toolchain is needed once: apt-get install cmake make g\+\+ git\)$/,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("ensureMtmdBuild() finds a built libmtmd again at once, from the cache's stamp", async () => {
  await ensureMtmdBuild();
  const started = performance.now();
  const built = await ensureMtmdBuild();
  assert.ok(performance.now() - started < 2000);
  assert.equal(built.library, mtmdBuildPaths().library);
  assert.ok((await Deno.stat(built.library)).isFile);
});
