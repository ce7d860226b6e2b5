/**
 * Reads an image file's header (format, width, height) with bounds checks, before its bytes go
 * to libmtmd's decoder (stb_image, in C): a file that is no image of a format it decodes, or
 * whose pixels would not fit in memory (a 65535×65535 PNG of a few kilobytes), is refused with
 * one line instead of reaching native code, where a failed allocation throws a C++ exception
 * that ends the process. Pure: no FFI, no I/O.
 *
 * @module
 */

/** The largest image file read (`--image`, a data URI, `multimodal_data`). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** The most pixels an image may have (8192×8192); its RGB bitmap is 3 bytes a pixel. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;
/** The longest side an image may have. */
export const MAX_IMAGE_SIDE = 16384;

/** Formats we recognize, all of which stb_image decodes. */
export const IMAGE_FORMATS = ["JPEG", "PNG", "GIF", "BMP", "PSD", "HDR", "PNM"] as const;

/** An image format. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** What the header says. */
export interface ImageInfo {
  format: ImageFormat;
  /** Pixels, or 0 when the header does not say before the data (HDR). */
  width: number;
  height: number;
}

/** The bytes are no image we accept. */
export class ImageError extends Error {
  override name = "ImageError";
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function u16be(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function i32le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function truncated(format: ImageFormat): never {
  throw new ImageError(`the ${format} header is truncated`);
}

/** JPEG: the first start-of-frame marker's size. */
function jpegSize(b: Uint8Array): [number, number] {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) {
      throw new ImageError("the JPEG data is corrupt (no marker where one belongs)");
    }
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or scan data before any frame
    const length = u16be(b, at + 2);
    if (length < 2) throw new ImageError("the JPEG data is corrupt (a segment of length < 2)");
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) truncated("JPEG");
      return [u16be(b, at + 7), u16be(b, at + 5)];
    }
    at += 2 + length;
  }
  throw new ImageError("the JPEG data has no frame header (truncated or corrupt)");
}

/**
 * PNG: walks the chunks to IEND. stb_image reads past the end of its input as zero bytes, so a
 * PNG cut short would decode into a partly black image instead of failing.
 */
function checkPngChunks(b: Uint8Array): void {
  let at = 8;
  while (at + 8 <= b.length) {
    const length = u32be(b, at);
    const type = String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    const end = at + 12 + length;
    if (end > b.length) {
      // A chunk type is 4 ASCII letters; other bytes (a newline, say) stay out of the message.
      const which = /^[A-Za-z]{4}$/.test(type) ? `${type} chunk` : `chunk at byte ${at}`;
      throw new ImageError(`the PNG data is truncated (its ${which} runs past the end)`);
    }
    if (type === "IEND") return;
    at = end;
  }
  throw new ImageError("the PNG data is truncated (it has no IEND chunk)");
}

/** JPEG: an end-of-image marker after the scan (a cut JPEG decodes into grey otherwise). */
function checkJpegEnd(b: Uint8Array): void {
  let end = b.length;
  while (end > 2 && b[end - 1] === 0) end--; // padding some writers leave
  for (let i = end - 2; i >= Math.max(2, end - 4096); i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return;
  }
  throw new ImageError("the JPEG data is truncated (it has no end-of-image marker)");
}

/** PNM (P5, P6: the binary forms stb_image reads): width and height in ASCII after the magic. */
function pnmSize(b: Uint8Array): [number, number] {
  const head = new TextDecoder("latin1").decode(b.subarray(0, Math.min(b.length, 1024)));
  const text = head.slice(2).replace(/#[^\n]*\n/g, " ");
  const match = /^\s+(\d{1,9})\s+(\d{1,9})\s/.exec(text);
  if (!match) throw new ImageError("the PNM header is truncated or corrupt");
  return [Number(match[1]), Number(match[2])];
}

/**
 * The format and size an image file's header declares.
 *
 * @throws {ImageError} When the bytes are no JPEG, PNG, GIF, BMP, PSD, HDR or PNM image, a
 * JPEG, PNG, GIF or BMP is cut short (stb_image would decode the missing bytes as zeros), or
 * the image is empty, larger than {@linkcode MAX_IMAGE_SIDE} on a side or than
 * {@linkcode MAX_IMAGE_PIXELS} in all.
 */
export function inspectImage(bytes: Uint8Array): ImageInfo {
  if (bytes.length === 0) throw new ImageError("the file is empty");
  let format: ImageFormat;
  let width: number;
  let height: number;
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    format = "PNG";
    if (bytes.length < 24) truncated(format);
    if (!startsWith(bytes, ascii("IHDR"), 12)) {
      throw new ImageError("the PNG data is corrupt (its first chunk is not IHDR)");
    }
    [width, height] = [u32be(bytes, 16), u32be(bytes, 20)];
    checkPngChunks(bytes);
  } else if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    format = "JPEG";
    [width, height] = jpegSize(bytes);
    checkJpegEnd(bytes);
  } else if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) {
    format = "GIF";
    if (bytes.length < 10) truncated(format);
    [width, height] = [u16le(bytes, 6), u16le(bytes, 8)];
    let end = bytes.length;
    while (end > 10 && bytes[end - 1] === 0) end--;
    if (bytes[end - 1] !== 0x3b) {
      throw new ImageError("the GIF data is truncated (it has no trailer)");
    }
  } else if (startsWith(bytes, ascii("BM"))) {
    format = "BMP";
    if (bytes.length < 26) truncated(format);
    const declared = u32le(bytes, 2);
    const pixels = u32le(bytes, 10);
    if ((declared !== 0 && declared > bytes.length) || pixels >= bytes.length) {
      throw new ImageError(
        `the BMP data is truncated (it is ${bytes.length} bytes, its header says ${declared})`,
      );
    }
    const header = i32le(bytes, 14);
    if (header === 12) {
      [width, height] = [u16le(bytes, 18), u16le(bytes, 20)];
    } else {
      [width, height] = [i32le(bytes, 18), Math.abs(i32le(bytes, 22))];
    }
  } else if (startsWith(bytes, ascii("8BPS"))) {
    format = "PSD";
    if (bytes.length < 26) truncated(format);
    [height, width] = [u32be(bytes, 14), u32be(bytes, 18)];
  } else if (startsWith(bytes, ascii("#?RADIANCE")) || startsWith(bytes, ascii("#?RGBE"))) {
    // The size line follows the header lines; stb_image checks it against its own limit.
    return { format: "HDR", width: 0, height: 0 };
  } else if (
    bytes.length >= 3 && bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x36) &&
    /\s/.test(String.fromCharCode(bytes[2]!))
  ) {
    format = "PNM";
    [width, height] = pnmSize(bytes);
  } else {
    throw new ImageError(`it is not an image (${IMAGE_FORMATS.join(", ")})`);
  }
  if (!(width > 0 && height > 0)) {
    throw new ImageError(`the ${format} header declares an empty image (${width}x${height})`);
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageError(
      `the ${format} image is ${width}x${height} pixels: the largest taken is ${MAX_IMAGE_PIXELS} pixels, ${MAX_IMAGE_SIDE} on a side`,
    );
  }
  return { format, width, height };
}
