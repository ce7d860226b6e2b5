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

/** `LLAMA_STATE_SEQ_MAGIC` ('ggsq'). */
export const SEQUENCE_MAGIC = 0x67677371;
/** `LLAMA_STATE_SEQ_VERSION` of llama.cpp release v0.5.0. */
export const SEQUENCE_VERSION = 3;
/** The version of llama.cpp's server token state (the "packed" token list of a slot file). */
export const SERVER_TOKENS_VERSION = 1;

/** A sequence state file's contents (`llama_state_seq_save_file`). */
export interface SequenceFile {
  /** The slot's tokens. */
  tokens: number[];
  /** The sequence's KV state (`llama_state_seq_get_data` bytes). */
  state: Uint8Array;
}

/**
 * Encodes a slot file as llama.cpp's server writes it: magic `ggsq`, version, then the token
 * words (its "packed" form: `-1`, the server-tokens version, the count, the tokens, and no
 * media), then the sequence's state.
 */
export function encodeSequenceFile(tokens: readonly number[], state: Uint8Array): Uint8Array {
  const words = [-1, SERVER_TOKENS_VERSION, tokens.length, ...tokens, 0];
  const out = new Uint8Array(12 + words.length * 4 + state.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, SEQUENCE_MAGIC, true);
  view.setUint32(4, SEQUENCE_VERSION, true);
  view.setUint32(8, words.length, true);
  words.forEach((w, i) => view.setInt32(12 + 4 * i, w, true));
  out.set(state, 12 + words.length * 4);
  return out;
}

/** A slot file that cannot be restored, with the reason. */
export class SequenceFileError extends Error {
  override name = "SequenceFileError";
}

/**
 * Decodes a slot file: the packed token form, or a plain token list (what servers wrote before
 * the packed form). Throws {@linkcode SequenceFileError} on a file of another kind or version,
 * or whose counts run past its end, or that holds media tokens (no projector is loaded here).
 */
export function decodeSequenceFile(bytes: Uint8Array): SequenceFile {
  if (bytes.length < 12) throw new SequenceFileError("the file is too short to be a slot file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const version = view.getUint32(4, true);
  if (magic !== SEQUENCE_MAGIC || version !== SEQUENCE_VERSION) {
    throw new SequenceFileError(
      `the file is not a slot file of this version (magic ${
        magic.toString(16)
      }, version ${version})`,
    );
  }
  const count = view.getUint32(8, true);
  if (12 + count * 4 > bytes.length) {
    throw new SequenceFileError(`its token count (${count}) runs past the end of the file`);
  }
  const word = (i: number) => view.getInt32(12 + 4 * i, true);
  const state = bytes.subarray(12 + count * 4);
  if (count === 0 || word(0) !== -1) {
    return { tokens: Array.from({ length: count }, (_, i) => word(i)), state };
  }
  if (count < 4 || (word(1) >>> 0) !== SERVER_TOKENS_VERSION) {
    throw new SequenceFileError("unsupported server tokens state version");
  }
  const n = word(2) >>> 0;
  if (3 + n + 1 > count) throw new SequenceFileError("its token list runs past its payload");
  const tokens = Array.from({ length: n }, (_, i) => word(3 + i));
  const media = word(3 + n) >>> 0;
  if (media !== 0) {
    throw new SequenceFileError("Cannot restore media tokens without an mmproj");
  }
  if (3 + n + 1 !== count) throw new SequenceFileError("trailing data in its token state");
  return { tokens, state };
}
