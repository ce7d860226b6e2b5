/**
 * llama.cpp's session file (`--prompt-cache`, `llama_state_save_file`): magic `ggsn`, version,
 * the prompt's tokens, then the context state as `llama_state_get_data` writes it. We write
 * and read the bytes ourselves, so the CLI can keep the file open from before its sandbox and
 * never open a file for writing afterwards; the files stay compatible with llama.cpp's.
 *
 * @module
 */

/** `LLAMA_SESSION_MAGIC` ('ggsn'). */
export const SESSION_MAGIC = 0x6767736e;
/** `LLAMA_SESSION_VERSION` of llama.cpp release v0.5.0. */
export const SESSION_VERSION = 10;

/** A session file's contents. */
export interface SessionFile {
  /** The tokens whose state is saved. */
  tokens: Int32Array;
  /** The context state (`llama_state_get_data` bytes). */
  state: Uint8Array;
}

/** Encodes a session file. */
export function encodeSessionFile(tokens: ArrayLike<number>, state: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + tokens.length * 4 + state.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, SESSION_MAGIC, true);
  view.setUint32(4, SESSION_VERSION, true);
  view.setUint32(8, tokens.length, true);
  for (let i = 0; i < tokens.length; i++) view.setInt32(12 + 4 * i, tokens[i]!, true);
  out.set(state, 12 + tokens.length * 4);
  return out;
}

/**
 * Decodes a session file, or returns `null` when it is not one of this version, or holds more
 * than `maxTokens` tokens (as llama.cpp's loader refuses them).
 */
export function decodeSessionFile(bytes: Uint8Array, maxTokens: number): SessionFile | null {
  if (bytes.length < 12) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SESSION_MAGIC || view.getUint32(4, true) !== SESSION_VERSION) {
    return null;
  }
  const count = view.getUint32(8, true);
  if (count > maxTokens || 12 + count * 4 > bytes.length) return null;
  const tokens = new Int32Array(count);
  for (let i = 0; i < count; i++) tokens[i] = view.getInt32(12 + 4 * i, true);
  return { tokens, state: bytes.subarray(12 + count * 4) };
}
