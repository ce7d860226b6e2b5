/**
 * Text from a file or a request shown on one line: a GGUF key or name, a PNG chunk type, a ZIP
 * entry name can carry a newline or a terminal escape sequence.
 *
 * @module
 */

// C0 controls but the tab, DEL and C1 controls (U+009B starts an escape sequence on some
// terminals): matching control characters is this pattern's purpose.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * `text` with its newlines shown as `\n` and `\r`, and its other control characters as
 * `\uXXXX`, so that it prints as one line and cannot drive the terminal.
 */
export function oneLine(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
