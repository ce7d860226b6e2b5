/**
 * GGUF mutations that know the format: byte-level changes of the header's counts, key and value
 * types, string and array lengths, tensor dims, types and offsets, and truncation (they stress
 * the GGUF parser); and semantic changes re-encoded as valid GGUF (hyperparameters at their
 * limits, NaN and negative epsilons, vocabularies with duplicate or missing tokens, other
 * architectures and tokenizers, special token ids out of range: they stress the model loader).
 *
 * @module
 */
import {
  type GgufFile,
  type GgufKv,
  type GgufScalar,
  GgufType,
  readGguf,
} from "../lib/engine/gguf_reader.ts";
import { writeGguf } from "../bench/gguf_writer.ts";
import type { Rng } from "./rng.ts";

/** A numeric field of the file's layout. */
interface Field {
  offset: number;
  width: 4 | 8;
  role:
    | "tensor_count"
    | "kv_count"
    | "key_length"
    | "kv_type"
    | "value"
    | "string_length"
    | "array_type"
    | "array_count"
    | "name_length"
    | "n_dims"
    | "dim"
    | "ggml_type"
    | "tensor_offset";
  /** The key, for metadata fields. */
  key?: string;
}

/** Where every numeric field of a well-formed GGUF is, and where its data starts. */
export interface GgufLayout {
  fields: Field[];
  /** End of the tensor infos (the data section starts after padding). */
  headerEnd: number;
}

const SCALAR_WIDTH: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

/** Maps the numeric fields of a well-formed GGUF (a seed file). */
export function mapGguf(bytes: Uint8Array): GgufLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  let at = 8;
  const u64 = () => Number(view.getBigUint64(at, true));
  fields.push({ offset: at, width: 8, role: "tensor_count" });
  const tensors = u64();
  at += 8;
  fields.push({ offset: at, width: 8, role: "kv_count" });
  const kvs = u64();
  at += 8;
  const decoder = new TextDecoder();
  const string = (role: Field["role"], key?: string): string => {
    fields.push({ offset: at, width: 8, role, ...(key !== undefined && { key }) });
    const length = u64();
    at += 8;
    const text = decoder.decode(bytes.subarray(at, at + length));
    at += length;
    return text;
  };
  const value = (type: number, key: string): void => {
    if (type === GgufType.STRING) {
      string("string_length", key);
    } else if (type === GgufType.ARRAY) {
      fields.push({ offset: at, width: 4, role: "array_type", key });
      const itemType = view.getUint32(at, true);
      at += 4;
      fields.push({ offset: at, width: 8, role: "array_count", key });
      const count = u64();
      at += 8;
      for (let i = 0; i < count; i++) {
        if (itemType === GgufType.STRING) {
          const length = u64();
          if (i < 4) fields.push({ offset: at, width: 8, role: "string_length", key });
          at += 8 + length;
        } else {
          at += SCALAR_WIDTH[itemType]!;
        }
      }
    } else {
      const width = SCALAR_WIDTH[type]!;
      if (width >= 4) fields.push({ offset: at, width: width as 4 | 8, role: "value", key });
      at += width;
    }
  };
  for (let i = 0; i < kvs; i++) {
    const key = string("key_length");
    fields.push({ offset: at, width: 4, role: "kv_type", key });
    const type = view.getUint32(at, true);
    at += 4;
    value(type, key);
  }
  for (let i = 0; i < tensors; i++) {
    string("name_length");
    fields.push({ offset: at, width: 4, role: "n_dims" });
    const dims = view.getUint32(at, true);
    at += 4;
    for (let d = 0; d < dims; d++) {
      fields.push({ offset: at, width: 8, role: "dim" });
      at += 8;
    }
    fields.push({ offset: at, width: 4, role: "ggml_type" });
    at += 4;
    fields.push({ offset: at, width: 8, role: "tensor_offset" });
    at += 8;
  }
  return { fields, headerEnd: at };
}

const INTERESTING_32 = [
  0,
  1,
  2,
  3,
  4,
  31,
  32,
  33,
  64,
  127,
  128,
  255,
  256,
  512,
  513,
  4096,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];
const INTERESTING_64 = [
  0n,
  1n,
  2n,
  0xffn,
  0x10000n,
  0x7fffffffn,
  0xffffffffn,
  0x100000000n,
  1n << 40n,
  1n << 53n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

function writeField(bytes: Uint8Array, field: Field, rng: Rng): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (field.width === 4) {
    const old = view.getUint32(field.offset, true);
    const value = rng.chance(0.7)
      ? rng.pick(INTERESTING_32)
      : rng.chance(0.5)
      ? (old + rng.pick([-2, -1, 1, 2])) >>> 0
      : rng.int(0x100000000);
    view.setUint32(field.offset, value, true);
    return `${field.role}${field.key ? `(${field.key})` : ""}@${field.offset} ${old} -> ${value}`;
  }
  const old = view.getBigUint64(field.offset, true);
  const value = rng.chance(0.7)
    ? rng.pick(INTERESTING_64)
    : rng.chance(0.5)
    ? BigInt.asUintN(64, old + BigInt(rng.pick([-2, -1, 1, 2, 1000])))
    : BigInt(rng.int(0x100000000)) * BigInt(rng.int(0x100000000));
  view.setBigUint64(field.offset, value, true);
  return `${field.role}${field.key ? `(${field.key})` : ""}@${field.offset} ${old} -> ${value}`;
}

/** One byte-level mutation of `seed` (not re-encoded). */
export function mutateBytes(
  seed: Uint8Array,
  layout: GgufLayout,
  rng: Rng,
): { bytes: Uint8Array; what: string } {
  const bytes = seed.slice();
  const kind = rng.pick(["field", "field", "field", "flip", "truncate", "kvtype"] as const);
  if (kind === "field") {
    const field = rng.pick(layout.fields);
    return { bytes, what: `field ${writeField(bytes, field, rng)}` };
  }
  if (kind === "kvtype") {
    const fields = layout.fields.filter((f) => f.role === "kv_type" || f.role === "array_type");
    const field = rng.pick(fields);
    const type = rng.chance(0.8) ? rng.int(14) : rng.pick([13, 0xff, 0xffffffff]);
    new DataView(bytes.buffer).setUint32(field.offset, type, true);
    return { bytes, what: `type of ${field.key}@${field.offset} -> ${type}` };
  }
  if (kind === "truncate") {
    const end = rng.chance(0.7) ? rng.int(layout.headerEnd) : rng.int(seed.length);
    return { bytes: bytes.slice(0, end), what: `truncated at ${end} of ${seed.length}` };
  }
  const flips = 1 + rng.int(8);
  const where: number[] = [];
  for (let i = 0; i < flips; i++) {
    const at = rng.chance(0.8) ? rng.int(layout.headerEnd) : rng.int(bytes.length);
    bytes[at] = rng.chance(0.5) ? bytes[at]! ^ (1 << rng.int(8)) : rng.int(256);
    where.push(at);
  }
  return { bytes, what: `bytes changed at ${where.join(",")}` };
}

/** [block size, type size] of the ggml types the tensor mutation uses. */
const TYPE_LAYOUT: Record<number, readonly [number, number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  10: [256, 84],
  12: [256, 144],
  14: [256, 210],
  16: [256, 66],
  20: [32, 18],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  30: [1, 2],
  34: [256, 54],
  39: [32, 17],
};

const ARCHES = [
  "llama",
  "gemma",
  "gemma2",
  "gemma3",
  "qwen2",
  "qwen3",
  "qwen2moe",
  "phi2",
  "phi3",
  "bert",
  "nomic-bert",
  "t5",
  "t5encoder",
  "mamba",
  "mamba2",
  "rwkv6",
  "rwkv7",
  "gpt2",
  "falcon",
  "starcoder",
  "mpt",
  "bloom",
  "command-r",
  "deepseek2",
  "olmo",
  "granite",
  "chatglm",
  "jamba",
  "clip",
  "unknown-arch",
  "",
];
const TOKENIZERS = [
  "llama",
  "gpt2",
  "bert",
  "t5",
  "rwkv",
  "ugm",
  "plamo2",
  "none",
  "no_vocab",
  "bogus",
  "",
];

function interestingNumber(type: number, rng: Rng): GgufScalar {
  switch (type) {
    case GgufType.FLOAT32:
    case GgufType.FLOAT64:
      return rng.pick([NaN, Infinity, -Infinity, -1, -1e-5, 0, 1e-30, 1e30, 3.4e38, -0]);
    case GgufType.INT32:
      return rng.pick([-1, -2147483648, 2147483647, 0, 1, 100000]);
    case GgufType.INT64:
      return rng.pick([-1n, 0n, 1n, (1n << 63n) - 1n, -(1n << 63n)]);
    case GgufType.UINT64:
      return rng.pick([0n, 1n, 0xffffffffn, (1n << 64n) - 1n, 1n << 40n]);
    case GgufType.UINT8:
      return rng.pick([0, 1, 255]);
    case GgufType.INT8:
      return rng.pick([-128, -1, 0, 127]);
    case GgufType.UINT16:
      return rng.pick([0, 1, 65535]);
    case GgufType.INT16:
      return rng.pick([-32768, -1, 0, 32767]);
    case GgufType.BOOL:
      return rng.chance(0.5);
    default:
      return rng.pick([
        0,
        1,
        2,
        3,
        7,
        8,
        64,
        512,
        513,
        1024,
        0xffff,
        0x10000,
        0x7fffffff,
        0xffffffff,
      ]);
  }
}

function mutateArray(kv: Extract<GgufKv, { type: 9 }>, rng: Rng): [GgufKv, string] {
  const items = [...kv.value];
  const kind = rng.pick(["shorter", "longer", "duplicate", "element", "empty"] as const);
  if (kind === "shorter" && items.length > 0) {
    const n = rng.int(items.length);
    return [{ ...kv, value: items.slice(0, n) }, `shortened to ${n}`];
  }
  if (kind === "longer" && items.length > 0) {
    return [{ ...kv, value: [...items, ...items.slice(0, 1 + rng.int(10))] }, "lengthened"];
  }
  if (kind === "duplicate" && items.length > 1) {
    const a = rng.int(items.length);
    const b = rng.int(items.length);
    items[a] = items[b]!;
    return [{ ...kv, value: items }, `element ${a} = element ${b}`];
  }
  if (kind === "element" && items.length > 0) {
    const i = rng.int(items.length);
    items[i] = kv.itemType === GgufType.STRING
      ? rng.pick(["", " ", "\u0000", "<s>", "a".repeat(1000), "\ud800"])
      : interestingNumber(kv.itemType, rng);
    return [{ ...kv, value: items }, `element ${i} = ${String(items[i]).slice(0, 20)}`];
  }
  return [{ ...kv, value: [] }, "emptied"];
}

/**
 * One edit of a vocabulary that libllama reads its own way: token texts are C strings (a NUL
 * ends them), an empty one is named `[EMPTY_<index>]`, and SentencePiece spells unknown text
 * in byte tokens (`<0xNN>`, here one of the bytes of the cases' prompt).
 */
function mutateVocab(tokens: string[], rng: Rng): [string[], string] {
  const items = [...tokens];
  const i = rng.int(items.length);
  const j = rng.int(items.length);
  const how = rng.pick(["nul", "empty", "spelled", "byte"] as const);
  if (how === "nul") {
    items[i] = `${items[j]}\u0000${rng.pick(["", "x", "<0x84>"])}`;
    return [items, `token ${i} = token ${j} then a NUL`];
  }
  if (how === "empty") {
    items[i] = rng.pick(["", "\u0000", "\u0000x"]);
    return [items, `token ${i} emptied`];
  }
  if (how === "spelled") {
    items[j] = rng.chance(0.5) ? "" : "\u0000";
    items[i] = `[EMPTY_${j}]`;
    return [items, `token ${i} = [EMPTY_${j}], token ${j} emptied`];
  }
  const byte = rng.pick([0xe6, 0x97, 0xa5, 0x9c, 0xac, 0xe2, 0x98, 0x83, 0x2c, 0x00]);
  const name = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
  const at = items.indexOf(name);
  if (at < 0) return [items, `no byte token ${name}`];
  items[at] = rng.pick([`${name}x`, name.toLowerCase(), ""]);
  return [items, `byte token ${name} renamed`];
}

/** One semantic mutation of `gguf` (a parsed seed), re-encoded as a well-formed GGUF. */
export async function mutateSemantic(
  gguf: GgufFile,
  data: Uint8Array,
  rng: Rng,
  path: string,
): Promise<string> {
  const metadata = new Map(gguf.metadata);
  const arch = String((metadata.get("general.architecture") as { value: unknown })?.value ?? "");
  const keys = [...metadata.keys()];
  const kind = rng.pick(
    [
      "value",
      "value",
      "value",
      "array",
      "array",
      "drop",
      "arch",
      "tokenizer",
      "vocab",
      "special",
      "add",
      "tensor",
      "tensor",
    ] as const,
  );
  let what: string;
  let tensors = gguf.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: data.subarray(gguf.dataOffset + t.offset, gguf.dataOffset + t.offset + t.byteSize),
  }));
  if (kind === "arch") {
    const next = rng.pick(ARCHES);
    metadata.set("general.architecture", { type: GgufType.STRING, value: next });
    if (rng.chance(0.7)) {
      for (const key of keys.filter((k) => k.startsWith(`${arch}.`))) {
        const kv = metadata.get(key)!;
        metadata.delete(key);
        metadata.set(`${next}.${key.slice(arch.length + 1)}`, kv);
      }
    }
    what = `architecture ${arch} -> ${next}`;
  } else if (kind === "tensor") {
    // Another type (the data cut or repeated to its size), another shape, a dropped or renamed
    // tensor: what the loader checks, and what only the kernels meet.
    const i = rng.int(tensors.length);
    const t = tensors[i]!;
    const how = rng.pick(["type", "type", "shape", "drop", "rename"] as const);
    if (how === "type") {
      const type = rng.pick([
        0,
        1,
        2,
        3,
        6,
        7,
        8,
        10,
        12,
        14,
        16,
        20,
        24,
        25,
        26,
        27,
        28,
        30,
        34,
        39,
      ]);
      const layout = TYPE_LAYOUT[type]!;
      const elements = t.dims.reduce((a, b) => a * b, 1);
      if ((t.dims[0] ?? 1) % layout[0] === 0) {
        const size = (elements / layout[0]) * layout[1];
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += t.data.length) {
          bytes.set(t.data.subarray(0, Math.min(t.data.length, size - at)), at);
        }
        tensors[i] = { ...t, type, data: bytes };
        what = `tensor ${t.name} type ${t.type} -> ${type}`;
      } else {
        what = `tensor ${t.name} kept (rows of ${t.dims[0]} do not fit type ${type})`;
      }
    } else if (how === "shape") {
      const dims = [...t.dims].reverse();
      tensors[i] = { ...t, dims };
      what = `tensor ${t.name} dims ${t.dims} -> ${dims}`;
    } else if (how === "drop") {
      tensors = tensors.filter((_, j) => j !== i);
      what = `dropped tensor ${t.name}`;
    } else {
      const other = rng.pick(tensors);
      tensors[i] = {
        ...t,
        name: rng.chance(0.5)
          ? `${t.name}.x`
          : other.name === t.name
          ? `${t.name}_`
          : `${t.name}.renamed`,
      };
      what = `renamed tensor ${t.name}`;
    }
  } else if (kind === "tokenizer") {
    const next = rng.pick(TOKENIZERS);
    metadata.set("tokenizer.ggml.model", { type: GgufType.STRING, value: next });
    what = `tokenizer.ggml.model -> ${next}`;
  } else if (kind === "vocab") {
    const kv = metadata.get("tokenizer.ggml.tokens");
    if (kv?.type === GgufType.ARRAY && kv.value.length > 2) {
      const [value, how] = mutateVocab([...kv.value].map(String), rng);
      metadata.set("tokenizer.ggml.tokens", {
        type: GgufType.ARRAY,
        itemType: GgufType.STRING,
        value,
      });
      what = `tokenizer.ggml.tokens: ${how}`;
    } else {
      what = "no vocab to change";
    }
  } else if (kind === "special") {
    const key = rng.pick([
      "tokenizer.ggml.bos_token_id",
      "tokenizer.ggml.eos_token_id",
      "tokenizer.ggml.unknown_token_id",
      "tokenizer.ggml.padding_token_id",
      "tokenizer.ggml.eot_token_id",
      "tokenizer.ggml.fim_pre_token_id",
    ]);
    const value = rng.pick([0xffffffff, 0x7fffffff, 512, 513, 32000, 1 << 20]);
    metadata.set(key, { type: GgufType.UINT32, value });
    what = `${key} -> ${value}`;
  } else if (kind === "drop") {
    const key = rng.pick(keys);
    metadata.delete(key);
    what = `dropped ${key}`;
  } else if (kind === "add") {
    const key = `${arch}.${
      rng.pick([
        "expert_count",
        "expert_used_count",
        "nextn_predict_layers",
        "attention.key_length",
        "attention.value_length",
        "rope.scaling.type",
        "rope.scaling.factor",
        "attention.sliding_window",
        "attention.head_count_kv",
        "feed_forward_length",
        "attention.clamp_kqv",
        "logit_scale",
        "embedding_length_out",
      ])
    }`;
    const kv: GgufKv = key.endsWith("scaling.type")
      ? { type: GgufType.STRING, value: rng.pick(["yarn", "bogus", "", "longrope"]) }
      : rng.chance(0.3)
      ? { type: GgufType.ARRAY, itemType: GgufType.UINT32, value: [1, 2, 3].slice(0, rng.int(4)) }
      : { type: GgufType.UINT32, value: interestingNumber(GgufType.UINT32, rng) as number };
    metadata.set(key, kv);
    what = `added ${key} = ${
      JSON.stringify(kv.value, (_, v) => typeof v === "bigint" ? String(v) : v)
    }`;
  } else if (kind === "array") {
    const arrays = keys.filter((k) => metadata.get(k)!.type === GgufType.ARRAY);
    const key = rng.pick(arrays.length > 0 ? arrays : keys);
    const kv = metadata.get(key)!;
    if (kv.type === GgufType.ARRAY) {
      const [next, how] = mutateArray(kv, rng);
      metadata.set(key, next);
      what = `${key}: ${how}`;
    } else {
      what = `no array to change`;
    }
  } else {
    const scalars = keys.filter((k) => metadata.get(k)!.type !== GgufType.ARRAY);
    const key = rng.pick(scalars);
    const kv = metadata.get(key)!;
    if (kv.type === GgufType.STRING) {
      const value = rng.pick(["", "x", "\u0000", "{{", "a".repeat(70000)]);
      metadata.set(key, { type: GgufType.STRING, value });
      what = `${key} -> string of ${value.length}`;
    } else {
      const value = interestingNumber(kv.type, rng);
      metadata.set(key, { ...kv, value } as GgufKv);
      what = `${key} -> ${String(value)}`;
    }
  }
  await writeGguf(path, { metadata, tensors, version: gguf.version as 2 | 3 });
  return what;
}

/** A seed file, read once. */
export interface GgufSeed {
  path: string;
  bytes: Uint8Array;
  gguf: GgufFile;
  layout: GgufLayout;
}

/** Reads a seed GGUF. */
export async function loadSeed(path: string): Promise<GgufSeed> {
  const bytes = await Deno.readFile(path);
  return { path, bytes, gguf: await readGguf(bytes), layout: mapGguf(bytes) };
}

/** Writes case `rng`'s mutation of one of `seeds` to `path`; returns what it did. */
export async function writeGgufCase(
  seeds: readonly GgufSeed[],
  rng: Rng,
  path: string,
): Promise<string> {
  const seed = rng.pick(seeds);
  const name = seed.path.split("/").at(-1);
  if (rng.chance(0.5)) {
    const { bytes, what } = mutateBytes(seed.bytes, seed.layout, rng);
    await Deno.writeFile(path, bytes);
    return `${name}: ${what}`;
  }
  try {
    return `${name}: ${await mutateSemantic(seed.gguf, seed.bytes, rng, path)}`;
  } catch (error) {
    // The writer refused the change (a value its type cannot hold): mutate bytes instead.
    const { bytes, what } = mutateBytes(seed.bytes, seed.layout, rng);
    await Deno.writeFile(path, bytes);
    return `${name}: ${what} (semantic change refused: ${(error as Error).message.slice(0, 60)})`;
  }
}
