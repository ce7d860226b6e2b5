import assert from "node:assert/strict";
import type { GgufFile, GgufKv, GgufTensorInfo } from "./gguf_reader.ts";
import { GgufType } from "./gguf_reader.ts";
import {
  checkLoraMetadata,
  checkModelMetadata,
  checkProjectorMetadata,
  ModelCheckError,
} from "./model_check.ts";

const u32 = (value: number): GgufKv => ({ type: GgufType.UINT32, value });
const f32 = (value: number): GgufKv => ({ type: GgufType.FLOAT32, value });
const str = (value: string): GgufKv => ({ type: GgufType.STRING, value });
const strings = (value: string[]): GgufKv => ({
  type: GgufType.ARRAY,
  itemType: GgufType.STRING,
  value,
});
const ints = (value: number[]): GgufKv => ({
  type: GgufType.ARRAY,
  itemType: GgufType.INT32,
  value,
});

/** The byte tokens of a SentencePiece vocabulary but `<0x0A>` (which `model()` has at 3). */
const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => b)
  .filter((b) => b !== 0x0a)
  .map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
/** `tokenizer.ggml.tokens`: `words`, then {@linkcode BYTE_TOKENS}. */
const vocab = (words: string[]): GgufKv => strings([...words, ...BYTE_TOKENS]);

const tensor = (name: string, dims: number[], type = 0): GgufTensorInfo => ({
  name,
  dims,
  type,
  offset: 0,
  elements: dims.reduce((a, b) => a * b, 1),
  byteSize: 0,
});

/** A small well-formed llama model's metadata, with `extra` set (or `undefined` to drop). */
function model(
  extra: Record<string, GgufKv | undefined> = {},
  tensors = [tensor("blk.0.attn_norm.weight", [8]), tensor("blk.0.attn_q.weight", [8, 8], 8)],
): GgufFile {
  const metadata = new Map<string, GgufKv>([
    ["general.architecture", str("llama")],
    ["llama.block_count", u32(1)],
    ["llama.attention.layer_norm_rms_epsilon", f32(1e-5)],
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", vocab(["<unk>", "<s>", "</s>", "<0x0A>", "a"])],
    ["tokenizer.ggml.scores", {
      type: GgufType.ARRAY,
      itemType: GgufType.FLOAT32,
      value: Array(5 + BYTE_TOKENS.length).fill(0),
    }],
    ["tokenizer.ggml.token_type", ints([2, 3, 3, 6, 1, ...BYTE_TOKENS.map(() => 6)])],
  ]);
  for (const [key, kv] of Object.entries(extra)) {
    if (kv === undefined) metadata.delete(key);
    else metadata.set(key, kv);
  }
  return {
    version: 3,
    metadata,
    tensors,
    alignment: 32,
    baseOffset: 0,
    dataOffset: 0,
    dataSize: 0,
  };
}

function refused(file: GgufFile, pattern: RegExp): void {
  assert.throws(
    () => checkModelMetadata(file),
    (e: unknown) => e instanceof ModelCheckError && pattern.test(e.message),
  );
}

Deno.test("checkModelMetadata() accepts a well-formed model", () => {
  checkModelMetadata(model());
});

Deno.test("checkModelMetadata() refuses a layer count libllama asserts on (0, 513, 0xffff)", () => {
  refused(
    model({ "llama.block_count": u32(0xffff) }),
    /^llama\.block_count is 65535: a model has 1 to 512 layers$/,
  );
  refused(model({ "llama.block_count": u32(0) }), /block_count is 0/);
  refused(model({ "llama.block_count": u32(513) }), /block_count is 513/);
  refused(
    model({ "llama.nextn_predict_layers": u32(2) }),
    /nextn_predict_layers is 2: more than the model's 1 layers/,
  );
});

Deno.test("checkModelMetadata() refuses negative, NaN and infinite epsilons", () => {
  for (const value of [-1e-5, NaN, Infinity, -Infinity]) {
    refused(
      model({ "llama.attention.layer_norm_rms_epsilon": f32(value) }),
      /^llama\.attention\.layer_norm_rms_epsilon is .*: an epsilon is a finite number of at least 0$/,
    );
  }
  refused(model({ "llama.rope.freq_base": f32(NaN) }), /rope\.freq_base is NaN: .* finite/);
});

Deno.test("checkModelMetadata() refuses expert counts libllama asserts on", () => {
  refused(
    model({ "llama.expert_used_count": u32(2) }),
    /expert_used_count is 2: more than the model's 0 experts/,
  );
  refused(
    model({ "llama.expert_count": u32(2000), "llama.expert_used_count": u32(2) }),
    /expert_count is 2000/,
  );
  refused(
    model({ "llama.expert_count": u32(8), "llama.expert_used_count": u32(0) }),
    /uses at least one/,
  );
  refused(
    model({
      "llama.expert_count": u32(8),
      "llama.expert_used_count": u32(2),
      "llama.expert_group_count": u32(3),
    }),
    /expert_group_count is 3: does not divide/,
  );
  checkModelMetadata(model({ "llama.expert_count": u32(8), "llama.expert_used_count": u32(2) }));
});

Deno.test("checkModelMetadata() refuses an unknown rope scaling type", () => {
  refused(
    model({ "llama.rope.scaling.type": str("") }),
    /rope\.scaling\.type is "": not one of none, linear, yarn, longrope/,
  );
  checkModelMetadata(model({ "llama.rope.scaling.type": str("yarn") }));
});

Deno.test("checkModelMetadata() refuses duplicate tokens and vocab arrays of unequal lengths", () => {
  refused(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "<0x0A>", "<s>"]) }),
    /token 4 repeats token 1 \("<s>"\)/,
  );
  refused(
    model({ "tokenizer.ggml.token_type": ints([2, 3, 3]) }),
    /token_type is "3 entries": tokenizer\.ggml\.tokens has 260/,
  );
});

Deno.test("checkModelMetadata() compares tokens as libllama's token map keys them", () => {
  // libllama reads a token's text as a C string: a NUL byte ends it.
  refused(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "<\0x0A>", "<"]) }),
    /token 4 repeats token 3 \("<" and "<\\u0000x0A>", the same up to a NUL byte/,
  );
  // A text empty up to its NUL becomes "[EMPTY_<index>]": a repeat of a token spelling it out.
  refused(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "[EMPTY_3]", "</s>", "\0x", "a"]) }),
    /token 3 repeats token 1 \("\\u0000x" and "\[EMPTY_3\]", the name libllama gives/,
  );
  checkModelMetadata(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "[EMPTY_4]", "<0x0A>", "\0x", "a\0b"]) }),
  );
  checkModelMetadata(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "", "<0x0A>", "\0", "a"]) }),
  );
});

Deno.test("checkModelMetadata() wants a SentencePiece vocabulary to have every byte", () => {
  // byte_to_token(): "<0xNN>", else the byte itself, else std::terminate mid-tokenization.
  refused(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "<0x0a>", "a"]) }),
    /no token for byte 0x0A \(neither "<0x0A>" nor the byte itself\)/,
  );
  checkModelMetadata(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "\n", "a"]) }),
  );
  checkModelMetadata(
    model({ "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "<0x0A>\0!", "a"]) }),
  );
  // Other tokenizers do not look bytes up this way.
  checkModelMetadata(
    model({
      "tokenizer.ggml.model": str("gpt2"),
      "tokenizer.ggml.tokens": vocab(["<unk>", "<s>", "</s>", "<0x0a>", "a"]),
    }),
  );
});

Deno.test("checkModelMetadata() refuses byte tokens for a tokenizer that has none", () => {
  refused(
    model({ "tokenizer.ggml.model": str("bert") }),
    /tokenizer\.ggml\.model is "bert": .* byte tokens/,
  );
  checkModelMetadata(model({ "tokenizer.ggml.model": str("gpt2") }));
});

Deno.test("checkModelMetadata() refuses tensor types the kernels cannot take", () => {
  refused(
    model({}, [tensor("blk.0.attn_q.weight", [8, 8], 26)]),
    /"blk\.0\.attn_q\.weight" has type I32: .* no matrix product/,
  );
  refused(model({}, [tensor("blk.0.attn_q.weight", [8, 8], 28)]), /has type F64/);
  refused(
    model({}, [tensor("blk.0.ffn_norm.weight", [32], 8)]),
    /"blk\.0\.ffn_norm\.weight" has type Q8_0: a one-dimensional tensor/,
  );
});

/** A small projector's metadata and tensors: `blocks` vision blocks with `parts` each. */
function projector(
  parts = ["attn_q", "attn_k", "attn_v", "attn_out"],
  extra: Record<string, GgufKv> = {},
  blocks = 2,
): GgufFile {
  const tensors = [tensor("v.patch_embd.weight", [2, 2, 3, 8], 1)];
  for (let il = 0; il < blocks; il++) {
    for (const part of parts) tensors.push(tensor(`v.blk.${il}.${part}.weight`, [8, 8], 8));
  }
  return {
    ...model({}, tensors),
    metadata: new Map<string, GgufKv>([
      ["general.architecture", str("clip")],
      ["clip.projector_type", str("gemma3")],
      ["clip.vision.block_count", u32(blocks)],
      ...Object.entries(extra),
    ]),
  };
}

Deno.test("checkProjectorMetadata() wants every vision block's attention weights", () => {
  checkProjectorMetadata(projector());
  checkProjectorMetadata(projector(["attn_qkv", "attn_out"]));
  const missing = projector();
  missing.tensors = missing.tensors.filter((t) => t.name !== "v.blk.1.attn_k.weight");
  assert.throws(
    () => checkProjectorMetadata(missing),
    /tensor "v\.blk\.1\.attn_k\.weight" is missing: each of the 2 vision blocks needs attn_q, attn_k and attn_v \(or attn_qkv\)/,
  );
  // More blocks than the file has.
  assert.throws(
    () => checkProjectorMetadata(projector(undefined, { "clip.vision.block_count": u32(3) })),
    /"v\.blk\.2\.attn_q\.weight" is missing/,
  );
  // Projectors whose blocks are not the standard ones are left to their own loaders.
  checkProjectorMetadata(projector(["ffn_up"], { "clip.projector_type": str("gemma3nv") }));
});

Deno.test("checkProjectorMetadata() wants the patch embedding of a projector whose graph starts from it", () => {
  const patchless = (type: string, key = "clip.projector_type") => {
    const p = projector(undefined, { [key]: str(type) });
    p.tensors = p.tensors.filter((t) => t.name !== "v.patch_embd.weight");
    if (key !== "clip.projector_type") p.metadata.delete("clip.projector_type");
    return p;
  };
  for (
    const [type, key] of [["gemma3"], ["mlp"], ["qwen2.5vl_merger", "clip.vision.projector_type"]]
  ) {
    assert.throws(
      () => checkProjectorMetadata(patchless(type!, key)),
      new RegExp(
        `tensor "v\\.patch_embd\\.weight" is missing: a "${
          type!.replaceAll(".", "\\.")
        }" projector's vision encoder starts from it`,
      ),
    );
  }
  // Graphs with patch layers of their own, or that check for it themselves, are left alone.
  checkProjectorMetadata(patchless("deepseekocr"));
  checkProjectorMetadata(patchless("yasa2"));
});

Deno.test("checkProjectorMetadata() refuses a weight of a type without a matrix product", () => {
  const f64 = projector();
  f64.tensors[1] = { ...f64.tensors[1]!, type: 28 };
  assert.throws(
    () => checkProjectorMetadata(f64),
    /tensor "v\.blk\.0\.attn_q\.weight" has type F64: libllama has no matrix product for it/,
  );
});

/** A rank-4 LoRA adapter's metadata and two weights. */
function lora(extra: Record<string, GgufKv> = {}): GgufFile {
  return {
    ...model({}, [
      tensor("blk.0.attn_q.weight.lora_a", [64, 4], 0),
      tensor("blk.0.attn_q.weight.lora_b", [4, 64], 0),
    ]),
    metadata: new Map<string, GgufKv>([
      ["general.type", str("adapter")],
      ["general.architecture", str("llama")],
      ["adapter.type", str("lora")],
      ["adapter.lora.alpha", f32(8)],
      ...Object.entries(extra),
    ]),
  };
}

Deno.test("checkLoraMetadata() refuses keys libllama reads with an asserting getter, and weights without a matrix product", () => {
  checkLoraMetadata(lora());
  assert.throws(
    () => checkLoraMetadata(lora({ "adapter.lora.alpha": u32(8) })),
    /metadata "adapter\.lora\.alpha" is not a 32-bit float: libllama reads it as one/,
  );
  assert.throws(
    () => checkLoraMetadata(lora({ "general.type": u32(1) })),
    /metadata "general\.type" is not a string/,
  );
  const f64 = lora();
  f64.tensors[1] = { ...f64.tensors[1]!, type: 28 };
  assert.throws(
    () => checkLoraMetadata(f64),
    /tensor "blk\.0\.attn_q\.weight\.lora_b" has type F64: libllama has no matrix product/,
  );
});
