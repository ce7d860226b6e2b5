/**
 * `--lora`, `--lora-scaled` and `--lora-init-without-apply` in the CLI, run as a user runs it
 * (the CLI's permissions and sandbox), with a rank-4 adapter of stories260K's `attn_q` and
 * `output` weights (`writeStoriesLora`, also the server's LoRA fixture).
 *
 * @module
 */
import assert from "node:assert/strict";
import { writeStoriesLora } from "../conformance/models.ts";
import { writeGguf } from "../bench/gguf_writer.ts";
import { GgufType, readGguf } from "../lib/engine/gguf_reader.ts";
import { runCli, STORIES } from "./helpers.ts";

const COMMON = ["-p", "Once upon a time", "-n", "16", "-t", "1", "--temp", "0", "--log-disable"];

Deno.test("CLI --lora changes the answer as its scale says; scale 0 and --lora-init-without-apply do not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_lora_" });
  try {
    const lora = `${dir}/lora.gguf`;
    await writeStoriesLora(lora);
    const answer = async (extra: string[]) => {
      const out = await runCli(["-m", STORIES, ...extra, ...COMMON]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, "");
      return out.stdout;
    };
    const plain = await answer([]);
    const full = await answer(["--lora", lora]);
    const half = await answer(["--lora-scaled", `${lora}:0.5`]);
    assert.notEqual(full, plain, "the adapter at scale 1 changes the greedy answer");
    assert.notEqual(half, plain, "at 0.5 too");
    assert.notEqual(half, full, "and not as at 1");
    assert.equal(await answer(["--lora-scaled", `${lora}:0`]), plain, "scale 0 is the base model");
    assert.equal(await answer(["--lora", lora, "--lora-init-without-apply"]), plain);
    // Twice at 0.5 is once at 1: libllama adds each adapter's scaled product.
    assert.equal(await answer(["--lora-scaled", `${lora}:0.5,${lora}:0.5`]), full);
    // The chat mode applies it too.
    const chatArgs = ["--chat", "--chat-template", "chatml", "--temp", "0", "-n", "12", "-t", "1"];
    const chatAnswer = async (extra: string[]) => {
      const out = await runCli(["-m", STORIES, ...extra, ...chatArgs], {
        stdin: "Once upon a time\n",
      });
      assert.equal(out.code, 0, out.stderr);
      return out.stdout;
    };
    assert.notEqual(
      await chatAnswer(["--lora", lora]),
      await chatAnswer([]),
      "the chat's answer changes with the adapter",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI --lora: a missing file or a GGUF that is no adapter of this model is one line, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_lora_bad_" });
  try {
    // adapter.lora.alpha as an integer: libllama's loader asserted (fuzz target lora, seed 1).
    const good = `${dir}/lora.gguf`;
    await writeStoriesLora(good);
    const adapter = await readGguf(good);
    const data = await Deno.readFile(good);
    const alpha = `${dir}/alpha.gguf`;
    await writeGguf(alpha, {
      metadata: new Map([...adapter.metadata].map(([key, kv]) => [
        key,
        key === "adapter.lora.alpha" ? { type: GgufType.UINT32, value: 8 } : kv,
      ])),
      tensors: adapter.tensors.map((t) => ({
        ...t,
        data: data.subarray(
          adapter.dataOffset + t.offset,
          adapter.dataOffset + t.offset + t.byteSize,
        ),
      })),
    });
    const cases: [string, RegExp][] = [
      [
        alpha,
        /^llamafile: Cannot load LoRA adapter ".*alpha\.gguf": metadata "adapter\.lora\.alpha" is not a 32-bit float: libllama reads it as one$/,
      ],
      [
        "/nonexistent/lora.gguf",
        /^llamafile: Cannot load LoRA adapter "\/nonexistent\/lora\.gguf": .*No such file or directory/,
      ],
      [
        STORIES,
        /^llamafile: Cannot load LoRA adapter ".*stories260K\.gguf": libllama refused it \(not a LoRA GGUF of this model\)$/,
      ],
    ];
    for (const [path, pattern] of cases) {
      const out = await runCli(["-m", STORIES, "--lora", path, ...COMMON]);
      assert.equal(out.code, 1, out.stderr);
      assert.equal(out.stdout, "");
      const lines = out.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
