/**
 * A llamafile packed with a projector: it carries libmtmd beside libllama, `info` names the
 * projector, and run from a read-only folder elsewhere (a fresh runtime cache, no build cache
 * to fall back on) it answers `--image` as the CLI does, sandboxed, its weights mapped from
 * the llamafile and its projector read from it in place (nothing extracted but the runtime).
 *
 * @module
 */
import assert from "node:assert/strict";
import { runCli, taskArgs, watchSandboxed } from "./helpers.ts";
import { gemmaTurn, visionFiles } from "./vision_helpers.ts";

const decoder = new TextDecoder();

Deno.test("pack --mmproj: the llamafile carries libmtmd and answers --image from a read-only folder, sandboxed", async () => {
  const files = await visionFiles();
  const dir = await Deno.makeTempDir({ prefix: "vision_pack_test_" });
  try {
    await Deno.writeTextFile(`${dir}/A`, "--temp 0 -t 1 --no-display-prompt -n 16 ...\n");
    const packed = `${dir}/vision.llamafile`;
    const pack = await new Deno.Command(Deno.execPath(), {
      args: taskArgs([
        "pack",
        "-m",
        files.model,
        "--mmproj",
        files.mmproj,
        "--args",
        `${dir}/A`,
        "-o",
        packed,
      ]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(pack.code, 0, decoder.decode(pack.stderr));

    const info = await runCli(["info", packed]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(
      info.stdout,
      /^projector: +mmproj-tinygemma3\.gguf at offset \d+ \(libmtmd for linux-x64\)$/m,
    );
    assert.match(info.stdout, /^ +projector type: +gemma3$/m);
    assert.match(info.stdout, /^ +output width: +128$/m);
    assert.match(info.stdout, /runtime\/linux-x64\/lib\/libmtmd\.so$/m);

    // A read-only folder, run from another one, with an empty cache home.
    const shelf = `${dir}/shelf`;
    const work = `${dir}/work`;
    const cache = `${dir}/cache`;
    await Deno.mkdir(shelf);
    await Deno.mkdir(work);
    await Deno.mkdir(cache);
    await Deno.rename(packed, `${shelf}/vision.llamafile`);
    await Deno.copyFile(files.png, `${work}/photo.png`);
    await Deno.chmod(`${shelf}/vision.llamafile`, 0o555);
    await Deno.chmod(shelf, 0o555);
    const llamafile = `${shelf}/vision.llamafile`;
    const args = ["--image", "photo.png", "-p", gemmaTurn("Describe the image.")];
    const env = { XDG_CACHE_HOME: cache, NO_COLOR: "1" };
    const first = await new Deno.Command(llamafile, {
      args,
      cwd: work,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(first.code, 0, decoder.decode(first.stderr));

    const cli = await runCli([
      "-m",
      files.model,
      "--mmproj",
      files.mmproj,
      "--image",
      files.png,
      "-p",
      gemmaTurn("Describe the image."),
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
      "-n",
      "16",
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(decoder.decode(first.stdout), cli.stdout);

    // Again, watched: seccomp 2 on every thread; the llamafile mapped (the weights), libmtmd
    // from the extracted runtime, and no file of the projector's but the llamafile itself.
    const child = new Deno.Command(llamafile, {
      args: [...args, "-n", "400"],
      cwd: work,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const view = await watchSandboxed(child.pid);
    // The sandbox goes on before the weights load: wait for them to be mapped.
    let maps = "";
    for (let i = 0; i < 400 && !maps.includes(" /"); i++) {
      try {
        const text = await Deno.readTextFile(`/proc/${child.pid}/maps`);
        if (text.includes(`${llamafile}\n`)) maps = text;
      } catch {
        break; // ended
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const out = await child.output();
    assert.ok(maps !== "", "the llamafile was never seen mapped in its process");
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.ok(view !== null, "the llamafile ended before its sandbox was seen");
    assert.ok(view.seccomp.every((mode) => mode === 2), JSON.stringify(view.seccomp));
    assert.deepEqual(view.writableFiles, []);
    {
      const paths = new Set(maps.split("\n").map((l) => l.split(/\s+/)[5] ?? "").filter(Boolean));
      assert.ok(paths.has(llamafile), "the llamafile's weights are not mapped in place");
      const mtmd = [...paths].filter((p) => p.endsWith("/libmtmd.so"));
      assert.equal(mtmd.length, 1, JSON.stringify(mtmd));
      assert.ok(mtmd[0]!.startsWith(`${cache}/llamafile/`), mtmd[0]);
      assert.deepEqual([...paths].filter((p) => /mmproj|\.gguf$/.test(p)), []);
    }
    // Nothing but the runtime was extracted.
    const extracted: string[] = [];
    for await (const entry of walk(cache)) extracted.push(entry);
    assert.deepEqual(extracted.filter((p) => /\.gguf$|mmproj/.test(p)), []);
    assert.ok(extracted.some((p) => p.endsWith("/lib/libmtmd.so")));
  } finally {
    await Deno.chmod(`${dir}/shelf`, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
    await files.close();
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
