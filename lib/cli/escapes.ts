/**
 * llama.cpp's `-e` escape processing: `\n \r \t \' \" \\ \xNN`; any other
 * backslash sequence is kept as written.
 *
 * @module
 */

/** Replaces escape sequences in `text` the way llama.cpp's `string_process_escapes` does. */
export function processEscapes(text: string): string {
  const bytes: number[] = [];
  const input = new TextEncoder().encode(text);
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== 0x5c || i + 1 >= input.length) {
      bytes.push(c);
      continue;
    }
    const next = input[++i]!;
    switch (next) {
      case 0x6e: // n
        bytes.push(0x0a);
        break;
      case 0x72: // r
        bytes.push(0x0d);
        break;
      case 0x74: // t
        bytes.push(0x09);
        break;
      case 0x27: // '
      case 0x22: // "
      case 0x5c: // backslash
        bytes.push(next);
        break;
      case 0x78: { // x
        const hex = String.fromCharCode(input[i + 1] ?? 0, input[i + 2] ?? 0);
        if (i + 2 < input.length && /^[0-9a-fA-F]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
          break;
        }
        bytes.push(0x5c, next);
        break;
      }
      default:
        bytes.push(0x5c, next);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
