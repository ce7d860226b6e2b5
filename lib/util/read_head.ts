/**
 * Reads the first bytes at a file's current position.
 *
 * @module
 */

/** Reads up to `length` bytes from `file`'s position; fewer only at the end of the file. */
export async function readHead(file: Deno.FsFile, length: number): Promise<Uint8Array> {
  const head = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  return head.subarray(0, got);
}
