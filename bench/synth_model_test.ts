import assert from "node:assert/strict";
import { GgmlType, type GgufKv, GgufType } from "../lib/engine/gguf_reader.ts";
import { padVocab, parseSynthArgs, quantBlocks, synthModelPath, synthSpec } from "./synth_model.ts";

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of list) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** f16 bits → number (normal values only, enough for block scales). */
function f16(bits: number): number {
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  return (bits & 0x8000 ? -1 : 1) * 2 ** (exp - 15) * (1 + mant / 1024);
}

Deno.test("quantBlocks() streams reproducible Q8_0 blocks with weights of std ≈ 0.02", () => {
  const n = 32 * 300_000; // several 4 MiB chunks
  const bytes = concat(quantBlocks(GgmlType.Q8_0, n, 42));
  assert.equal(bytes.length, (n / 32) * 34);
  assert.deepEqual(concat(quantBlocks(GgmlType.Q8_0, n, 42)), bytes);
  assert.notDeepEqual(concat(quantBlocks(GgmlType.Q8_0, 64, 43)), bytes.subarray(0, 68));

  let sum = 0;
  let sq = 0;
  for (let b = 0; b < 10_000; b++) {
    const at = b * 34;
    const d = f16(bytes[at]! | bytes[at + 1]! << 8);
    for (let i = 0; i < 32; i++) {
      const w = d * ((bytes[at + 2 + i]! << 24) >> 24);
      sum += w;
      sq += w * w;
    }
  }
  const count = 320_000;
  const std = Math.sqrt(sq / count - (sum / count) ** 2);
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  assert.ok(Math.abs(sum / count) < 0.001, `mean ${sum / count}`);
});

Deno.test("quantBlocks() streams Q4_0 blocks with weights of std ≈ 0.02", () => {
  const bytes = concat(quantBlocks(GgmlType.Q4_0, 32 * 10_000, 7));
  assert.equal(bytes.length, 18 * 10_000);
  let sq = 0;
  for (let b = 0; b < 10_000; b++) {
    const at = b * 18;
    const d = f16(bytes[at]! | bytes[at + 1]! << 8);
    for (let i = 0; i < 16; i++) {
      const q = bytes[at + 2 + i]!;
      sq += (d * ((q & 0xf) - 8)) ** 2 + (d * ((q >> 4) - 8)) ** 2;
    }
  }
  const std = Math.sqrt(sq / 320_000);
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  assert.throws(() => [...quantBlocks(GgmlType.F16, 32, 1)], RangeError);
});

Deno.test("synthSpec() defaults to TinyLlama-1.1B and rejects impossible shapes", async () => {
  const spec = synthSpec({ vocabFrom: "/x/llama-2-tiny-random.gguf" });
  assert.deepEqual(
    [spec.type, spec.layers, spec.embd, spec.ff, spec.heads, spec.kvHeads, spec.ctx],
    ["q8_0", 22, 2048, 5632, 32, 4, 2048],
  );
  assert.equal(spec.ropeTheta, 10000);
  assert.equal(spec.rmsEps, 1e-5);
  assert.match(
    await synthModelPath(spec),
    /\/llamafile-bench\/models\/tinyllama-1\.1b-q8_0\.gguf$/,
  );
  const small = synthSpec({ vocabFrom: "/x/v.gguf", type: "q4_0", layers: 2, embd: 256 });
  assert.match(await synthModelPath(small), /\/llama-synth-2l-256e-q4_0-[0-9a-f]{12}\.gguf$/);

  const bad = (partial: Parameters<typeof synthSpec>[0]) => () =>
    synthSpec({ vocabFrom: "/x/v.gguf", ...partial });
  assert.throws(bad({ embd: 100 }), /multiples of 32/);
  assert.throws(bad({ heads: 3 }), /heads must divide embd/);
  assert.throws(bad({ layers: 0 }), /layers 0: must be an integer ≥ 1/);
  // deno-lint-ignore no-explicit-any
  assert.throws(bad({ type: "f16" as any }), /use q8_0 or q4_0/);
});

Deno.test("parseSynthArgs() reads the CLI flags", () => {
  assert.deepEqual(parseSynthArgs(["--type", "Q4_0", "--layers", "2", "-o", "m.gguf"]), {
    spec: { type: "q4_0", layers: 2 },
    path: "m.gguf",
    force: false,
  });
  assert.deepEqual(parseSynthArgs(["--kv-heads", "2", "--force"]), {
    spec: { kvHeads: 2 },
    force: true,
  });
  assert.deepEqual(parseSynthArgs(["--vocab-size", "152064"]), {
    spec: { vocabSize: 152064 },
    force: false,
  });
  assert.throws(() => parseSynthArgs(["--layers"]), /"--layers": it needs a value/);
  assert.throws(() => parseSynthArgs(["--layers", "2x"]), /not an integer/);
  assert.throws(() => parseSynthArgs(["--type", "q5_0"]), /use q8_0 or q4_0/);
  assert.throws(() => parseSynthArgs(["--bogus"]), /unknown option/);
});

Deno.test("padVocab() adds unique made-up tokens with their scores and types", () => {
  const tokenizer: [string, GgufKv][] = [
    ["tokenizer.ggml.model", { type: GgufType.STRING, value: "llama" }],
    ["tokenizer.ggml.tokens", {
      type: GgufType.ARRAY,
      itemType: GgufType.STRING,
      value: ["<unk>", "a", "\u2581b"],
    }],
    ["tokenizer.ggml.scores", {
      type: GgufType.ARRAY,
      itemType: GgufType.FLOAT32,
      value: [0, -1, -2],
    }],
    ["tokenizer.ggml.token_type", {
      type: GgufType.ARRAY,
      itemType: GgufType.INT32,
      value: [2, 1, 1],
    }],
  ];
  padVocab(tokenizer, 5000);
  const value = (key: string) => tokenizer.find(([k]) => k === key)![1].value as unknown[];
  const tokens = value("tokenizer.ggml.tokens") as string[];
  assert.equal(tokens.length, 5000);
  assert.deepEqual(tokens.slice(0, 3), ["<unk>", "a", "\u2581b"]);
  assert.equal(new Set(tokens).size, 5000);
  const scores = value("tokenizer.ggml.scores") as number[];
  assert.equal(scores.length, 5000);
  assert.ok(scores.slice(3).every((s, i) => s < -2 && (i === 0 || s < scores[i + 2]!)));
  assert.deepEqual(value("tokenizer.ggml.token_type").slice(2, 5), [1, 1, 1]);
  assert.equal(value("tokenizer.ggml.token_type").length, 5000);
  assert.throws(() => padVocab(tokenizer, 10), /Cannot make a vocabulary of 10 tokens/);
});
