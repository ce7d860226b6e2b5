/**
 * Text diffs aligned on markers (upstream `chat-auto-parser-helpers.cpp`): two renderings of a
 * template that differ in one input are split into their shared prefix and suffix and the two
 * differing middles, with the split points moved to marker boundaries (`<...>`, `[...]`).
 *
 * @module
 */

const SPACE = /[ \t\n\v\f\r]/;

/** `s` without leading and trailing ASCII whitespace. */
export function trimWhitespace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && SPACE.test(s[start]!)) start++;
  while (end > start && SPACE.test(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** `s` without leading ASCII whitespace. */
export function trimLeadingWhitespace(s: string): string {
  let start = 0;
  while (start < s.length && SPACE.test(s[start]!)) start++;
  return s.slice(start);
}

/** A run of text, or a marker. */
export interface Segment {
  type: "text" | "marker";
  value: string;
}

/** Splits `text` into markers (`<...>`, `[...]`) and the text between them. */
export function segmentizeMarkers(text: string): Segment[] {
  const out: Segment[] = [];
  let inMarker = false;
  let opener = "";
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!inMarker && (c === "<" || c === "[")) {
      if (last < i) out.push({ type: "text", value: text.slice(last, i) });
      last = i;
      inMarker = true;
      opener = c;
    } else if (inMarker && ((opener === "<" && c === ">") || (opener === "[" && c === "]"))) {
      out.push({ type: "marker", value: text.slice(last, i + 1) });
      last = i + 1;
      inMarker = false;
      opener = "";
    }
  }
  if (last < text.length) out.push({ type: "text", value: text.slice(last) });
  return out;
}

/** `segments` without the whitespace-only ones. */
export function pruneWhitespaceSegments(segments: Segment[]): Segment[] {
  return segments.filter((s) => trimWhitespace(s.value) !== "");
}

/** A diff of two texts: shared prefix and suffix, and what each has between them. */
export interface DiffSplit {
  prefix: string;
  suffix: string;
  left: string;
  right: string;
}

const same = (a: Segment, b: Segment) => a.type === b.type && a.value === b.value;

function commonPrefixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function commonSuffixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/** The marker-aligned diff of `left` and `right` (upstream calculate_diff_split). */
export function calculateDiffSplit(left: string, right: string): DiffSplit {
  const result: DiffSplit = { prefix: "", suffix: "", left: "", right: "" };
  const ls = segmentizeMarkers(left);
  const rs = segmentizeMarkers(right);
  if (ls.length === 0) {
    result.right = right;
    return result;
  }
  if (rs.length === 0) {
    result.left = left;
    return result;
  }
  let lStart = 0;
  let lEnd = ls.length - 1;
  let rStart = 0;
  let rEnd = rs.length - 1;
  let leftConsumed = false;
  let rightConsumed = false;
  while (lStart !== lEnd && rStart !== rEnd) {
    let advanced = false;
    if (same(ls[lStart]!, rs[rStart]!)) {
      result.prefix += ls[lStart]!.value;
      lStart++;
      rStart++;
      advanced = true;
    }
    if (same(ls[lEnd]!, rs[rEnd]!)) {
      result.suffix = ls[lEnd]!.value + result.suffix;
      if (lStart !== lEnd) lEnd--;
      else leftConsumed = true;
      if (rStart !== rEnd) rEnd--;
      else rightConsumed = true;
      advanced = true;
    }
    if (!advanced) break;
  }
  if (lStart === lEnd && rStart !== rEnd) {
    if (same(ls[lStart]!, rs[rEnd]!)) {
      result.suffix = rs[rEnd]!.value + result.suffix;
      rEnd--;
      leftConsumed = true;
    } else if (same(ls[lStart]!, rs[rStart]!)) {
      result.prefix += rs[rStart]!.value;
      rStart++;
      leftConsumed = true;
    }
  } else if (rStart === rEnd && lStart !== lEnd) {
    if (same(ls[lEnd]!, rs[rStart]!)) {
      result.suffix = ls[lEnd]!.value + result.suffix;
      lEnd--;
      rightConsumed = true;
    } else if (same(ls[lStart]!, rs[rStart]!)) {
      result.prefix += ls[lStart]!.value;
      lStart++;
      rightConsumed = true;
    }
  } else if (
    lStart === lEnd && rStart === rEnd && same(ls[lStart]!, rs[rStart]!) &&
    ls[lStart]!.type === "marker"
  ) {
    result.prefix += rs[rStart]!.value;
    leftConsumed = true;
    rightConsumed = true;
  }
  const textSuffix = ls[lEnd]?.type === "text" && rs[rEnd]?.type === "text";
  const textPrefix = rs[rStart]?.type === "text" && ls[lStart]?.type === "text";
  const join = (segs: Segment[], from: number, to: number) =>
    segs.slice(from, to).map((s) => s.value).join("");
  const restLeft = join(ls, lStart, leftConsumed ? lEnd : lEnd + 1);
  const restRight = join(rs, rStart, rightConsumed ? rEnd : rEnd + 1);
  const suffixLen = textSuffix ? commonSuffixLength(restLeft, restRight) : 0;
  const prefixLen = textPrefix
    ? commonPrefixLength(
      restLeft.slice(0, restLeft.length - suffixLen),
      restRight.slice(0, restRight.length - suffixLen),
    )
    : 0;
  result.prefix += restLeft.slice(0, prefixLen);
  result.suffix = restLeft.slice(restLeft.length - suffixLen) + result.suffix;
  result.left = restLeft.slice(prefixLen, restLeft.length - suffixLen);
  result.right = restRight.slice(prefixLen, restRight.length - suffixLen);
  if (result.left === "" && result.right === "") {
    result.prefix = left;
    result.suffix = "";
  }
  // left entirely shared with right: the split is right past it
  if (result.left === "" && result.right !== "" && right.startsWith(left)) {
    result.prefix = left;
    result.suffix = "";
    result.right = right.slice(left.length);
  }
  return result;
}

/** `full` up to the first occurrence of the common prefix of `a` and `b` ("" when none). */
export function untilCommonPrefix(full: string, a: string, b: string): string {
  const n = commonPrefixLength(a, b);
  if (n === 0) return "";
  const at = full.indexOf(a.slice(0, n));
  return at < 0 ? "" : full.slice(0, at);
}

/** `full` after the last occurrence of the common suffix of `a` and `b` ("" when none). */
export function afterCommonSuffix(full: string, a: string, b: string): string {
  const n = commonSuffixLength(a, b);
  if (n === 0) return "";
  const at = full.lastIndexOf(a.slice(a.length - n));
  return at < 0 ? "" : full.slice(at + n);
}
