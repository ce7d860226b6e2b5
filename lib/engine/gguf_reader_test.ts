import assert from "node:assert/strict";
import {
  GgmlType,
  ggmlTypeName,
  GgufError,
  type GgufKv,
  ggufNumber,
  ggufString,
  GgufStrings,
  ggufSummary,
  GgufType,
  readGguf,
} from "./gguf_reader.ts";
import { writeGguf } from "../../bench/gguf_writer.ts";

const MODELS = new URL("../../../shared/models/", import.meta.url).pathname;
const STORIES = `${MODELS}stories260K.gguf`;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gguf_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A small valid GGUF in memory: two tensors and a bit of every kind of metadata. */
async function smallGguf(dir: string, extra: [string, GgufKv][] = []): Promise<Uint8Array> {
  const path = `${dir}/small.gguf`;
  await writeGguf(path, {
    metadata: [
      ["general.architecture", { type: GgufType.STRING, value: "llama" }],
      ["llama.block_count", { type: GgufType.UINT32, value: 1 }],
      ...extra,
    ],
    tensors: [
      { name: "a", dims: [4], type: GgmlType.F32, data: new Uint8Array(16).fill(1) },
      { name: "b", dims: [32, 2], type: GgmlType.Q8_0, data: new Uint8Array(68).fill(2) },
    ],
  });
  return await Deno.readFile(path);
}

async function rejects(bytes: Uint8Array, pattern: RegExp, options = {}): Promise<void> {
  await assert.rejects(readGguf(bytes, { name: "x.gguf", ...options }), (err: unknown) => {
    assert.ok(err instanceof GgufError, `expected GgufError, got ${err}`);
    assert.match(err.message, /^Cannot read GGUF "x\.gguf": /);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("readGguf() reads stories260K.gguf metadata and tensor infos", async () => {
  const gguf = await readGguf(STORIES);
  assert.equal(gguf.version, 3);
  assert.equal(gguf.alignment, 32);
  assert.equal(gguf.baseOffset, 0);
  assert.equal(gguf.tensors.length, 48);
  assert.equal(gguf.dataOffset % 32, 0);
  assert.equal(gguf.dataOffset + gguf.dataSize, 1185376);
  assert.equal(ggufString(gguf, "general.architecture"), "llama");
  assert.equal(ggufNumber(gguf, "llama.attention.head_count"), 8);
  assert.equal(ggufNumber(gguf, "llama.attention.head_count_kv"), 4);
  assert.equal(ggufNumber(gguf, "llama.feed_forward_length"), 172);
  assert.equal(ggufNumber(gguf, "tokenizer.ggml.bos_token_id"), 1);
  assert.equal(ggufNumber(gguf, "tokenizer.ggml.seperator_token_id"), 4294967295);
  const tokens = gguf.metadata.get("tokenizer.ggml.tokens");
  assert.ok(tokens?.type === GgufType.ARRAY);
  assert.equal(tokens.itemType, GgufType.STRING);
  assert.ok(Array.isArray(tokens.value));
  assert.deepEqual(tokens.value.slice(0, 3), ["<unk>", "<s>", "</s>"]);
  const embd = gguf.tensors.find((t) => t.name === "token_embd.weight");
  assert.deepEqual(embd && { dims: embd.dims, type: embd.type }, { dims: [64, 512], type: 0 });

  const s = ggufSummary(gguf);
  assert.equal(s.architecture, "llama");
  assert.equal(s.vocabSize, 512);
  assert.equal(s.blockCount, 5);
  assert.equal(s.contextLength, 2048);
  assert.equal(s.embeddingLength, 64);
  assert.equal(s.parameterCount, 292800);
  assert.equal(s.fileType, undefined);
  assert.equal(s.fileTypeName, "F32"); // guessed from the tensors: no general.file_type
  assert.deepEqual(s.tensorTypes, { F32: 48 });
  assert.equal(s.tokenizerModel, "llama");
  assert.equal(s.hasChatTemplate, false);
});

Deno.test("readGguf() sees the chat template of stories260K-chatml-test.gguf", async () => {
  const s = ggufSummary(await readGguf(`${MODELS}stories260K-chatml-test.gguf`));
  assert.equal(s.hasChatTemplate, true);
  assert.equal(s.name, "stories260K (ChatML template added, test fixture)");
  assert.equal(s.parameterCount, 292800);
});

Deno.test("readGguf() reads the 32k vocab of llama-2-tiny-random.gguf", async () => {
  const gguf = await readGguf(`${MODELS}llama-2-tiny-random.gguf`);
  const s = ggufSummary(gguf);
  assert.equal(s.name, "LLaMA v2");
  assert.equal(s.vocabSize, 32000);
  assert.equal(s.parameterCount, 513048);
  assert.equal(s.fileType, 1);
  assert.equal(s.fileTypeName, "F16");
  assert.deepEqual(s.tensorTypes, { F16: 9, F32: 3 });
  assert.equal(s.contextLength, 4096);
  assert.equal(s.blockCount, 1);
  const scores = gguf.metadata.get("tokenizer.ggml.scores");
  assert.ok(scores?.type === GgufType.ARRAY && scores.itemType === GgufType.FLOAT32);
  assert.equal(scores.value.length, 32000);
});

/** The lazily read strings of `key`. */
function lazyItems(gguf: { metadata: Map<string, GgufKv> }, key: string): GgufStrings {
  const kv = gguf.metadata.get(key);
  assert.ok(kv?.type === GgufType.ARRAY && kv.value instanceof GgufStrings, key);
  return kv.value;
}

Deno.test("readGguf() with lazyStrings gives the 32k vocab's items as text and as bytes", async () => {
  const path = `${MODELS}llama-2-tiny-random.gguf`;
  const eager = await readGguf(path);
  const lazy = await readGguf(path, { lazyStrings: true });
  const words = eager.metadata.get("tokenizer.ggml.tokens")!.value as string[];
  const tokens = lazyItems(lazy, "tokenizer.ggml.tokens");
  assert.equal(tokens.length, 32000);
  assert.deepEqual([...tokens], words);
  assert.equal(tokens.at(29871), words[29871]);
  assert.equal(tokens.at(32000), undefined);
  const encoder = new TextEncoder();
  for (const i of [0, 1, 259, 29871, 31999]) {
    assert.deepEqual(tokens.bytesAt(i), encoder.encode(words[i]));
  }
  assert.throws(() => tokens.bytesAt(-1), RangeError);
  // Other arrays are read as they are without the option; the summary counts the same.
  assert.deepEqual(
    lazy.metadata.get("tokenizer.ggml.scores"),
    eager.metadata.get("tokenizer.ggml.scores"),
  );
  assert.deepEqual(ggufSummary(lazy), ggufSummary(eager));
  assert.equal(tokens.firstRepeat(), null);
  assert.equal(tokens.firstRepeat(0), null);
});

Deno.test("readGguf() with lazyStrings reads across chunks and keeps the limits", async () => {
  await withTempDir(async (dir) => {
    // 200k items, 2.9 MB: the array spans several of the reader's chunks.
    const many = Array.from({ length: 200000 }, (_, i) => `token${i}`);
    many[150000] = "y".repeat(40);
    const bytes = await smallGguf(dir, [
      ["tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, value: many }],
      ["after", { type: GgufType.UINT32, value: 7 }],
    ]);
    const gguf = await readGguf(bytes, { lazyStrings: true });
    assert.deepEqual([...lazyItems(gguf, "tokens")], many);
    assert.equal(ggufNumber(gguf, "after"), 7);
    assert.deepEqual(gguf.tensors, (await readGguf(bytes)).tensors);
    const lazy = { lazyStrings: true };
    await rejects(bytes, /metadata is larger than the 100000 bytes allowed/, {
      ...lazy,
      maxMetadataBytes: 100000,
    });
    for (const options of [{}, lazy]) {
      await rejects(bytes, /item of "tokens" is 40 bytes long, more than the 30 allowed/, {
        ...options,
        maxStringBytes: 30,
      });
    }
    const end = findBytes(bytes, new TextEncoder().encode("after"));
    await rejects(bytes.subarray(0, end - 100), /truncated/, lazy);
    await rejects(bytes.subarray(0, 1_500_000), /truncated/, lazy);
  });
});

Deno.test("GgufStrings.firstRepeat() compares bytes, as libllama's token map does", async () => {
  await withTempDir(async (dir) => {
    const words = ["a", "X1", "b", "Y1", "c", "b"];
    const bytes = await smallGguf(dir, [
      ["tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, value: words }],
    ]);
    const repeat = lazyItems(await readGguf(bytes, { lazyStrings: true }), "tokens");
    assert.deepEqual(repeat.firstRepeat(), [5, 2]);
    assert.deepEqual(repeat.firstRepeat(0), [5, 2]);
    // Two different invalid bytes: both read as U+FFFD, yet they are different tokens.
    for (const [text, byte] of [["X1", 0xff], ["Y1", 0xfe]] as const) {
      bytes[findBytes(bytes, new TextEncoder().encode(text))] = byte;
    }
    const patched = lazyItems(await readGguf(bytes, { lazyStrings: true }), "tokens");
    assert.equal(patched.at(1), patched.at(3));
    assert.notDeepEqual(patched.bytesAt(1), patched.bytesAt(3));
    assert.deepEqual(patched.firstRepeat(), [5, 2]);
    assert.deepEqual(patched.firstRepeat(0), [5, 2]);
  });
});

Deno.test("GgufStrings.firstRepeat() keys items as libllama reads token text: a C string", async () => {
  await withTempDir(async (dir) => {
    const cases: [string[], [number, number] | null][] = [
      // A NUL byte ends the text: "<\0x84>" is libllama's "<".
      [["a", "<\0x84>", "b", "<"], [3, 1]],
      [["a", "b\0", "b"], [2, 1]],
      [["a\0x", "a\0y"], [1, 0]],
      // Empty up to a NUL: named "[EMPTY_<index>]", a repeat only of an item spelling it out.
      [["", "\0a", "\0b", "x"], null],
      [["[EMPTY_2]", "a", "\0b"], [2, 0]],
      [["a", "\0b", "[EMPTY_1]"], [2, 1]],
      [["\0", "[EMPTY_00]", "[EMPTY_1]", "[EMPTY_]"], null],
      // Empty items, without a NUL anywhere.
      [["[EMPTY_2]", "a", ""], [2, 0]],
      [["a", "", "[EMPTY_1]"], [2, 1]],
      [["", "", "x"], null],
      [["", "[EMPTY_1]", "[EMPTY_0]"], [2, 0]],
    ];
    for (const [words, expected] of cases) {
      const bytes = await smallGguf(dir, [
        ["tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, value: words }],
      ]);
      const items = lazyItems(await readGguf(bytes, { lazyStrings: true }), "tokens");
      assert.deepEqual(items.firstRepeat(), expected, JSON.stringify(words));
      assert.deepEqual(items.firstRepeat(0), expected, `${JSON.stringify(words)} by map`);
    }
  });
});

Deno.test("readGguf() reads the clip projector mmproj-tinygemma3.gguf", async () => {
  const gguf = await readGguf(`${MODELS}mmproj-tinygemma3.gguf`);
  const s = ggufSummary(gguf);
  assert.equal(s.architecture, "clip");
  assert.equal(s.tensorCount, 71);
  assert.equal(s.parameterCount, 844288);
  assert.equal(s.fileTypeName, "Q8_0");
  assert.deepEqual(s.tensorTypes, { F16: 1, F32: 46, Q8_0: 24 });
  assert.equal(s.vocabSize, undefined);
  assert.equal(s.contextLength, undefined);
  assert.equal(ggufString(gguf, "clip.projector_type"), "gemma3");
  assert.deepEqual(gguf.metadata.get("clip.has_vision_encoder"), {
    type: GgufType.BOOL,
    value: true,
  });
});

Deno.test("readGguf() reads a GGUF at an offset inside a bigger buffer and file", async () => {
  const model = await Deno.readFile(STORIES);
  const plain = await readGguf(model);
  const big = new Uint8Array(5000 + model.length + 777).fill(0xab);
  big.set(model, 5000);

  const inBuffer = await readGguf(big, { offset: 5000 });
  assert.equal(inBuffer.baseOffset, 5000);
  assert.equal(inBuffer.dataOffset, plain.dataOffset);
  assert.deepEqual(inBuffer.tensors, plain.tensors);
  assert.deepEqual(inBuffer.metadata, plain.metadata);

  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/big.bin`, big);
    const fromPath = await readGguf(`${dir}/big.bin`, { offset: 5000 });
    assert.deepEqual(fromPath.tensors, plain.tensors);
    using file = await Deno.open(`${dir}/big.bin`);
    await file.seek(123, Deno.SeekMode.Start); // the reader must not rely on the position
    const fromFile = await readGguf(file, { offset: 5000 });
    assert.deepEqual(fromFile.metadata, plain.metadata);
    // the tensor data really is where the reader says
    const t = fromFile.tensors[5]!;
    const at = fromFile.baseOffset + fromFile.dataOffset + t.offset;
    assert.deepEqual(
      big.subarray(at, at + t.byteSize),
      model.subarray(plain.dataOffset + t.offset, plain.dataOffset + t.offset + t.byteSize),
    );
  });
  await rejects(big, /bad GGUF magic 0xabababab/, { offset: 0 });
});

Deno.test("readGguf() rejects a bad magic with GgufError", async () => {
  const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  await rejects(elf, /bad GGUF magic 0x7f454c46/);
  await rejects(new Uint8Array(2), /truncated/);
  await assert.rejects(readGguf("/nonexistent/model.gguf"), /Cannot read GGUF .*no such file/);
});

Deno.test("readGguf() rejects unsupported versions", async () => {
  await withTempDir(async (dir) => {
    const bytes = await smallGguf(dir);
    const view = new DataView(bytes.buffer);
    view.setUint32(4, 1, true);
    await rejects(bytes, /unsupported GGUF version 1/);
    view.setUint32(4, 4, true);
    await rejects(bytes, /unsupported GGUF version 4/);
    view.setUint32(4, 3, false);
    await rejects(bytes, /big-endian/);
    view.setUint32(4, 2, true); // v2 has the same layout as v3
    assert.equal((await readGguf(bytes)).version, 2);
  });
});

Deno.test("readGguf() rejects a file truncated anywhere", async () => {
  await withTempDir(async (dir) => {
    const bytes = await smallGguf(dir);
    const gguf = await readGguf(bytes);
    for (const cut of [3, 10, 20, 30, 50, gguf.dataOffset - 1, gguf.dataOffset + 20]) {
      await rejects(bytes.subarray(0, cut), /truncated/);
    }
    // the last tensor's padding is not needed
    const end = gguf.dataOffset + gguf.tensors[1]!.offset + gguf.tensors[1]!.byteSize;
    assert.equal(end, bytes.length);
    await rejects(bytes.subarray(0, end - 1), /tensor data ends at byte/);
  });
});

Deno.test("readGguf() rejects absurd counts and lengths", async () => {
  await withTempDir(async (dir) => {
    const bytes = await smallGguf(dir);
    const view = new DataView(bytes.buffer);
    const patch = async (at: number, value: bigint, pattern: RegExp) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setBigUint64(at, value, true);
      await rejects(copy, pattern);
    };
    await patch(8, 1n << 40n, /tensor count 1099511627776 is absurd/);
    await patch(16, 1n << 62n, /metadata key count \d+ is absurd/);
    await patch(24, 1n << 33n, /length of key 0 is absurd|key 0 is \d+ bytes long/);
    assert.equal(view.getBigUint64(24, true), 20n); // "general.architecture"
  });
});

Deno.test("readGguf() enforces the string and metadata size limits", async () => {
  await withTempDir(async (dir) => {
    const long = "x".repeat(3000);
    const bytes = await smallGguf(dir, [["long", { type: GgufType.STRING, value: long }]]);
    assert.equal(ggufString(await readGguf(bytes), "long"), long);
    await rejects(bytes, /value of "long" is 3000 bytes long, more than the 2048 allowed/, {
      maxStringBytes: 2048,
    });
    await rejects(bytes, /metadata is larger than the 1000 bytes allowed/, {
      maxMetadataBytes: 1000,
    });
    const many = Array.from({ length: 40000 }, (_, i) => `token${i}`);
    const arr = await smallGguf(dir, [
      ["tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, value: many }],
    ]);
    const gguf = await readGguf(arr);
    assert.deepEqual(gguf.metadata.get("tokens")?.value, many);
    await rejects(arr, /metadata is larger than the 100000 bytes allowed/, {
      maxMetadataBytes: 100000,
    });
  });
});

Deno.test("readGguf() rejects duplicate keys, nested arrays and bad alignment", async () => {
  await withTempDir(async (dir) => {
    const dup = await smallGguf(dir, [["general.architecture", {
      type: GgufType.STRING,
      value: "x",
    }]]);
    await rejects(dup, /duplicate metadata key "general.architecture"/);

    const nested = await smallGguf(dir, [["arr", {
      type: GgufType.ARRAY,
      itemType: GgufType.UINT8,
      value: [1, 2],
    }]]);
    // The item type u32 follows the key "arr" (8 + 3 bytes) and the type (4 bytes).
    const at = findBytes(nested, new TextEncoder().encode("arr")) + 3 + 4;
    new DataView(nested.buffer).setUint32(at, GgufType.ARRAY, true);
    await rejects(nested, /metadata "arr" is a nested array/);

    const align = await smallGguf(dir, [["general.alignment", {
      type: GgufType.UINT32,
      value: 64,
    }]]);
    assert.equal((await readGguf(align)).alignment, 64);
    const a = findBytes(align, new TextEncoder().encode("general.alignment")) + 17 + 4;
    new DataView(align.buffer).setUint32(a, 48, true);
    await rejects(align, /alignment 48 is not a power of 2/);
  });
});

Deno.test("readGguf() rejects bad tensor infos", async () => {
  await withTempDir(async (dir) => {
    const bytes = await smallGguf(dir);
    // tensor "b": name (8 + 1), n_dims u32, 2 × u64, type u32, offset u64
    const b = findBytes(bytes, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x62])) + 9;
    const typeAt = b + 4 + 16;
    const edit = async (at: number, set: (v: DataView) => void, pattern: RegExp) => {
      const copy = bytes.slice();
      set(new DataView(copy.buffer, at));
      await rejects(copy, pattern);
    };
    await edit(b, (v) => v.setUint32(0, 5, true), /"b" has 5 dimensions/);
    await edit(typeAt, (v) => v.setUint32(0, 99, true), /invalid ggml type 99/);
    await edit(b + 4, (v) => v.setBigUint64(0, 33n, true), /rows of 33 elements/);
    await edit(typeAt + 4, (v) => v.setBigUint64(0, 64n, true), /"b" has data offset 64/);
  });
});

Deno.test("readGguf() reads thousands of tensor infos across its chunks, and names a bad one wherever it lies", async () => {
  await withTempDir(async (dir) => {
    // About 46 bytes of tensor info each: 276 KB, read in chunks of 64 KiB, then 128 KiB, ...
    const count = 6000;
    const path = `${dir}/many.gguf`;
    await writeGguf(path, {
      metadata: [["general.architecture", { type: GgufType.STRING, value: "llama" }]],
      tensors: Array.from({ length: count }, (_, i) => ({
        name: `blk.${i}.weight`,
        dims: [8],
        type: GgmlType.F32,
        data: new Uint8Array(32),
      })),
    });
    const gguf = await readGguf(path);
    assert.equal(gguf.tensors.length, count);
    gguf.tensors.forEach((t, i) => {
      assert.deepEqual(
        [t.name, t.dims, t.type, t.offset, t.byteSize],
        [`blk.${i}.weight`, [8], GgmlType.F32, i * 32, 32],
      );
    });
    const bytes = await Deno.readFile(path);
    // Tensor i's info: its name's length (8) and bytes, n_dims (4), one dimension (8), the type
    // (4), the offset (8). Bad types in infos that cross a chunk's end and in others.
    const infos = Array.from({ length: count }, (_, i) => {
      const name = new TextEncoder().encode(`blk.${i}.weight`);
      const start = findBytes(bytes, name) - 8;
      return { i, start, typeAt: start + 8 + name.length + 12, end: start + name.length + 32 };
    });
    const crossing = [65536, 65536 + 131072].map((edge) =>
      infos.find((info) => info.start < edge && info.end > edge)!
    );
    assert.equal(crossing.filter((info) => info !== undefined).length, 2);
    for (const info of [infos[0]!, ...crossing, infos[3001]!, infos[count - 1]!]) {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(info.typeAt, 99, true);
      await rejects(copy, new RegExp(`tensor "blk\\.${info.i}\\.weight" has invalid ggml type 99`));
    }
  });
});

Deno.test("ggmlTypeName() names ggml types", () => {
  assert.equal(ggmlTypeName(0), "F32");
  assert.equal(ggmlTypeName(8), "Q8_0");
  assert.equal(ggmlTypeName(12), "Q4_K");
  assert.equal(ggmlTypeName(4), "type 4"); // removed Q4_2
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error(`Cannot find ${needle} in the bytes`);
}
