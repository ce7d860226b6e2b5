/**
 * `--image` in the CLI, run as a user runs it (the CLI's permissions and sandbox), on the
 * synthetic Gemma-3 text model and the real Gemma-3 projector `mmproj-tinygemma3.gguf`; and
 * libmtmd in a process of ours: one libggml-base, the npm one.
 *
 * @module
 */
import assert from "node:assert/strict";
import { libraryDir, mtmdLibraryPath } from "../ffi/library_path.ts";
import { readProcText } from "../ffi/proc.ts";
import { readGguf } from "../lib/engine/gguf_reader.ts";
import { loadModel } from "../lib/engine/model.ts";
import { writeGguf } from "../bench/gguf_writer.ts";
import { loadProjector } from "../lib/engine/projector.ts";
import { cliCommandArgs, runCli, STORIES, taskArgs, watchSandboxed } from "./helpers.ts";
import { gemmaTurn, visionFiles } from "./vision_helpers.ts";

const COMMON = ["--temp", "0", "-t", "1", "--no-display-prompt"];

/** Writes the projector `from` to `to` with the tensor `name` renamed (so it is missing). */
async function withoutTensor(from: string, to: string, name: string): Promise<void> {
  const gguf = await readGguf(from);
  const data = await Deno.readFile(from);
  await writeGguf(to, {
    metadata: gguf.metadata,
    tensors: gguf.tensors.map((t) => ({
      ...t,
      name: t.name === name ? `${name}.renamed` : t.name,
      data: data.subarray(gguf.dataOffset + t.offset, gguf.dataOffset + t.offset + t.byteSize),
    })),
  });
}

function image(files: { model: string; mmproj: string }, path: string, prompt: string, n = 16) {
  return [
    "-m",
    files.model,
    "--mmproj",
    files.mmproj,
    "--image",
    path,
    "-p",
    prompt,
    "-n",
    String(n),
    ...COMMON,
  ];
}

Deno.test("llamafile --image: the answer depends on the image and the prompt, run after run", async () => {
  const files = await visionFiles();
  try {
    const outputs = new Map<string, string>();
    for (const [name, path] of [["jpeg", files.jpeg], ["png", files.png]]) {
      for (const prompt of ["Describe the image.", "What is this?"]) {
        const out = await runCli(image(files, path!, gemmaTurn(prompt)));
        assert.equal(out.code, 0, out.stderr);
        assert.ok(out.stdout.length > 0);
        assert.match(out.stderr, /prompt 27\d tokens/); // 256 image positions and the text
        outputs.set(`${name} ${prompt}`, out.stdout);
      }
    }
    assert.equal(new Set(outputs.values()).size, 4, JSON.stringify([...outputs]));
    const again = await runCli(image(files, files.png, gemmaTurn("What is this?")));
    assert.equal(again.stdout, outputs.get("png What is this?"));
  } finally {
    await files.close();
  }
});

Deno.test("llamafile --image puts the image at the media marker, else before the prompt (as llama-mtmd-cli)", async () => {
  const files = await visionFiles();
  try {
    const marked = await runCli(image(files, files.png, "<__media__>Describe the image."));
    const unmarked = await runCli(image(files, files.png, "Describe the image."));
    const after = await runCli(image(files, files.png, "Describe the image.<__media__> Now."));
    assert.equal(marked.code, 0, marked.stderr);
    assert.equal(unmarked.stdout, marked.stdout);
    assert.notEqual(after.stdout, marked.stdout);
    // Two images, two markers, in order: swapping them changes the answer.
    const two = (a: string, b: string) =>
      runCli([
        "-m",
        files.model,
        "--mmproj",
        files.mmproj,
        "--image",
        a,
        "--image",
        b,
        "-p",
        "First <__media__> then <__media__>. Which?",
        "-n",
        "12",
        ...COMMON,
      ]);
    const ab = await two(files.png, files.jpeg);
    const ba = await two(files.jpeg, files.png);
    assert.equal(ab.code, 0, ab.stderr);
    assert.match(ab.stderr, /prompt 5\d\d tokens/);
    assert.notEqual(ab.stdout, ba.stdout);
  } finally {
    await files.close();
  }
});

Deno.test("llamafile --image renames an image from a shell pipeline: --grammar, -e, --no-display-prompt, sed", async () => {
  const files = await visionFiles();
  try {
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const cli = [
      Deno.execPath(),
      ...cliCommandArgs([
        "--temp",
        "0",
        "--image",
        files.jpeg,
        "-m",
        files.model,
        "--mmproj",
        files.mmproj,
        "--grammar",
        'root ::= [a-z]+ (" " [a-z]+)+',
        "-e",
        "-p",
        "### User: What do you see?\\n### Assistant: ",
        "--no-display-prompt",
        "-t",
        "1",
        "-n",
        "12",
      ]),
    ].map(quote).join(" ");
    const out = await new Deno.Command("bash", {
      args: ["-c", `${cli} 2>/dev/null | sed -e's/ /_/g' -e's/$/.jpg/'`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const name = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0);
    assert.match(name, /^[a-z]+(_[a-z]+)+\.jpg$/);
  } finally {
    await files.close();
  }
});

Deno.test("llamafile --image reads its prompt from -f /dev/stdin and answers JSON with -j", async () => {
  const files = await visionFiles();
  try {
    const schema = JSON.stringify({
      type: "object",
      properties: { label: { type: "string", maxLength: 12 } },
      required: ["label"],
    });
    const out = await runCli([
      "-m",
      files.model,
      "--mmproj",
      files.mmproj,
      "--image",
      files.png,
      "-f",
      "/dev/stdin",
      "-j",
      schema,
      "-n",
      "64",
      ...COMMON,
    ], { stdin: gemmaTurn("Label the image as JSON.") + "\n" });
    assert.equal(out.code, 0, out.stderr);
    const value = JSON.parse(out.stdout);
    assert.equal(typeof value.label, "string");
    assert.ok(value.label.length <= 12);
  } finally {
    await files.close();
  }
});

Deno.test("llamafile --image with a bad image, a missing one, no projector, a wrong or broken one: one line, exit 1", async () => {
  const files = await visionFiles();
  try {
    // Renamed, v.blk.2.attn_k.weight crashed libmtmd (SIGSEGV): clip.cpp loads it as optional.
    const holed = `${files.dir}/holed-mmproj.gguf`;
    await withoutTensor(files.mmproj, holed, "v.blk.2.attn_k.weight");
    // So did a renamed v.patch_embd.weight (fuzz seed 9200, projector case 205).
    const patchless = `${files.dir}/patchless-mmproj.gguf`;
    await withoutTensor(files.mmproj, patchless, "v.patch_embd.weight");
    const cases: [string[], RegExp][] = [
      [
        image(files, files.notImage, "x"),
        /^llamafile: Cannot read image ".*notes\.png": it is not an image \(JPEG, PNG, GIF, BMP, PSD, HDR, PNM\)$/,
      ],
      [
        image(files, files.truncatedPng, "x"),
        /^llamafile: Cannot read image ".*truncated\.png": the PNG data is truncated \(its IDAT chunk runs past the end\)$/,
      ],
      [
        image(files, `${files.dir}/missing.png`, "x"),
        /^llamafile: Cannot read image ".*missing\.png": no such file$/,
      ],
      [
        image(files, files.dir, "x"),
        /^llamafile: Cannot read image ".*": it is a directory$/,
      ],
      [
        ["-m", files.model, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot use --image: no projector is given \(pass --mmproj FILE\)$/,
      ],
      [
        ["-m", STORIES, "--mmproj", files.mmproj, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot load projector ".*mmproj-tinygemma3\.gguf": mismatch between text model \(n_embd = 64\) and mmproj \(n_embd = 128\)$/,
      ],
      [
        ["-m", files.model, "--mmproj", files.model, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot load projector ".*": it is not a multimodal projector \(general\.architecture is "gemma3", expected "clip"\)$/,
      ],
      [
        ["-m", files.model, "--mmproj", files.notImage, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot load projector ".*notes\.png": bad GGUF magic/,
      ],
      [
        ["-m", files.model, "--mmproj", holed, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot load projector ".*holed-mmproj\.gguf": tensor "v\.blk\.2\.attn_k\.weight" is missing: each of the 4 vision blocks needs attn_q, attn_k and attn_v \(or attn_qkv\)$/,
      ],
      [
        ["-m", files.model, "--mmproj", patchless, "--image", files.png, "-p", "x", ...COMMON],
        /^llamafile: Cannot load projector ".*patchless-mmproj\.gguf": tensor "v\.patch_embd\.weight" is missing: a "gemma3" projector's vision encoder starts from it$/,
      ],
      [
        image(files, files.png, "<__media__> and <__media__>"),
        /^llamafile: Cannot place the images: the prompt has 2 media markers \(<__media__>\) and there is 1 image$/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const out = await runCli(args);
      assert.equal(out.code, 1, `${args.join(" ")}: ${out.stderr}`);
      assert.equal(out.stdout, "");
      const lines = out.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, pattern);
    }
    // Usage errors: exit 2.
    for (
      const args of [
        ["-m", files.model, "--mmproj", files.mmproj, "--image", files.png, "--server"],
        ["-m", files.model, "--mmproj", files.mmproj, "--image", files.png, "--chat"],
      ]
    ) {
      const out = await runCli(args);
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /^llamafile: --image (is for the CLI|needs a prompt)/);
    }
  } finally {
    await files.close();
  }
});

Deno.test("llamafile --image runs sandboxed: seccomp on every thread while it reads the image and answers", async () => {
  const files = await visionFiles();
  try {
    // Through the launcher, as `deno task llamafile` runs it (its sandboxed Deno directory).
    const child = new Deno.Command(Deno.execPath(), {
      args: taskArgs(image(files, files.jpeg, gemmaTurn("Describe the image."), 400)),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const view = await watchSandboxed(child.pid);
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.ok(view !== null, "the CLI ended before its sandbox was seen");
    assert.ok(view.seccomp.every((mode) => mode === 2), JSON.stringify(view.seccomp));
    assert.deepEqual(view.writableFiles, []);
  } finally {
    await files.close();
  }
});

Deno.test("libmtmd binds to the libllama and the one libggml-base already loaded (readelf, /proc/self/maps)", async () => {
  const files = await visionFiles();
  try {
    const path = mtmdLibraryPath();
    assert.ok(path !== null);
    const readelf = await new Deno.Command("readelf", { args: ["-d", path], stdout: "piped" })
      .output();
    const dynamic = new TextDecoder().decode(readelf.stdout);
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
    for (const lib of ["libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so"]) {
      assert.ok(needed.includes(lib), `${lib} not in ${needed.join(", ")}`);
    }
    assert.match(dynamic, /\(RUNPATH\)\s+Library runpath: \[\$ORIGIN\]/);
    assert.match(dynamic, /\(SONAME\)\s+Library soname: \[libmtmd\.so\]/);

    using model = await loadModel(files.model);
    using projector = await loadProjector(model, files.mmproj, { threads: 1 });
    using picture = await projector.readImage(await Deno.readFile(files.png), "png");
    assert.deepEqual(picture.info, { format: "PNG", width: 48, height: 32 });
    const maps = readProcText("/proc/self/maps", 16 << 20)!;
    const mapped = (name: string) =>
      new Set(
        maps.split("\n").map((line) => line.split(/\s+/)[5] ?? "").filter((p) =>
          p.endsWith(`/${name}`)
        ),
      );
    const npm = await Deno.realPath(libraryDir());
    assert.deepEqual([...mapped("libggml-base.so")], [`${npm}/libggml-base.so`]);
    assert.deepEqual([...mapped("libllama.v0.5.0.so")], [`${npm}/libllama.v0.5.0.so`]);
    assert.deepEqual([...mapped("libggml.v0.5.0.so")], [`${npm}/libggml.v0.5.0.so`]);
    assert.deepEqual([...mapped("libmtmd.so")], [await Deno.realPath(path)]);
  } finally {
    await files.close();
  }
});
