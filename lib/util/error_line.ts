/**
 * One error line, whatever the message holds: text from a file or a request (a GGUF key, a PNG
 * chunk type) can carry a newline or a terminal escape sequence.
 *
 * @module
 */

// C0 controls but the tab, DEL and C1 controls (U+009B starts an escape sequence on some
// terminals).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * `message` with its newlines shown as `\n` and `\r`, and its other control characters as
 * `\uXXXX`, so that it prints as one line and cannot drive the terminal.
 */
export function errorLine(message: string): string {
  return message.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
