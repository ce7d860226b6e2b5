/**
 * Images for the vision tests, the reference comparison and the benchmark, made here (no image
 * is checked in): PNGs encoded by a small writer of our own (zlib through
 * `CompressionStream`), and llama.cpp's own test photo (`tools/mtmd/test-1.jpeg`, a JPEG) from
 * the source the libmtmd build cloned.
 *
 * @module
 */
import { mtmdBuildDir } from "../ffi/library_path.ts";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGB PNG of `width`×`height` pixels (`rgb`: 3 bytes a pixel, rows top to bottom). */
export async function encodePng(
  width: number,
  height: number,
  rgb: Uint8Array,
): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0; // filter: none
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", await zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A 48×32 PNG: a red-to-blue gradient with a green square. */
export async function testPng(): Promise<Uint8Array> {
  const [w, h] = [48, 32];
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const square = x >= 16 && x < 32 && y >= 8 && y < 24;
      rgb[i] = square ? 20 : Math.round((255 * x) / (w - 1));
      rgb[i + 1] = square ? 220 : 40;
      rgb[i + 2] = square ? 20 : Math.round((255 * (w - 1 - x)) / (w - 1));
    }
  }
  return await encodePng(w, h, rgb);
}

/** llama.cpp's test photo (a JPEG) in the source the libmtmd build cloned. */
export function testJpegPath(): string {
  const dir = mtmdBuildDir();
  if (dir === null) {
    throw new Error("Cannot find test-1.jpeg: neither XDG_CACHE_HOME nor HOME is set");
  }
  return `${dir}/llama.cpp/tools/mtmd/test-1.jpeg`;
}
