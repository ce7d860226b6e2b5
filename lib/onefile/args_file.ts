/**
 * The `.args` file of a llamafile: default command-line arguments stored in the archive, and
 * how they merge with the arguments the user types.
 *
 * Syntax (a small, predictable subset of POSIX shell words; nothing is expanded):
 * - Words are separated by whitespace; newlines are whitespace too, so one argument per line
 *   (llamafile's classic layout) and several per line both work.
 * - `'single quotes'` keep everything literally, newlines included.
 * - `"double quotes"` keep everything except that a backslash escapes `"`, `\`, `$` and
 *   `` ` ``, and a backslash-newline is removed; any other backslash stays as is (so
 *   `"\n"` is the two characters `\n`, which llama.cpp's `-e` turns into a newline).
 * - Outside quotes a backslash keeps the next character literally (`\ `, `\#`, `\'`), and a
 *   backslash-newline joins lines.
 * - `#` at the start of a word starts a comment to the end of the line (`a#b` is one word).
 * - Quoted parts and plain parts join into one word: `--prompt='a b'c` is `--prompt=a bc`;
 *   `''` is an empty word.
 * - A word `...` marks where the user's arguments go (see {@linkcode mergeArgs}); it may
 *   appear once. Without it, the user's arguments come after the defaults.
 *
 * @example
 * ```ts
 * import { mergeArgs, parseArgsFile } from "./args_file.ts";
 * const defaults = parseArgsFile("-m model.gguf  # the weights\n--temp 0.7\n...\n-c 2048\n");
 * console.log(mergeArgs(defaults, ["-p", "hi"]));
 * // [ "-m", "model.gguf", "--temp", "0.7", "-p", "hi", "-c", "2048" ]
 * ```
 *
 * @module
 */

/** The word in an `.args` file that marks where the user's arguments are spliced in. */
export const ARGS_SPLICE = "...";

const _WHITESPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);
const _DOUBLE_QUOTE_ESCAPES = new Set(['"', "\\", "$", "`"]);

/**
 * Splits the text of an `.args` file into words (see the module documentation for the
 * syntax). A `...` word is kept in the result as {@linkcode ARGS_SPLICE}.
 *
 * @param text The file's text (a leading byte order mark is ignored).
 * @param source What to call the text in error messages (default `.args`).
 * @throws {SyntaxError} On an unterminated quote, a backslash at the very end, or a second
 *   `...`, naming the line.
 */
export function parseArgsFile(text: string, source = ".args"): string[] {
  const fail = (why: string) => new SyntaxError(`Cannot parse ${JSON.stringify(source)}: ${why}`);
  const words: string[] = [];
  let word: string | null = null;
  let line = 1;
  let spliceLine = 0;
  const end = () => {
    if (word === null) return;
    if (word === ARGS_SPLICE) {
      if (spliceLine > 0) {
        throw fail(`"${ARGS_SPLICE}" appears again on line ${line} (first on line ${spliceLine})`);
      }
      spliceLine = line;
    }
    words.push(word);
    word = null;
  };

  let i = text.startsWith("\ufeff") ? 1 : 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (_WHITESPACE.has(c)) {
      end();
      if (c === "\n") line++;
      i++;
    } else if (c === "#" && word === null) {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? n : newline;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw fail(`unterminated single quote on line ${line}`);
      const part = text.slice(i + 1, close);
      word = (word ?? "") + part;
      line += _countNewlines(part);
      i = close + 1;
    } else if (c === '"') {
      const startLine = line;
      let part = "";
      i++;
      for (;;) {
        if (i >= n) throw fail(`unterminated double quote on line ${startLine}`);
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < n) {
          const next = text[i + 1]!;
          if (_DOUBLE_QUOTE_ESCAPES.has(next)) {
            part += next;
            i += 2;
            continue;
          }
          if (next === "\n") {
            line++;
            i += 2;
            continue;
          }
        }
        if (d === "\n") line++;
        part += d;
        i++;
      }
      word = (word ?? "") + part;
    } else if (c === "\\") {
      if (i + 1 >= n) throw fail(`backslash at the end of the text on line ${line}`);
      const next = text[i + 1]!;
      if (next === "\n") {
        line++;
        i += 2;
      } else if (next === "\r" && text[i + 2] === "\n") {
        line++;
        i += 3;
      } else {
        word = (word ?? "") + next;
        i += 2;
      }
    } else {
      word = (word ?? "") + c;
      i++;
    }
  }
  end();
  return words;
}

function _countNewlines(s: string): number {
  let count = 0;
  for (let at = s.indexOf("\n"); at >= 0; at = s.indexOf("\n", at + 1)) count++;
  return count;
}

/**
 * Merges default arguments (from {@linkcode parseArgsFile}) with the user's: the user's
 * arguments replace the first `...` word, or come last when there is none. Later `...` words
 * (only possible in hand-built arrays) are dropped.
 *
 * @returns A new array; the inputs are not modified.
 */
export function mergeArgs(defaults: readonly string[], user: readonly string[]): string[] {
  const at = defaults.indexOf(ARGS_SPLICE);
  if (at < 0) return [...defaults, ...user];
  const after = defaults.slice(at + 1).filter((word) => word !== ARGS_SPLICE);
  return [...defaults.slice(0, at), ...user, ...after];
}

/** Quotes one word for an `.args` file (see `args_file.ts`). */
export function argsFileQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `.args` text to store: `argsText` (or nothing), with `-m` and `--mmproj` naming the
 * packed entries put first when a projector is packed and the text names no model or projector
 * itself (with two `.gguf` entries the weights cannot be chosen otherwise).
 */
export function composeArgsText(
  argsText: string | undefined,
  modelEntry: string,
  mmprojEntry: string | undefined,
): string {
  let text = argsText ?? "";
  if (mmprojEntry === undefined) return text;
  const words = parseArgsFile(text);
  const has = (...names: string[]) =>
    words.some((w) =>
      names.includes(w) || names.some((n) => n.startsWith("--") && w.startsWith(`${n}=`))
    );
  const head: string[] = [];
  if (!has("-m", "--model")) head.push(`-m ${argsFileQuote(modelEntry)}`);
  if (!has("--mmproj")) head.push(`--mmproj ${argsFileQuote(mmprojEntry)}`);
  if (head.length > 0) text = `${head.join("\n")}\n${text}`;
  return text;
}
