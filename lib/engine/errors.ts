/**
 * Errors callers may want to tell apart.
 *
 * @module
 */

/** A model file could not be loaded. */
export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

/** The prompt or the generation does not fit in the context window. */
export class ContextFullError extends RangeError {
  override name = "ContextFullError";
}

/** A GBNF grammar was rejected by libllama's parser. */
export class GrammarError extends SyntaxError {
  override name = "GrammarError";
}

/** A native call failed (decode error, allocation failure). */
export class NativeError extends Error {
  override name = "NativeError";
}

/** An object was used after `close()`. */
export class ClosedError extends Error {
  override name = "ClosedError";
}

/**
 * Picks the most telling line of libllama's recent error log, without the
 * function-name prefix, or `fallback` when there is none.
 */
export function reasonFromLog(lines: readonly string[], fallback: string): string {
  const cleaned = lines
    .map((line) => line.replace(/^[\w:]+: /, "").replace(/^error loading model: /, "").trim())
    .filter((line) =>
      line && !/^failed to load model$/.test(line) &&
      !/^llama_model_loader: failed to load model from /.test(line)
    );
  return cleaned[0] ?? fallback;
}
