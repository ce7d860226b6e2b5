/**
 * How many leading tokens two sequences share (prompt-prefix reuse).
 *
 * @module
 */

/** The length of the longest common prefix of `a` and `b`. */
export function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
