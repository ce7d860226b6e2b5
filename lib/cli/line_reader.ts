/**
 * Reads lines from a byte stream (stdin), one at a time.
 *
 * @module
 */

/** Yields the lines of `stream` without their line endings; the last line may lack one. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at).replace(/\r$/, "");
      buffer = buffer.slice(at + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer !== "") yield buffer;
}
