/**
 * C strings and small pointer helpers. Only `ffi/` touches pointers.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes `text` as a NUL-terminated UTF-8 buffer. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(encoder.encode(text).byteLength + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}

/** Reads a NUL-terminated UTF-8 string; `null` for a NULL pointer. */
export function readCString(pointer: Deno.PointerValue): string | null {
  if (pointer === null) return null;
  return Deno.UnsafePointerView.getCString(pointer);
}

/** Decodes the first `length` bytes of a buffer as UTF-8 (lenient). */
export function decodeBytes(bytes: Uint8Array, length: number): string {
  return decoder.decode(bytes.subarray(0, length));
}

/** Copies `count` float32 values from native memory into a new array. */
export function readFloats(pointer: Deno.PointerValue, count: number): Float32Array {
  if (pointer === null) throw new TypeError("Cannot read floats: pointer is NULL");
  const view = new Deno.UnsafePointerView(pointer);
  const out = new Float32Array(count);
  view.copyInto(out, 0);
  return out;
}

/** A view over `count` float32 values in native memory, valid until the owner changes them. */
export function viewFloats(pointer: Deno.PointerValue, count: number): Float32Array {
  if (pointer === null) throw new TypeError("Cannot read floats: pointer is NULL");
  const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, count * 4);
  return new Float32Array(buffer);
}

/** The address of a JS buffer, for struct fields that hold pointers. */
export function addressOf(buffer: BufferSource): bigint {
  const pointer = Deno.UnsafePointer.of(buffer as Uint8Array<ArrayBuffer>);
  return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
}

/** The numeric value of a pointer (0n for NULL). */
export function pointerValue(pointer: Deno.PointerValue): bigint {
  return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
}

/** A pointer from a numeric address (NULL for 0). */
export function pointerFrom(address: bigint): Deno.PointerValue {
  return Deno.UnsafePointer.create(address);
}

/**
 * A `const char **` of `strings`: the pointer array and the C strings it points to. Keep both
 * referenced until the call that reads them returns.
 */
export function cStringArray(
  strings: readonly string[],
): { array: Uint8Array<ArrayBuffer>; strings: Uint8Array<ArrayBuffer>[] } {
  const encoded = strings.map(cString);
  const array = new Uint8Array(Math.max(1, encoded.length) * 8);
  const view = new DataView(array.buffer);
  encoded.forEach((s, i) => view.setBigUint64(i * 8, addressOf(s), true));
  return { array, strings: encoded };
}
