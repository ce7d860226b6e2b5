/**
 * Fuzz target `image`: mutated images through `--image`, run by the CLI (its sandbox on) with
 * the synthetic Gemma-3 text model and `mmproj-tinygemma3.gguf`: bit flips, cuts, inserted and
 * deleted bytes, header fields (sizes, chunk lengths, segment lengths) set to hostile values,
 * one format's header on another's data, random bytes behind a magic. Seeds: a PNG of ours
 * (`bench/test_images.ts`) and llama.cpp's test JPEG. Every case must end in an answer or one
 * `llamafile:` line; the decoder (stb_image, in C) must never crash or hang.
 *
 * @module
 */
import { ensureVisionPair } from "../bench/synth_vision.ts";
import { encodePng, testJpegPath, testPng } from "../bench/test_images.ts";
import { ensureMtmdBuild } from "../scripts/build_mtmd.ts";
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { record, runCli, taskCommand } from "./cli_case.ts";
import { Rng } from "./rng.ts";
import { pool } from "./subprocess.ts";

const HOSTILE_U32 = [0, 1, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
const HOSTILE_U16 = [0, 1, 0x7fff, 0x8000, 0xffff];

function setU32be(bytes: Uint8Array, at: number, value: number): void {
  if (at + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value);
}

function setU16be(bytes: Uint8Array, at: number, value: number): void {
  if (at + 2 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setUint16(at, value);
}

/** Offsets of the JPEG markers (0xFF followed by a marker byte) in the first 4 KiB. */
function jpegMarkers(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < Math.min(bytes.length, 4096); i++) {
    if (bytes[i] === 0xff && bytes[i + 1]! >= 0xc0 && bytes[i + 1]! !== 0xff) out.push(i);
  }
  return out;
}

/** Offsets of the PNG chunks (their length field). */
function pngChunks(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let at = 8; at + 8 <= bytes.length;) {
    out.push(at);
    at += 12 + view.getUint32(at);
  }
  return out;
}

/** One mutation of `seed` (a copy). */
export function mutateImage(rng: Rng, seed: Uint8Array, other: Uint8Array): {
  bytes: Uint8Array;
  what: string;
} {
  let bytes = seed.slice();
  const png = bytes[0] === 0x89;
  switch (rng.int(9)) {
    case 0: {
      const flips = 1 + rng.int(rng.chance(0.5) ? 4 : 64);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(bytes.length);
        bytes[at]! ^= 1 << rng.int(8);
      }
      return { bytes, what: `${flips} bit flips` };
    }
    case 1: {
      const length = rng.int(bytes.length);
      return { bytes: bytes.subarray(0, length), what: `cut at ${length} of ${seed.length}` };
    }
    case 2: {
      const at = rng.int(bytes.length);
      const n = 1 + rng.int(64);
      const junk = Uint8Array.from({ length: n }, () => rng.int(256));
      const out = new Uint8Array(bytes.length + n);
      out.set(bytes.subarray(0, at));
      out.set(junk, at);
      out.set(bytes.subarray(at), at + n);
      return { bytes: out, what: `${n} bytes inserted at ${at}` };
    }
    case 3: {
      const at = rng.int(bytes.length);
      const n = Math.min(1 + rng.int(256), bytes.length - at);
      const out = new Uint8Array(bytes.length - n);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + n), at);
      return { bytes: out, what: `${n} bytes deleted at ${at}` };
    }
    case 4: {
      if (png) {
        const w = rng.pick(HOSTILE_U32);
        const h = rng.pick(HOSTILE_U32);
        setU32be(bytes, 16, w);
        setU32be(bytes, 20, h);
        bytes[24] = rng.pick([1, 2, 4, 8, 16, 3, 0, 255]); // bit depth
        bytes[25] = rng.pick([0, 2, 3, 4, 6, 7, 255]); // color type
        return { bytes, what: `PNG IHDR ${w}x${h}, depth ${bytes[24]}, color ${bytes[25]}` };
      }
      const sof = jpegMarkers(bytes).filter((i) => bytes[i + 1]! >= 0xc0 && bytes[i + 1]! <= 0xc2);
      const at = sof.length > 0 ? rng.pick(sof) : 2;
      const w = rng.pick(HOSTILE_U16);
      const h = rng.pick(HOSTILE_U16);
      setU16be(bytes, at + 5, h);
      setU16be(bytes, at + 7, w);
      if (at + 9 < bytes.length) bytes[at + 9] = rng.pick([0, 1, 3, 4, 255]); // components
      return { bytes, what: `JPEG SOF ${w}x${h}, ${bytes[at + 9]} components` };
    }
    case 5: {
      if (png) {
        const chunks = pngChunks(bytes);
        const at = rng.pick(chunks);
        const value = rng.pick(HOSTILE_U32);
        setU32be(bytes, at, value);
        return { bytes, what: `PNG chunk at ${at} of length ${value}` };
      }
      const markers = jpegMarkers(bytes);
      const at = rng.pick(markers.length > 0 ? markers : [2]);
      const value = rng.pick(HOSTILE_U16);
      setU16be(bytes, at + 2, value);
      return { bytes, what: `JPEG segment ${bytes[at + 1]} at ${at} of length ${value}` };
    }
    case 6: {
      const cut = 16 + rng.int(64);
      const out = new Uint8Array(cut + other.length - Math.min(other.length, cut));
      out.set(bytes.subarray(0, cut));
      out.set(other.subarray(Math.min(other.length, cut)), cut);
      bytes = out;
      return { bytes, what: `${cut}-byte header on the other format's data` };
    }
    case 7: {
      const magic = rng.pick([
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        [0xff, 0xd8, 0xff],
        [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
        [0x42, 0x4d],
        [0x38, 0x42, 0x50, 0x53],
        [0x50, 0x36, 0x0a],
        [0x23, 0x3f, 0x52, 0x41, 0x44, 0x49, 0x41, 0x4e, 0x43, 0x45, 0x0a],
        [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45],
      ]);
      const n = rng.pick([0, 16, 300, 5000]);
      const out = new Uint8Array(magic.length + n);
      out.set(magic);
      for (let i = magic.length; i < out.length; i++) out[i] = rng.int(256);
      return { bytes: out, what: `${n} random bytes behind magic ${magic.slice(0, 4).join(",")}` };
    }
    default: {
      const at = rng.int(bytes.length);
      const n = 1 + rng.int(Math.min(4096, bytes.length - at));
      const fill = rng.pick([0x00, 0xff, -1]);
      for (let i = at; i < at + n; i++) bytes[i] = fill < 0 ? rng.int(256) : fill;
      return { bytes, what: `${n} bytes at ${at} set to ${fill < 0 ? "random" : fill}` };
    }
  }
}

/** The CLI's arguments for an image case on the text model `model` and projector `mmproj`. */
export function visionCaseArgs(model: string, mmproj: string, image: string): string[] {
  return [
    "-m",
    model,
    "--mmproj",
    mmproj,
    "-p",
    "<__media__>What is it?",
    "-n",
    "2",
    "-t",
    "1",
    "--temp",
    "0",
    "--image",
    image,
  ];
}

/** Runs the `image` target. */
export async function fuzzImage(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  await ensureMtmdBuild();
  const pair = await ensureVisionPair();
  const seeds = [
    await testPng(),
    await encodePng(
      3,
      2,
      new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 200, 100, 50, 1, 2, 3]),
    ),
    await Deno.readFile(testJpegPath()),
  ];
  const dir = await Deno.makeTempDir({ prefix: "fuzz_image_" });
  try {
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const rng = Rng.forCase(options.seed, index);
      const which = rng.int(seeds.length);
      const { bytes, what } = mutateImage(rng, seeds[which]!, seeds[(which + 2) % seeds.length]!);
      const path = `${dir}/case${index}.img`;
      await Deno.writeFile(path, bytes);
      const run = await runCli(visionCaseArgs(pair.model, pair.mmproj, path), {
        timeoutMs: options.timeoutMs,
      });
      counts.cases++;
      await record("image", index, run, counts, options, {
        file: path,
        what: `${["png", "tiny png", "jpeg"][which]}: ${what}`,
        command: taskCommand(visionCaseArgs(pair.model, pair.mmproj, "{input}")),
      });
      await Deno.remove(path).catch(() => {});
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  counts.ms = performance.now() - started;
  return counts;
}
