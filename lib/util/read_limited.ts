/**
 * Reads a whole file or stream, but never more than a limit: `-f /dev/zero` or a huge file
 * named by mistake ends in one clear error instead of eating memory forever.
 *
 * @module
 */

/** The input was larger than the limit. */
export class TooLargeError extends RangeError {
  override name = "TooLargeError";
}

function _mib(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : `${bytes} bytes`;
}

/**
 * Reads `source` (a path or a stream) to its end, throwing {@linkcode TooLargeError} as soon
 * as it has more than `limit` bytes.
 */
export async function readLimited(
  source: string | ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array> {
  let stream: ReadableStream<Uint8Array>;
  let file: Deno.FsFile | null = null;
  if (typeof source === "string") {
    file = await Deno.open(source, { read: true });
    stream = file.readable;
  } else {
    stream = source;
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw new TooLargeError(`it is larger than ${_mib(limit)}`);
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
    try {
      file?.close();
    } catch {
      // the stream closed it
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** {@linkcode readLimited} as UTF-8 text. */
export async function readTextLimited(
  source: string | ReadableStream<Uint8Array>,
  limit: number,
): Promise<string> {
  return new TextDecoder().decode(await readLimited(source, limit));
}
