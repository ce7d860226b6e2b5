/**
 * Checks a GGUF's metadata, with our bounded reader, for the values on which libllama's
 * loader or its kernels abort (`GGML_ASSERT`) or read out of bounds instead of returning an
 * error: so a corrupt or hostile model is refused with one line naming the key and the value
 * before libllama sees it. Each rule cites the llama.cpp code it mirrors (release v0.5.0);
 * the GGUF fuzzer (`deno task fuzz --target gguf`) finds what is still missing.
 *
 * @module
 */
import {
  ggmlTypeName,
  type GgufFile,
  type GgufKv,
  type GgufScalar,
  GgufStrings,
  type GgufTensorInfo,
  GgufType,
} from "./gguf_reader.ts";

/** `LLAMA_MAX_LAYERS` (src/llama-hparams.h). */
export const LLAMA_MAX_LAYERS = 512;
/** `LLAMA_MAX_EXPERTS` (src/llama-hparams.h). */
export const LLAMA_MAX_EXPERTS = 1024;
/** The values `<arch>.rope.scaling.type` may take (`LLAMA_ROPE_SCALING_TYPES`, src/llama-model.cpp). */
export const ROPE_SCALING_TYPES: readonly string[] = ["none", "linear", "yarn", "longrope"];
/** Tokenizers whose byte tokens (`<0xNN>`) libllama can decode (`token_to_byte`, src/llama-vocab.cpp). */
export const BYTE_TOKENIZERS: readonly string[] = ["llama", "gpt2", "t5"];
/** `LLAMA_TOKEN_ATTR`/`token_type` of a byte token (`LLAMA_TOKEN_TYPE_BYTE`). */
const TOKEN_TYPE_BYTE = 6;

/**
 * ggml types without a CPU dot product (`vec_dot` is NULL in ggml-cpu.c's `type_traits_cpu`):
 * a weight matrix of one of them makes `ggml_mul_mat` call through a null pointer.
 */
const NO_MATMUL_TYPES: ReadonlySet<number> = new Set([9, 15, 24, 25, 26, 27, 28]);
/** `GGML_TYPE_F32`. */
const F32 = 0;

/** A model whose metadata libllama cannot load safely. */
export class ModelCheckError extends Error {
  override name = "ModelCheckError";
}

function shown(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "number" && Number.isNaN(value)) return "NaN";
  return String(value);
}

function fail(key: string, value: unknown, why: string): never {
  throw new ModelCheckError(`${key} is ${shown(value)}: ${why}`);
}

/** A scalar number, or `undefined` when absent or not a number. */
function numberOf(kv: GgufKv | undefined): number | undefined {
  if (kv === undefined || kv.type === GgufType.ARRAY) return undefined;
  const v = kv.value;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}

/** The largest of a scalar or per-layer array value (llama.cpp's `get_key_or_arr`). */
function maxOf(kv: GgufKv | undefined): number | undefined {
  if (kv === undefined) return undefined;
  if (kv.type !== GgufType.ARRAY) return numberOf(kv);
  let max = 0;
  for (const item of kv.value) {
    const n = typeof item === "bigint" ? Number(item) : typeof item === "number" ? item : 0;
    if (n > max) max = n;
  }
  return max;
}

function checkLayers(meta: Map<string, GgufKv>, arch: string): number | undefined {
  // src/llama-model.cpp load_hparams: GGML_ASSERT(n_layer_all > 0 && n_layer_all <= LLAMA_MAX_LAYERS)
  const key = `${arch}.block_count`;
  const layers = numberOf(meta.get(key));
  if (layers === undefined) return undefined;
  if (!(layers >= 1 && layers <= LLAMA_MAX_LAYERS)) {
    fail(key, layers, `a model has 1 to ${LLAMA_MAX_LAYERS} layers`);
  }
  // GGML_ASSERT(hparams.n_layer_nextn <= hparams.n_layer_all)
  const nextnKey = `${arch}.nextn_predict_layers`;
  const nextn = numberOf(meta.get(nextnKey));
  if (nextn !== undefined && nextn > layers) {
    fail(nextnKey, nextn, `more than the model's ${layers} layers`);
  }
  return layers;
}

function checkExperts(meta: Map<string, GgufKv>, arch: string): void {
  // src/llama-model.cpp load_hparams, the n_expert / n_expert_used / groups asserts.
  const experts = numberOf(meta.get(`${arch}.expert_count`)) ?? 0;
  const usedKey = `${arch}.expert_used_count`;
  const used = maxOf(meta.get(usedKey)) ?? 0;
  const groupsKey = `${arch}.expert_group_count`;
  const groups = numberOf(meta.get(groupsKey)) ?? 0;
  const groupUsedKey = `${arch}.expert_group_used_count`;
  const groupUsed = numberOf(meta.get(groupUsedKey)) ?? 0;
  if (experts > LLAMA_MAX_EXPERTS) {
    fail(
      `${arch}.expert_count`,
      experts,
      `more than the ${LLAMA_MAX_EXPERTS} experts llama.cpp supports`,
    );
  }
  if (used > experts) fail(usedKey, used, `more than the model's ${experts} experts`);
  if (experts > 0) {
    if (used === 0) fail(usedKey, used, `a model with ${experts} experts uses at least one`);
    if (groups >= experts) fail(groupsKey, groups, `not fewer than the ${experts} experts`);
    if (groups > 1) {
      if (experts % groups !== 0) fail(groupsKey, groups, `does not divide the ${experts} experts`);
      if (!(groupUsed > 0 && groupUsed < groups)) {
        fail(groupUsedKey, groupUsed, `must be between 1 and ${groups - 1}`);
      }
    }
  } else if (groups !== 0) {
    fail(groupsKey, groups, "a model without experts has no expert groups");
  }
}

function checkFloats(meta: Map<string, GgufKv>, arch: string): void {
  for (const [key, kv] of meta) {
    if (!key.startsWith(`${arch}.`)) continue;
    if (kv.type !== GgufType.FLOAT32 && kv.type !== GgufType.FLOAT64) continue;
    const value = kv.value as number;
    // ggml's norm kernels: GGML_ASSERT(eps >= 0.0f) (ggml-cpu/ops.cpp), checked at decode time.
    if (/epsilon|_eps$/.test(key) && !(value >= 0 && Number.isFinite(value))) {
      fail(key, value, "an epsilon is a finite number of at least 0");
    }
    if (!Number.isFinite(value) && !/clamp|softcap|scale/.test(key)) {
      fail(key, value, "a hyperparameter must be a finite number");
    }
  }
  // src/llama-model.cpp: GGML_ASSERT(rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)
  const ropeKey = `${arch}.rope.scaling.type`;
  const rope = meta.get(ropeKey);
  if (
    rope !== undefined && rope.type === GgufType.STRING &&
    !ROPE_SCALING_TYPES.includes(rope.value as string)
  ) {
    fail(ropeKey, rope.value, `not one of ${ROPE_SCALING_TYPES.join(", ")}`);
  }
}

/**
 * The first token that repeats an earlier one as a key of libllama's token map, as `[index,
 * earlier index]`, or null: its text up to the first NUL (libllama reads a C string), and
 * `[EMPTY_<index>]` for a text that is then empty (see {@linkcode GgufStrings.firstRepeat}).
 */
function firstRepeat(items: readonly GgufScalar[] | GgufStrings): [number, number] | null {
  if (items instanceof GgufStrings) return items.firstRepeat();
  const seen = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const text = String(items[i]);
    const nul = text.indexOf("\0");
    const key = (nul === -1 ? text : text.slice(0, nul)) || `[EMPTY_${i}]`;
    const first = seen.get(key);
    if (first !== undefined) return [Math.max(i, first), Math.min(i, first)];
    seen.set(key, i);
  }
  return null;
}

/** Item `i`'s bytes as libllama keys its token: up to the first NUL. */
function tokenKey(items: readonly GgufScalar[] | GgufStrings, i: number): Uint8Array {
  const bytes = items instanceof GgufStrings
    ? items.bytesAt(i)
    : new TextEncoder().encode(String(items[i]));
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

/** The byte a `<0xNN>` key names (upper-case hex, as libllama spells it), or -1. */
function byteTokenValue(key: Uint8Array): number {
  if (key.length !== 6 || key[0] !== 0x3c || key[1] !== 0x30 || key[2] !== 0x78) return -1;
  if (key[5] !== 0x3e) return -1;
  const digit = (c: number) =>
    c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;
  const high = digit(key[3]!);
  const low = digit(key[4]!);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/**
 * SentencePiece (`llama`) tokenization writes text the vocabulary lacks as byte tokens:
 * `byte_to_token()` looks up `<0xNN>`, then the byte itself, with `std::map::at`, whose
 * exception ends the process (`std::terminate`) in the middle of `llama_tokenize`. So every
 * byte needs one of the two (byte 0 the first: alone it is an empty C string).
 */
function checkByteTokens(tokens: readonly GgufScalar[] | GgufStrings): void {
  const missing = new Set<number>(Array.from({ length: 256 }, (_, b) => b));
  // They sit near the start of a SentencePiece vocabulary: the rest is read only if need be.
  for (let i = 0; i < tokens.length && missing.size > 0; i++) {
    const key = tokenKey(tokens, i);
    if (key.length === 1) missing.delete(key[0]!);
    else missing.delete(byteTokenValue(key));
  }
  if (missing.size === 0) return;
  const byte = Math.min(...missing).toString(16).toUpperCase().padStart(2, "0");
  fail(
    "tokenizer.ggml.tokens",
    `${tokens.length} entries`,
    `no token for byte 0x${byte} (neither "<0x${byte}>" nor the byte itself), which libllama's SentencePiece tokenizer needs for text outside the vocabulary`,
  );
}

function checkVocab(meta: Map<string, GgufKv>): void {
  const tokensKv = meta.get("tokenizer.ggml.tokens");
  if (tokensKv === undefined || tokensKv.type !== GgufType.ARRAY) return;
  const tokens = tokensKv.value;
  // src/llama-vocab.cpp load: reads scores[i] and toktypes[i] for every token without a
  // length check (an out-of-bounds read when the arrays are shorter).
  for (const key of ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"]) {
    const kv = meta.get(key);
    if (kv === undefined) continue;
    if (kv.type !== GgufType.ARRAY) {
      fail(key, kv.value, "must be an array beside tokenizer.ggml.tokens");
    }
    if (kv.value.length !== tokens.length) {
      fail(key, `${kv.value.length} entries`, `tokenizer.ggml.tokens has ${tokens.length}`);
    }
  }
  // GGML_ASSERT(id_to_token.size() == token_to_id.size()): every token text appears once.
  const repeat = firstRepeat(tokens);
  if (repeat !== null) {
    const [i, first] = repeat;
    const text = String(tokens.at(i));
    const earlier = String(tokens.at(first));
    const how = text === earlier
      ? shown(text)
      : `${shown(text)} and ${shown(earlier)}, ${
        text.split("\0")[0] === "" || earlier.split("\0")[0] === ""
          ? "the name libllama gives a token empty up to its first NUL byte"
          : "the same up to a NUL byte, where libllama ends a token's text"
      }`;
    fail(
      "tokenizer.ggml.tokens",
      `${tokens.length} entries`,
      `token ${i} repeats token ${first} (${how})`,
    );
  }
  const model = meta.get("tokenizer.ggml.model");
  if (model?.type === GgufType.STRING && model.value === "llama") checkByteTokens(tokens);
  // token_to_byte(): GGML_ABORT for byte tokens of a tokenizer without byte fallback.
  const types = meta.get("tokenizer.ggml.token_type");
  if (model?.type === GgufType.STRING && types?.type === GgufType.ARRAY) {
    const name = model.value as string;
    const values = types.value instanceof GgufStrings ? [...types.value] : types.value;
    if (!BYTE_TOKENIZERS.includes(name) && values.some((t) => Number(t) === TOKEN_TYPE_BYTE)) {
      fail(
        "tokenizer.ggml.model",
        name,
        "this tokenizer has no byte tokens, and the vocabulary has some",
      );
    }
  }
}

// A model has hundreds of tensors: the message is made only for one that fails.
const tensorType = (tensor: GgufTensorInfo) =>
  `tensor ${shown(tensor.name)} has type ${ggmlTypeName(tensor.type)}`;

/** Refuses a weight matrix of a type ggml's CPU backend has no matrix product for. */
function checkMatmulTypes(tensors: readonly GgufTensorInfo[]): void {
  for (const tensor of tensors) {
    let dims = 0;
    for (const d of tensor.dims) if (d !== 1) dims++;
    if (dims >= 2 && NO_MATMUL_TYPES.has(tensor.type)) {
      throw new ModelCheckError(
        `${
          tensorType(tensor)
        }: libllama has no matrix product for it (weights are float or quantized)`,
      );
    }
  }
}

function checkTensors(tensors: readonly GgufTensorInfo[]): void {
  checkMatmulTypes(tensors);
  for (const tensor of tensors) {
    // ggml-cpu binary-ops.cpp: GGML_ABORT("unsupported types") for an F32 activation times a
    // norm or bias of another type; converters always write 1-D tensors as F32.
    if (tensor.dims.length === 1 && tensor.type !== F32) {
      throw new ModelCheckError(
        `${tensorType(tensor)}: a one-dimensional tensor (a norm or a bias) is F32`,
      );
    }
  }
}

/**
 * Throws a {@linkcode ModelCheckError} naming the key and the value (or the tensor) when
 * `gguf` holds what libllama aborts on, crashes on, or reads out of bounds for.
 */
export function checkModelMetadata(gguf: GgufFile): void {
  const meta = gguf.metadata;
  const archKv = meta.get("general.architecture");
  const arch = archKv?.type === GgufType.STRING ? String(archKv.value) : "";
  if (arch !== "") {
    checkLayers(meta, arch);
    checkExperts(meta, arch);
    checkFloats(meta, arch);
  }
  checkVocab(meta);
  checkTensors(gguf.tensors);
}

/** The keys libllama's LoRA loader reads with typed getters that assert (src/llama-adapter.cpp). */
const LORA_KEY_TYPES: readonly [string, number, string][] = [
  ["general.type", GgufType.STRING, "a string"],
  ["general.architecture", GgufType.STRING, "a string"],
  ["adapter.type", GgufType.STRING, "a string"],
  ["adapter.lora.alpha", GgufType.FLOAT32, "a 32-bit float"],
];

/**
 * Throws a {@linkcode ModelCheckError} when the LoRA adapter `gguf` holds what libllama's
 * adapter loader accepts and then crashes on: one of the keys it reads with an asserting getter
 * stored as another type, or a weight of a type without a matrix product.
 */
export function checkLoraMetadata(gguf: GgufFile): void {
  for (const [key, type, what] of LORA_KEY_TYPES) {
    const kv = gguf.metadata.get(key);
    if (kv !== undefined && kv.type !== type) {
      throw new ModelCheckError(`metadata ${shown(key)} is not ${what}: libllama reads it as one`);
    }
  }
  checkMatmulTypes(gguf.tensors);
}

/** Projector types whose vision blocks are not the standard ones (tools/mtmd/clip.cpp). */
const NONSTANDARD_PROJECTORS: readonly string[] = ["gemma3nv", "qwen3tts_spkenc", "pockettts_gen"];

/**
 * Projector types whose vision graph convolves (or multiplies by) `v.patch_embd.weight`
 * unconditionally, though clip.cpp loads it as optional: without it the graph is built on a
 * null tensor (tools/mtmd/clip.cpp `build_inp()` and the graphs in tools/mtmd/models/).
 */
const PATCH_EMBEDDING_PROJECTORS: readonly string[] = [
  // clip_graph_siglip
  "gemma3",
  "idefics3",
  "lfm2",
  "janus_pro",
  "phi4",
  // clip_graph_llava
  "mlp",
  "ldp",
  "ldpv2",
  "adapter",
  // the other graphs that start from build_inp() or the same convolution
  "pixtral",
  "lightonocr",
  "dots_ocr",
  "dots3note_v",
  "qwen2vl_merger",
  "qwen2.5vl_merger",
  "qwen3vl_merger",
  "exaone4_5",
  "gemma4v",
  "gemma4uv",
  "glm4v",
  "granite4_vision",
  "llama4",
  "kimivl",
  "kimik25",
  "paddleocr",
  "resampler",
  "internvl",
  "nemotron_v2_vl",
  "cogvlm",
  "hunyuanvl",
  "muse-glimmer",
  "youtuvl",
  "deepseek4v",
];

/** The vision projector's type as clip.cpp reads it: the shared key, else the vision one. */
function visionProjectorType(meta: GgufFile["metadata"]): string {
  for (const key of ["clip.projector_type", "clip.vision.projector_type"]) {
    const kv = meta.get(key);
    if (kv?.type === GgufType.STRING && String(kv.value) !== "") return String(kv.value);
  }
  return "";
}

/**
 * Throws a {@linkcode ModelCheckError} naming the tensor when the image projector `gguf` (a
 * `clip` GGUF) holds what libmtmd's clip loader accepts and then crashes on: a weight matrix of
 * a type without a matrix product, or a vision block without its attention weights (clip.cpp
 * loads `attn_q`, `attn_k` and `attn_v` as optional, for projectors with a fused `attn_qkv`,
 * and then multiplies by whichever it has: a missing one is a null pointer).
 */
export function checkProjectorMetadata(gguf: GgufFile): void {
  checkMatmulTypes(gguf.tensors);
  const type = visionProjectorType(gguf.metadata);
  if (NONSTANDARD_PROJECTORS.includes(type)) return;
  const names = new Set(gguf.tensors.map((t) => t.name));
  if (PATCH_EMBEDDING_PROJECTORS.includes(type) && !names.has("v.patch_embd.weight")) {
    throw new ModelCheckError(
      `tensor "v.patch_embd.weight" is missing: a ${
        shown(type)
      } projector's vision encoder starts from it`,
    );
  }
  const blocks = numberOf(gguf.metadata.get("clip.vision.block_count"));
  if (blocks === undefined) return;
  for (let il = 0; il < blocks && il < LLAMA_MAX_LAYERS; il++) {
    if (names.has(`v.blk.${il}.attn_qkv.weight`)) continue;
    for (const part of ["attn_q", "attn_k", "attn_v"]) {
      const name = `v.blk.${il}.${part}.weight`;
      if (!names.has(name)) {
        throw new ModelCheckError(
          `tensor ${
            shown(name)
          } is missing: each of the ${blocks} vision blocks needs attn_q, attn_k and attn_v (or attn_qkv)`,
        );
      }
    }
  }
}
