import assert from "node:assert/strict";
import {
  ggmlTensorBytes,
  GgmlType,
  type GgufKv,
  ggufSummary,
  GgufType,
  readGguf,
} from "../lib/engine/gguf_reader.ts";
import { encodeGgufHeader, writeGguf } from "./gguf_writer.ts";

const STORIES = new URL("../../shared/models/stories260K.gguf", import.meta.url).pathname;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gguf_writer_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeGguf() round-trips every metadata type and streamed tensor data", async () => {
  await withTempDir(async (dir) => {
    const metadata = new Map<string, GgufKv>([
      ["u8", { type: GgufType.UINT8, value: 255 }],
      ["i8", { type: GgufType.INT8, value: -128 }],
      ["u16", { type: GgufType.UINT16, value: 65535 }],
      ["i16", { type: GgufType.INT16, value: -32768 }],
      ["u32", { type: GgufType.UINT32, value: 4294967295 }],
      ["i32", { type: GgufType.INT32, value: -2147483648 }],
      ["f32", { type: GgufType.FLOAT32, value: 0.5 }],
      ["bool", { type: GgufType.BOOL, value: false }],
      ["str", { type: GgufType.STRING, value: "héllo ✓" }],
      ["u64", { type: GgufType.UINT64, value: (1n << 64n) - 1n }],
      ["i64", { type: GgufType.INT64, value: -(1n << 63n) }],
      ["f64", { type: GgufType.FLOAT64, value: Math.PI }],
      ["empty", { type: GgufType.ARRAY, itemType: GgufType.INT32, value: [] }],
      ["f32s", { type: GgufType.ARRAY, itemType: GgufType.FLOAT32, value: [1, -2.5, 0] }],
      ["strs", { type: GgufType.ARRAY, itemType: GgufType.STRING, value: ["a", "", "ü"] }],
      ["bools", { type: GgufType.ARRAY, itemType: GgufType.BOOL, value: [true, false] }],
      ["i64s", { type: GgufType.ARRAY, itemType: GgufType.INT64, value: [-1n, 2n] }],
      ["general.alignment", { type: GgufType.UINT32, value: 64 }],
    ]);
    const big = ggmlTensorBytes(GgmlType.Q4_0, [64, 1000]);
    function* chunks() {
      for (let i = 0; i < big; i += 1000) {
        yield new Uint8Array(Math.min(1000, big - i)).fill((i / 1000) & 0xff);
      }
    }
    const path = `${dir}/rt.gguf`;
    const result = await writeGguf(path, {
      metadata,
      tensors: [
        { name: "small", dims: [3], type: GgmlType.F32, data: new Uint8Array(12).fill(7) },
        { name: "big", dims: [64, 1000], type: GgmlType.Q4_0, data: chunks },
        {
          name: "last",
          dims: [2, 2, 2],
          type: GgmlType.F16,
          data: async function* () {
            yield new Uint8Array(16).fill(9);
          },
        },
      ],
    });
    const gguf = await readGguf(path);
    assert.deepEqual(gguf.metadata, metadata);
    assert.equal(gguf.alignment, 64);
    assert.equal(gguf.dataOffset, result.dataOffset);
    assert.equal(gguf.dataOffset % 64, 0);
    assert.deepEqual(gguf.tensors.map((t) => [t.name, t.offset, t.byteSize, t.elements]), [
      ["small", 0, 12, 3],
      ["big", 64, 36000, 64000],
      ["last", 36096, 16, 8],
    ]);
    const bytes = await Deno.readFile(path);
    assert.equal(bytes.length, result.size);
    const at = (name: string) =>
      gguf.dataOffset + gguf.tensors.find((t) => t.name === name)!.offset;
    assert.deepEqual(bytes.subarray(at("small"), at("small") + 12), new Uint8Array(12).fill(7));
    assert.equal(bytes[at("big") + 2500], 2);
    assert.equal(bytes[at("last")], 9);
    assert.equal(ggufSummary(gguf).fileTypeName, "Q4_0"); // most elements
  });
});

Deno.test("writeGguf() rewrites stories260K.gguf byte for byte", async () => {
  await withTempDir(async (dir) => {
    const original = await Deno.readFile(STORIES);
    const gguf = await readGguf(original);
    await writeGguf(`${dir}/copy.gguf`, {
      metadata: gguf.metadata,
      tensors: gguf.tensors.map((t) => {
        const at = gguf.dataOffset + t.offset;
        return { ...t, data: original.subarray(at, at + t.byteSize) };
      }),
    });
    assert.deepEqual(await Deno.readFile(`${dir}/copy.gguf`), original);
  });
});

Deno.test("writeGguf() rejects tensor data of the wrong size and leaves no file", async () => {
  await withTempDir(async (dir) => {
    const tensor = { name: "t", dims: [32], type: GgmlType.Q8_0 };
    await assert.rejects(
      writeGguf(`${dir}/short.gguf`, {
        metadata: [],
        tensors: [{ ...tensor, data: new Uint8Array(33) }],
      }),
      {
        name: "RangeError",
        message: 'Cannot write tensor "t": its data has 33 bytes, expected 34',
      },
    );
    await assert.rejects(
      writeGguf(`${dir}/long.gguf`, {
        metadata: [],
        tensors: [{ ...tensor, data: () => [new Uint8Array(30), new Uint8Array(30)] }],
      }),
      /its data has more than 60 bytes, expected 34/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("encodeGgufHeader() checks metadata values against their types", () => {
  const enc = (kv: GgufKv) => () => encodeGgufHeader({ metadata: [["k", kv]], tensors: [] });
  assert.throws(enc({ type: GgufType.UINT8, value: 256 }), TypeError);
  assert.throws(enc({ type: GgufType.UINT32, value: -1 }), TypeError);
  assert.throws(enc({ type: GgufType.INT32, value: 1.5 }), TypeError);
  assert.throws(enc({ type: GgufType.STRING, value: 1 }), TypeError);
  assert.throws(enc({ type: GgufType.UINT64, value: -1n }), TypeError);
  assert.throws(enc({ type: GgufType.ARRAY, itemType: GgufType.BOOL, value: [1] }), TypeError);
  assert.throws(
    () =>
      encodeGgufHeader({
        metadata: [],
        tensors: [{ name: "t", dims: [10], type: GgmlType.Q4_0, data: new Uint8Array() }],
      }),
    { name: "RangeError", message: /rows of 10: not a multiple of its block size 32/ },
  );
});
