/**
 * Corrupt models end in one clean line, not an abort dump: the mutated GGUFs of the
 * reliability reports (block count 0xffff, a negative `norm_rms_eps`, duplicate vocab tokens,
 * a missing byte token) are refused by our own reader before libllama sees them: exit 1, one
 * line naming the key and the value, nothing else on stderr. Sizes and reads the machine
 * cannot hold end in one line too.
 */
import assert from "node:assert/strict";
import { type GgufKv, GgufType, readGguf } from "../lib/engine/gguf_reader.ts";
import { writeGguf } from "../bench/gguf_writer.ts";
import { synthSpec, writeSynthModel } from "../bench/synth_model.ts";
import { runCli, STORIES } from "./helpers.ts";

/** Writes stories260K with `edit` applied to its metadata. */
async function mutated(path: string, edit: (meta: Map<string, GgufKv>) => void): Promise<void> {
  const gguf = await readGguf(STORIES);
  const data = await Deno.readFile(STORIES);
  const metadata = new Map(gguf.metadata);
  edit(metadata);
  await writeGguf(path, {
    metadata,
    tensors: gguf.tensors.map((t) => ({
      ...t,
      data: data.subarray(gguf.dataOffset + t.offset, gguf.dataOffset + t.offset + t.byteSize),
    })),
  });
}

/** A metadata edit that changes stories260K's vocabulary with `edit` (on a copy). */
function tokens(edit: (value: string[]) => void): (meta: Map<string, GgufKv>) => void {
  return (m) => {
    const value = [...(m.get("tokenizer.ggml.tokens") as { value: string[] }).value];
    edit(value);
    m.set("tokenizer.ggml.tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, value });
  };
}

const CASES: [string, (meta: Map<string, GgufKv>) => void, RegExp][] = [
  [
    "block count 0xffff",
    (m) => m.set("llama.block_count", { type: GgufType.UINT32, value: 0xffff }),
    /llama\.block_count is 65535: a model has 1 to 512 layers$/,
  ],
  [
    "negative norm_rms_eps",
    (m) =>
      m.set("llama.attention.layer_norm_rms_epsilon", { type: GgufType.FLOAT32, value: -1e-5 }),
    /llama\.attention\.layer_norm_rms_epsilon is -0\.0000\d+: an epsilon is a finite number of at least 0$/,
  ],
  [
    "a newline and a terminal escape in its architecture's name",
    (m) => {
      const arch = "llama\n\u001b[31m";
      m.set("general.architecture", { type: GgufType.STRING, value: arch });
      m.set(`${arch}.block_count`, { type: GgufType.UINT32, value: 0xffff });
    },
    /llama\\n\\u001b\[31m\.block_count is 65535: a model has 1 to 512 layers$/,
  ],
  [
    "duplicate vocab tokens",
    tokens((value) => {
      value[300] = value[301]!;
    }),
    /tokenizer\.ggml\.tokens is "512 entries": token 301 repeats token 300 \(".*"\)$/,
  ],
  [
    "a vocab token that repeats another up to a NUL byte (libllama reads a C string)",
    tokens((value) => {
      value[300] = `${value[301]!}\u0000x84>`;
    }),
    /token 301 repeats token 300 \(".*" and ".*\\u0000x84>", the same up to a NUL byte, where libllama ends a token's text\)$/,
  ],
  [
    "a SentencePiece vocab without a token for byte 0xE6 (tokenizing 日 would end the process)",
    tokens((value) => {
      value[value.indexOf("<0xE6>")] = "<0xE6>zz";
    }),
    /no token for byte 0xE6 \(neither "<0xE6>" nor the byte itself\), which libllama's SentencePiece tokenizer needs for text outside the vocabulary$/,
  ],
  [
    "a vocab token spelling out libllama's name for an empty one",
    tokens((value) => {
      value[300] = "";
      value[400] = "[EMPTY_300]";
    }),
    /token 400 repeats token 300 \("\[EMPTY_300\]" and "", the name libllama gives a token empty up to its first NUL byte\)$/,
  ],
];

for (const [name, edit, message] of CASES) {
  Deno.test(`a GGUF with ${name} exits 1 with one line naming the problem`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "corrupt_model_test_" });
    try {
      await mutated(`${dir}/m.gguf`, edit);
      const out = await runCli(["-m", `${dir}/m.gguf`, "-p", "Once", "-n", "4", "-t", "1"]);
      assert.equal(out.code, 1);
      assert.equal(out.stdout, "");
      const lines = out.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, /^llamafile: Cannot load model ".*m\.gguf": /);
      assert.match(lines[0]!, message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a GGUF with empty vocab tokens loads: libllama names them apart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corrupt_model_test_" });
  try {
    await mutated(
      `${dir}/m.gguf`,
      tokens((value) => {
        value[300] = "";
        value[301] = "";
        value[302] = "\u0000";
      }),
    );
    const out = await runCli(["-m", `${dir}/m.gguf`, "-p", "Once", "-n", "4", "-t", "1"]);
    assert.equal(out.code, 0, out.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info shows a GGUF's text with its control characters as escapes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corrupt_model_test_" });
  try {
    await mutated(`${dir}/m.gguf`, (m) => {
      m.set("general.name", { type: GgufType.STRING, value: "evil\n\u001b[31mRED\u001b[0m" });
    });
    const out = await runCli(["info", `${dir}/m.gguf`]);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes("\u001b"), out.stdout);
    assert.match(out.stdout, /^name: +evil\\n\\u001b\[31mRED\\u001b\[0m$/m);
    assert.match(out.stdout, /^architecture: +llama$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-c 16777216 on a model whose KV cache cannot fit in memory exits 1 with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corrupt_model_test_" });
  try {
    // 4 layers of width 512, one KV head: 16 KiB of KV cache per token, 256 GiB for 16M.
    const path = `${dir}/wide.gguf`;
    await writeSynthModel(
      path,
      synthSpec({
        type: "q8_0",
        layers: 4,
        embd: 512,
        ff: 512,
        heads: 1,
        kvHeads: 1,
        vocabFrom: STORIES,
      }),
    );
    const out = await runCli(["-m", path, "-p", "Once", "-n", "1", "-t", "1", "-c", "16777216"]);
    assert.equal(out.code, 1, out.stderr);
    const lines = out.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, out.stderr);
    assert.match(
      lines[0]!,
      /^llamafile: Cannot create a context of 16777216 tokens: its KV cache needs \d+\.\d GiB and this machine has \d+\.\d GiB of memory left$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-c past 2^24 and integers past int32 are usage errors, never wrapped", async () => {
  for (const [flag, value] of [["-c", "99999999999"], ["-c", "4294967296"], ["-n", "4294967296"]]) {
    const out = await runCli(["-m", STORIES, "-p", "Once", flag!, value!]);
    assert.equal(out.code, 2, `${flag} ${value}`);
    assert.match(
      out.stderr,
      new RegExp(`^llamafile: Invalid value "${value}" for ${flag}: must be at most \\d+\\n`),
    );
  }
});

Deno.test("-f /dev/zero is refused past 64 MiB instead of being read forever", async () => {
  const out = await runCli(["-m", STORIES, "-f", "/dev/zero", "-n", "1", "-t", "1"]);
  assert.equal(out.code, 2);
  assert.match(
    out.stderr,
    /^llamafile: Cannot read prompt file "\/dev\/zero": it is larger than 64 MiB\n/,
  );
});
