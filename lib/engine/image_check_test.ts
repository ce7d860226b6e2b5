import assert from "node:assert/strict";
import { ImageError, inspectImage, MAX_IMAGE_PIXELS } from "./image_check.ts";
import { encodePng, testPng } from "../../bench/test_images.ts";

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

function fails(bytes: Uint8Array | number[], pattern: RegExp): void {
  assert.throws(
    () => inspectImage(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)),
    (error: unknown) => error instanceof ImageError && pattern.test(error.message),
  );
}

/** A minimal JPEG: SOI, one SOF0 of `w`x`h`, SOS, EOI. */
function jpeg(w: number, h: number, end = true): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xe0,
    0,
    4,
    0,
    0, // SOI, APP0 of length 4
    0xff,
    0xc0,
    0,
    11,
    8,
    h >> 8,
    h & 0xff,
    w >> 8,
    w & 0xff,
    1,
    1,
    0x11,
    0, // SOF0
    0xff,
    0xda,
    0,
    2,
    1,
    2,
    3, // SOS and some data
    ...(end ? [0xff, 0xd9] : []),
  ]);
}

Deno.test("inspectImage() reads PNG, JPEG, GIF and BMP headers", async () => {
  assert.deepEqual(inspectImage(await testPng()), { format: "PNG", width: 48, height: 32 });
  assert.deepEqual(inspectImage(jpeg(640, 480)), { format: "JPEG", width: 640, height: 480 });
  const gif = [...ascii("GIF89a"), 3, 0, 2, 0, 0, 0, 0, 0x3b];
  assert.deepEqual(inspectImage(new Uint8Array(gif)), { format: "GIF", width: 3, height: 2 });
  const bmp = new Uint8Array(64);
  bmp.set(ascii("BM"));
  new DataView(bmp.buffer).setUint32(2, 64, true);
  new DataView(bmp.buffer).setUint32(10, 54, true);
  new DataView(bmp.buffer).setUint32(14, 40, true);
  new DataView(bmp.buffer).setInt32(18, 5, true);
  new DataView(bmp.buffer).setInt32(22, -3, true); // top-down
  assert.deepEqual(inspectImage(bmp), { format: "BMP", width: 5, height: 3 });
  const pnm = new TextEncoder().encode("P6\n# a comment\n4 2\n255\n" + "x".repeat(24));
  assert.deepEqual(inspectImage(pnm), { format: "PNM", width: 4, height: 2 });
});

Deno.test("inspectImage() refuses what is no image, naming the formats it takes", () => {
  fails(new TextEncoder().encode("hello, world"), /^it is not an image \(JPEG, PNG, GIF, BMP/);
  fails([], /^the file is empty$/);
  fails(ascii("RIFF\0\0\0\0WAVEfmt "), /not an image/);
});

Deno.test("inspectImage() refuses images cut short, which stb_image would fill with zeros", async () => {
  const png = await testPng();
  fails(png.subarray(0, 150), /^the PNG data is truncated \(its IDAT chunk runs past the end\)$/);
  fails(png.subarray(0, png.length - 12), /^the PNG data is truncated \(it has no IEND chunk\)$/);
  // A chunk type that is not 4 ASCII letters is named by its offset, so that control bytes
  // (a newline, found by `deno task fuzz --target image`) never reach the error line.
  const garbled = png.slice(0, 41);
  garbled.set([0x0a, 0xb8, 0x0d, 0xee], 37); // the chunk after IHDR: type bytes, then cut short
  fails(garbled, /^the PNG data is truncated \(its chunk at byte 33 runs past the end\)$/);
  fails(png.subarray(0, 20), /^the PNG header is truncated$/);
  fails(jpeg(8, 8, false), /^the JPEG data is truncated \(it has no end-of-image marker\)$/);
  fails([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0], /JPEG data has no frame header/);
  fails(
    [...ascii("GIF89a"), 3, 0, 2, 0, 0, 0],
    /^the GIF data is truncated \(it has no trailer\)$/,
  );
  const bmp = new Uint8Array(30);
  bmp.set(ascii("BM"));
  new DataView(bmp.buffer).setUint32(2, 5000, true);
  fails(bmp, /^the BMP data is truncated \(it is 30 bytes, its header says 5000\)$/);
});

Deno.test("inspectImage() refuses an image bomb: a small file declaring too many pixels", async () => {
  // 65535 x 65535: 12 GB of RGB from a PNG of a few hundred bytes.
  const png = await encodePng(1, 1, new Uint8Array(3));
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, 65535);
  view.setUint32(20, 65535);
  fails(
    png,
    /^the PNG image is 65535x65535 pixels: the largest taken is \d+ pixels, 16384 on a side$/,
  );
  const side = Math.sqrt(MAX_IMAGE_PIXELS);
  assert.doesNotThrow(() => inspectImage(jpeg(side, side)));
  fails(jpeg(side + 1, side), /pixels: the largest taken/);
  fails(jpeg(0, 10), /^the JPEG header declares an empty image \(0x10\)$/);
});
