/**
 * The warning for a context longer than the model was trained on.
 *
 * @module
 */

/**
 * The warning (without the `llamafile: ` prefix) for a context of `size` tokens per sequence
 * on a model trained on `trained` tokens, or null when it fits (or the model does not say).
 */
export function trainedContextWarning(size: number, trained: number): string | null {
  if (!(trained > 0) || size <= trained) return null;
  return `warning: the context of ${size} tokens exceeds the ${trained} the model was trained on; ` +
    `answers may degrade past ${trained} tokens (-c ${trained} stays within)`;
}
