/**
 * The models a conformance run serves, made once into the cache
 * (`${XDG_CACHE_HOME:-~/.cache}/llamafile-bench/conformance/models/`): stories260K from the
 * shared models as it is, with FIM token ids added, or split in three GGUF files; and
 * random-weight BERTs of the presets' architecture (an embedding model of bge-small's shape and
 * a reranker with a classification head) carrying the real BGE WordPiece vocabulary from the
 * llama.cpp source. Random weights give vectors and scores of the right shape and properties
 * (normalized, deterministic), not meaningful ones.
 *
 * @module
 */
import {
  GgmlType,
  type GgufKv,
  type GgufTensorInfo,
  GgufType,
  readGguf,
} from "../lib/engine/gguf_reader.ts";
import { cacheDir, exists } from "../bench/cache_dir.ts";
import { type GgufTensorSpec, writeGguf } from "../bench/gguf_writer.ts";
import { quantBlocks, sharedModel } from "../bench/synth_model.ts";
import type { ModelKey } from "./presets.ts";

/** Bump when a model's bytes change, so cached ones are remade. */
const MODELS_VERSION = 1;

const u16 = (value: number): GgufKv => ({ type: GgufType.UINT16, value });
const u32 = (value: number): GgufKv => ({ type: GgufType.UINT32, value });
const i32 = (value: number): GgufKv => ({ type: GgufType.INT32, value });
const f32 = (value: number): GgufKv => ({ type: GgufType.FLOAT32, value });
const str = (value: string): GgufKv => ({ type: GgufType.STRING, value });
const bool = (value: boolean): GgufKv => ({ type: GgufType.BOOL, value });

/**
 * stories260K's token ids used as FIM markers: the byte tokens `<0x00>`, `<0x01>`, `<0x02>`,
 * which no text the tests send ever produces.
 */
export const STORIES_FIM = { pre: 3, suf: 4, mid: 5 } as const;

/** Reads the data of `tensor` of the GGUF at `path`. */
async function tensorBytes(
  path: string,
  dataOffset: number,
  tensor: GgufTensorInfo,
): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  await file.seek(dataOffset + tensor.offset, Deno.SeekMode.Start);
  const out = new Uint8Array(tensor.byteSize);
  let done = 0;
  while (done < out.length) {
    const n = await file.read(out.subarray(done));
    if (n === null) throw new Error(`Cannot read tensor "${tensor.name}" of "${path}": truncated`);
    done += n;
  }
  return out;
}

/** The tensors of the GGUF at `path`, their data read from it. */
async function copyTensors(path: string): Promise<GgufTensorSpec[]> {
  const gguf = await readGguf(path);
  const out: GgufTensorSpec[] = [];
  for (const t of gguf.tensors) {
    out.push({
      name: t.name,
      dims: t.dims,
      type: t.type,
      data: await tensorBytes(path, gguf.baseOffset + gguf.dataOffset, t),
    });
  }
  return out;
}

/** stories260K with `tokenizer.ggml.fim_{pre,suf,mid}_token_id` set: a FIM-capable model. */
async function writeStoriesInfill(path: string): Promise<void> {
  const source = sharedModel("stories260K.gguf");
  const gguf = await readGguf(source);
  const metadata = [...gguf.metadata].filter(([k]) => !k.startsWith("tokenizer.ggml.fim_"));
  metadata.push(
    ["general.name", str("stories260K with FIM tokens (llamafile.ts conformance)")],
    ["tokenizer.ggml.fim_pre_token_id", u32(STORIES_FIM.pre)],
    ["tokenizer.ggml.fim_suf_token_id", u32(STORIES_FIM.suf)],
    ["tokenizer.ggml.fim_mid_token_id", u32(STORIES_FIM.mid)],
  );
  const seen = new Set<string>();
  const unique = metadata.reverse().filter(([k]) => !seen.has(k) && seen.add(k)).reverse();
  await writeGguf(path, { metadata: unique, tensors: await copyTensors(source) });
}

/**
 * stories260K split as llama.cpp's `gguf-split` splits: `split.no`, `split.count` and
 * `split.tensors.count` in every file, the model's metadata in the first, the tensors shared
 * out in order. Returns the path of the first file.
 */
async function writeStoriesSplit(dir: string, count = 3): Promise<string> {
  const source = sharedModel("stories260K.gguf");
  const gguf = await readGguf(source);
  const tensors = await copyTensors(source);
  const per = Math.ceil(tensors.length / count);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `stories260K-split-${String(i + 1).padStart(5, "0")}-of-${
      String(count).padStart(5, "0")
    }.gguf`;
    const split: [string, GgufKv][] = [
      ["split.no", u16(i)],
      ["split.count", u16(count)],
      ["split.tensors.count", i32(tensors.length)],
    ];
    const metadata = i === 0 ? [...gguf.metadata, ...split] : split;
    await writeGguf(`${dir}/${name}`, {
      metadata,
      tensors: tensors.slice(i * per, (i + 1) * per),
    });
    paths.push(`${dir}/${name}`);
  }
  return paths[0]!;
}

/** The shape of a synthetic BERT. */
interface BertShape {
  name: string;
  layers: number;
  embd: number;
  ff: number;
  heads: number;
  ctx: number;
  /** llama.cpp's `enum llama_pooling_type`: 1 mean, 2 cls, 4 rank. */
  pooling: number;
  /** A classification head (`cls`, `cls.output`): a reranker. */
  classifier: boolean;
  seed: number;
}

/** bge-small-en-v1.5's shape (12 layers, 384 wide, 12 heads, CLS pooling). */
const BGE_SMALL: BertShape = {
  name: "bge-small shape, random weights",
  layers: 12,
  embd: 384,
  ff: 1536,
  heads: 12,
  ctx: 512,
  pooling: 2,
  classifier: false,
  seed: 11,
};

/** A tiny reranker's shape (4 layers, 384 wide) with a one-label classification head. */
const RERANKER_TINY: BertShape = {
  name: "tiny BERT reranker shape, random weights",
  layers: 4,
  embd: 384,
  ff: 1536,
  heads: 12,
  ctx: 8192,
  pooling: 4,
  classifier: true,
  seed: 12,
};

/** A random-weight BERT of `shape` with the BGE vocabulary of the llama.cpp source at `src`. */
async function writeBert(path: string, shape: BertShape, src: string): Promise<void> {
  const vocab = await readGguf(`${src}/models/ggml-vocab-bert-bge.gguf`);
  const tokenizer = [...vocab.metadata].filter(([k]) => k.startsWith("tokenizer."));
  const tokens = vocab.metadata.get("tokenizer.ggml.tokens");
  if (tokens?.type !== GgufType.ARRAY) {
    throw new Error("Cannot make a BERT model: ggml-vocab-bert-bge.gguf has no tokens");
  }
  const nVocab = tokens.value.length;
  const metadata: [string, GgufKv][] = [
    ["general.architecture", str("bert")],
    ["general.name", str(`${shape.name} (llamafile.ts conformance)`)],
    ["general.file_type", u32(7)],
    ["bert.block_count", u32(shape.layers)],
    ["bert.context_length", u32(shape.ctx)],
    ["bert.embedding_length", u32(shape.embd)],
    ["bert.feed_forward_length", u32(shape.ff)],
    ["bert.attention.head_count", u32(shape.heads)],
    ["bert.attention.layer_norm_epsilon", f32(1e-12)],
    ["bert.attention.causal", bool(false)],
    ["bert.pooling_type", u32(shape.pooling)],
    ...tokenizer,
    ["llamafile_conformance.version", u32(MODELS_VERSION)],
  ];
  const tensors: GgufTensorSpec[] = [];
  const f32s = (values: Float32Array) => new Uint8Array(values.buffer);
  const matrix = (name: string, cols: number, rows: number) => {
    const seed = (shape.seed * 7919 + tensors.length * 104729) >>> 0 || 1;
    tensors.push({
      name,
      dims: [cols, rows],
      type: GgmlType.Q8_0,
      data: () => quantBlocks(GgmlType.Q8_0, cols * rows, seed),
    });
  };
  const vector = (name: string, n: number, value: number) => {
    tensors.push({
      name,
      dims: [n],
      type: GgmlType.F32,
      data: f32s(new Float32Array(n).fill(value)),
    });
  };
  const e = shape.embd;
  matrix("token_embd.weight", e, nVocab);
  tensors.push({
    name: "token_types.weight",
    dims: [e, 2],
    type: GgmlType.F32,
    data: f32s(new Float32Array(e * 2)),
  });
  matrix("position_embd.weight", e, shape.ctx);
  vector("token_embd_norm.weight", e, 1);
  vector("token_embd_norm.bias", e, 0);
  for (let i = 0; i < shape.layers; i++) {
    for (const part of ["attn_q", "attn_k", "attn_v"]) {
      matrix(`blk.${i}.${part}.weight`, e, e);
      vector(`blk.${i}.${part}.bias`, e, 0);
    }
    matrix(`blk.${i}.attn_output.weight`, e, e);
    vector(`blk.${i}.attn_output.bias`, e, 0);
    vector(`blk.${i}.attn_output_norm.weight`, e, 1);
    vector(`blk.${i}.attn_output_norm.bias`, e, 0);
    matrix(`blk.${i}.ffn_up.weight`, e, shape.ff);
    vector(`blk.${i}.ffn_up.bias`, shape.ff, 0);
    matrix(`blk.${i}.ffn_down.weight`, shape.ff, e);
    vector(`blk.${i}.ffn_down.bias`, e, 0);
    vector(`blk.${i}.layer_output_norm.weight`, e, 1);
    vector(`blk.${i}.layer_output_norm.bias`, e, 0);
  }
  if (shape.classifier) {
    matrix("cls.weight", e, e);
    vector("cls.bias", e, 0);
    matrix("cls.output.weight", e, 1);
    vector("cls.output.bias", 1, 0);
  }
  await writeGguf(path, { metadata, tensors });
}

/** Paths of the prepared models. */
export type ModelPaths = Record<ModelKey, string>;

/**
 * Makes (once) and returns every model of {@linkcode ModelKey}. `src` is the llama.cpp source
 * (for the BERT vocabulary).
 */
export async function ensureModels(src: string, log: (line: string) => void): Promise<ModelPaths> {
  const dir = cacheDir("conformance", `models-v${MODELS_VERSION}`);
  await Deno.mkdir(dir, { recursive: true });
  const make = async (name: string, write: (path: string) => Promise<unknown>) => {
    const path = `${dir}/${name}`;
    if (!(await exists(path))) {
      log(`writing ${name}`);
      await write(path);
    }
    return path;
  };
  const splitFirst = `${dir}/stories260K-split-00001-of-00003.gguf`;
  if (!(await exists(`${dir}/stories260K-split-00003-of-00003.gguf`))) {
    log("writing stories260K-split-0000N-of-00003.gguf");
    await writeStoriesSplit(dir);
  }
  return {
    stories: sharedModel("stories260K.gguf"),
    "stories-infill": await make("stories260K-infill.gguf", writeStoriesInfill),
    "stories-split": splitFirst,
    "bert-embedding": await make(
      "bert-bge-small-synthetic.gguf",
      (p) => writeBert(p, BGE_SMALL, src),
    ),
    "bert-reranker": await make(
      "bert-reranker-synthetic.gguf",
      (p) => writeBert(p, RERANKER_TINY, src),
    ),
  };
}
