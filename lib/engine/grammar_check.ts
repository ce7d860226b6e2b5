/**
 * Checks a GBNF grammar in our own code before libllama sees it. libllama's grammar engine
 * throws a C++ exception through the FFI call (which ends the process) when sampling reaches a
 * state no token can continue (an empty character range such as `[z-a]`, a code point past
 * U+10FFFF, a token id outside the vocabulary, a rule that can never be completed), overflows
 * its stack on deep nesting or long rule chains, and can take unbounded time and memory on
 * grammars whose expansions multiply. This module parses the grammar as llama.cpp's parser
 * does (`src/llama-grammar.cpp`, release v0.5.0: the same rewrite of repetitions into rules)
 * and refuses all of that with one sentence naming the problem.
 *
 * @module
 */

/** The largest grammar text accepted, in UTF-16 code units. */
export const MAX_GRAMMAR_LENGTH = 1 << 18;
/** Deepest nesting of parenthesized groups (llama.cpp's parser recurses once per level). */
export const MAX_GRAMMAR_NESTING = 1000;
/** Longest chain of rules referenced at a rule's start (left-recursion detection recurses on it). */
export const MAX_RULE_CHAIN = 1000;
/** Most rules, generated ones included. */
export const MAX_GRAMMAR_RULES = 100_000;
/** Most distinct parse stacks one step may expand to (llama.cpp keeps them all). */
export const MAX_GRAMMAR_EXPANSION = 10_000;
/** `MAX_REPETITION_THRESHOLD` of llama.cpp. */
const MAX_REPETITION = 2000;
/** The largest Unicode code point. */
const MAX_CODE_POINT = 0x10ffff;

/** A grammar libllama cannot run safely. */
export class GrammarCheckError extends Error {
  override name = "GrammarCheckError";
}

/** One element of a rule's alternative. */
type Element =
  | { kind: "chars"; negated: boolean; ranges: [number, number][] }
  | { kind: "any" }
  | { kind: "token"; negated: boolean; id: number | null }
  | { kind: "ref"; rule: number };

/** A rule: its alternatives, each a sequence of elements. */
type Rule = Element[][];

class Parser {
  readonly rules: (Rule | undefined)[] = [];
  readonly names = new Map<string, number>();
  readonly #src: string;
  #depth = 0;

  constructor(src: string) {
    this.#src = src;
  }

  fail(why: string, at: number): never {
    const line = this.#src.slice(0, at).split("\n").length;
    throw new GrammarCheckError(`${why} (line ${line})`);
  }

  symbol(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) {
      id = this.names.size;
      this.names.set(name, id);
      this.#grow(id);
    }
    return id;
  }

  generated(base: string): number {
    const id = this.names.size;
    this.names.set(`${base}_${id}`, id);
    this.#grow(id);
    return id;
  }

  #grow(id: number): void {
    if (id >= MAX_GRAMMAR_RULES) {
      throw new GrammarCheckError(`the grammar has more than ${MAX_GRAMMAR_RULES} rules`);
    }
    while (this.rules.length <= id) this.rules.push(undefined);
  }

  space(at: number, newlines: boolean): number {
    const s = this.#src;
    while (at < s.length) {
      const c = s[at]!;
      if (c === "#") {
        while (at < s.length && s[at] !== "\r" && s[at] !== "\n") at++;
      } else if (c === " " || c === "\t" || (newlines && (c === "\r" || c === "\n"))) {
        at++;
      } else {
        break;
      }
    }
    return at;
  }

  static word(c: string | undefined): boolean {
    if (c === undefined) return false;
    const k = c.charCodeAt(0);
    return (k >= 97 && k <= 122) || (k >= 65 && k <= 90) || (k >= 48 && k <= 57) || k === 45;
  }

  name(at: number): number {
    let end = at;
    while (Parser.word(this.#src[end])) end++;
    if (end === at) this.fail("expecting a rule name", at);
    return end;
  }

  /** One character of a literal or class, escapes decoded: [code point, next position]. */
  char(at: number): [number, number] {
    const s = this.#src;
    if (s[at] === "\\") {
      const e = s[at + 1];
      const hex = (n: number): [number, number] => {
        const digits = s.slice(at + 2, at + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) {
          this.fail(`expecting ${n} hex digits after \\${e}`, at);
        }
        const value = parseInt(digits, 16);
        if (value > MAX_CODE_POINT) {
          this.fail(`\\${e}${digits} is not a Unicode code point (past U+10FFFF)`, at);
        }
        return [value, at + 2 + n];
      };
      switch (e) {
        case "x":
          return hex(2);
        case "u":
          return hex(4);
        case "U":
          return hex(8);
        case "t":
          return [9, at + 2];
        case "r":
          return [13, at + 2];
        case "n":
          return [10, at + 2];
        case "\\":
        case '"':
        case "[":
        case "]":
        case "-":
          return [e.codePointAt(0)!, at + 2];
        default:
          this.fail(`unknown escape \\${e ?? ""}`, at);
      }
    }
    const cp = s.codePointAt(at);
    if (cp === undefined) this.fail("unexpected end of the grammar", at);
    return [cp, at + (cp > 0xffff ? 2 : 1)];
  }

  rule(at: number): number {
    const end = this.name(at);
    const id = this.symbol(this.#src.slice(at, end));
    let pos = this.space(end, false);
    if (this.#src.slice(pos, pos + 3) !== "::=") this.fail("expecting ::=", pos);
    pos = this.space(pos + 3, true);
    pos = this.alternates(pos, this.#src.slice(at, end), id, false);
    const s = this.#src;
    if (s[pos] === "\r") pos += s[pos + 1] === "\n" ? 2 : 1;
    else if (s[pos] === "\n") pos++;
    else if (pos < s.length) this.fail("expecting a newline or the end", pos);
    return this.space(pos, true);
  }

  alternates(at: number, base: string, id: number, nested: boolean): number {
    const rule: Rule = [];
    const first: Element[] = [];
    let pos = this.sequence(at, base, first, nested);
    rule.push(first);
    while (this.#src[pos] === "|") {
      pos = this.space(pos + 1, true);
      const next: Element[] = [];
      pos = this.sequence(pos, base, next, nested);
      rule.push(next);
    }
    this.rules[id] = [...(this.rules[id] ?? []), ...rule];
    return pos;
  }

  sequence(at: number, base: string, out: Element[], nested: boolean): number {
    const s = this.#src;
    let pos = at;
    let lastStart = out.length;
    let prevRules = 1;
    const repeat = (min: number, max: number | null) => {
      if (lastStart === out.length) this.fail("expecting an item before */+/?/{", pos);
      const total = max !== null && max > 0 ? max : min > 0 ? min : 1;
      if (prevRules * total > MAX_REPETITION) {
        this.fail(
          `a repetition expands to more than ${MAX_REPETITION} rules (llama.cpp's limit)`,
          pos,
        );
      }
      const item = out.slice(lastStart);
      out.length = min === 0 ? lastStart : out.length;
      for (let i = 1; i < min; i++) out.push(...item);
      const optional = max === null ? 1 : max - min;
      let last = -1;
      for (let i = 0; i < optional; i++) {
        const id = this.generated(base);
        const self = max === null ? id : last;
        const body = i > 0 || max === null ? [...item, { kind: "ref", rule: self } as Element] : [
          ...item,
        ];
        this.rules[id] = [body, []];
        last = id;
      }
      if (optional > 0) out.push({ kind: "ref", rule: last });
      prevRules *= total;
    };
    while (pos < s.length) {
      const c = s[pos]!;
      if (c === '"') {
        pos++;
        lastStart = out.length;
        prevRules = 1;
        while (s[pos] !== '"') {
          if (pos >= s.length) this.fail("unterminated literal", at);
          const [cp, next] = this.char(pos);
          out.push({ kind: "chars", negated: false, ranges: [[cp, cp]] });
          pos = next;
        }
        pos = this.space(pos + 1, nested);
      } else if (c === "[") {
        const start = pos;
        pos++;
        const negated = s[pos] === "^";
        if (negated) pos++;
        const ranges: [number, number][] = [];
        while (s[pos] !== "]") {
          if (pos >= s.length) this.fail("unterminated character class", start);
          const [lo, next] = this.char(pos);
          pos = next;
          let hi = lo;
          if (s[pos] === "-" && s[pos + 1] !== "]") {
            if (pos + 1 >= s.length) this.fail("unterminated character class", start);
            [hi, pos] = this.char(pos + 1);
          }
          if (hi < lo) {
            this.fail(
              `the character range ${codePoint(lo)}-${codePoint(hi)} is empty (it runs backwards)`,
              start,
            );
          }
          ranges.push([lo, hi]);
        }
        if (negated && covers(ranges)) {
          this.fail("the negated character class matches no character", start);
        }
        lastStart = out.length;
        prevRules = 1;
        out.push({ kind: "chars", negated, ranges });
        pos = this.space(pos + 1, nested);
      } else if (c === "<" || c === "!") {
        const negated = c === "!";
        if (negated) pos++;
        if (s[pos] !== "<") this.fail("expecting '<'", pos);
        let id: number | null = null;
        if (s[pos + 1] === "[") {
          const m = /^<\[(\d+)\]>/.exec(s.slice(pos, pos + 40));
          if (!m) this.fail("expecting <[token id]>", pos);
          id = Number(m[1]);
          pos += m[0].length;
        } else {
          const close = s.indexOf(">", pos);
          if (close < 0) this.fail("expecting '>'", pos);
          pos = close + 1;
        }
        lastStart = out.length;
        prevRules = 1;
        out.push({ kind: "token", negated, id });
        pos = this.space(pos, nested);
      } else if (Parser.word(c)) {
        const end = this.name(pos);
        const id = this.symbol(s.slice(pos, end));
        pos = this.space(end, nested);
        lastStart = out.length;
        prevRules = 1;
        out.push({ kind: "ref", rule: id });
      } else if (c === "(") {
        if (++this.#depth > MAX_GRAMMAR_NESTING) {
          this.fail(`groups are nested more than ${MAX_GRAMMAR_NESTING} deep`, pos);
        }
        pos = this.space(pos + 1, true);
        const before = this.names.size;
        const id = this.generated(base);
        pos = this.alternates(pos, base, id, true);
        prevRules = Math.max(1, this.names.size - before);
        lastStart = out.length;
        out.push({ kind: "ref", rule: id });
        if (s[pos] !== ")") this.fail("expecting ')'", pos);
        this.#depth--;
        pos = this.space(pos + 1, nested);
      } else if (c === ".") {
        lastStart = out.length;
        prevRules = 1;
        out.push({ kind: "any" });
        pos = this.space(pos + 1, nested);
      } else if (c === "*" || c === "+" || c === "?") {
        pos = this.space(pos + 1, nested);
        if (c === "*") repeat(0, null);
        else if (c === "+") repeat(1, null);
        else repeat(0, 1);
      } else if (c === "{") {
        pos = this.space(pos + 1, nested);
        const m = /^(\d+)/.exec(s.slice(pos, pos + 20));
        if (!m) this.fail("expecting an integer", pos);
        const min = Number(m[1]);
        pos = this.space(pos + m[0].length, nested);
        let max: number | null = min;
        if (s[pos] === ",") {
          pos = this.space(pos + 1, nested);
          const n = /^(\d+)/.exec(s.slice(pos, pos + 20));
          max = null;
          if (n) {
            max = Number(n[1]);
            pos = this.space(pos + n[0].length, nested);
          }
        }
        if (s[pos] !== "}") this.fail("expecting '}'", pos);
        pos = this.space(pos + 1, nested);
        if (min > MAX_REPETITION) {
          this.fail(`repeating more than ${MAX_REPETITION} times is refused`, pos);
        }
        if (max !== null && max > MAX_REPETITION) max = null;
        if (max !== null && max < min) {
          this.fail(`the repetition {${min},${max}} has a maximum below its minimum`, pos);
        }
        repeat(min, max);
      } else {
        break;
      }
    }
    return pos;
  }
}

function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** True when `ranges` together cover every code point from 0 to U+10FFFF. */
function covers(ranges: readonly [number, number][]): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) return false;
    next = Math.max(next, hi + 1);
  }
  return next > MAX_CODE_POINT;
}

/** Options of {@linkcode checkGrammar}. */
export interface CheckGrammarOptions {
  /** Tokens in the vocabulary: `<[id]>` must name one. */
  vocabSize: number;
  /** The start rule (default `root`). */
  root?: string;
}

/**
 * Throws a {@linkcode GrammarCheckError} when libllama cannot run `text` safely (see the
 * module documentation). Syntax errors llama.cpp reports cleanly itself are reported here too.
 */
export function checkGrammar(text: string, options: CheckGrammarOptions): void {
  if (text.length > MAX_GRAMMAR_LENGTH) {
    throw new GrammarCheckError(
      `the grammar is ${text.length} characters long, more than the ${MAX_GRAMMAR_LENGTH} allowed`,
    );
  }
  const parser = new Parser(text);
  let at = parser.space(0, true);
  while (at < text.length) at = parser.rule(at);
  const { rules, names } = parser;
  const nameOf = (id: number) => [...names].find(([, v]) => v === id)?.[0] ?? `#${id}`;
  for (let id = 0; id < rules.length; id++) {
    if (rules[id] === undefined) {
      throw new GrammarCheckError(`the rule "${nameOf(id)}" is used but not defined`);
    }
  }
  const root = names.get(options.root ?? "root");
  if (root === undefined) {
    throw new GrammarCheckError(`the grammar has no "${options.root ?? "root"}" rule`);
  }
  for (const rule of rules as Rule[]) {
    for (const alt of rule) {
      for (const e of alt) {
        if (e.kind === "token" && e.id !== null && !e.negated && e.id >= options.vocabSize) {
          throw new GrammarCheckError(
            `<[${e.id}]> is outside the vocabulary (0..${options.vocabSize - 1})`,
          );
        }
      }
    }
  }
  checkProductive(rules as Rule[], nameOf);
  checkChains(rules as Rule[], nameOf);
}

/** Every rule must be completable: else sampling reaches a state no token continues. */
function checkProductive(rules: Rule[], nameOf: (id: number) => string): void {
  // Worklist: an alternative is done when each rule it refers to is; a rule when one is.
  const productive = new Array<boolean>(rules.length).fill(false);
  const waiting: number[][] = rules.map((rule) => rule.map(() => 0));
  const users: [number, number][][] = rules.map(() => []);
  const ready: number[] = [];
  rules.forEach((rule, id) => {
    rule.forEach((alt, a) => {
      for (const e of alt) {
        if (e.kind !== "ref") continue;
        waiting[id]![a]!++;
        users[e.rule]!.push([id, a]);
      }
      if (waiting[id]![a] === 0 && !productive[id]) {
        productive[id] = true;
        ready.push(id);
      }
    });
  });
  while (ready.length > 0) {
    const done = ready.pop()!;
    for (const [id, a] of users[done]!) {
      if (--waiting[id]![a]! === 0 && !productive[id]) {
        productive[id] = true;
        ready.push(id);
      }
    }
  }
  const stuck = productive.findIndex((p) => !p);
  if (stuck >= 0) {
    throw new GrammarCheckError(
      `the rule "${
        nameOf(stuck)
      }" can never be completed: each of its alternatives needs a rule that never ends`,
    );
  }
}

/**
 * The chains of rules referenced at a rule's start stay short (llama.cpp's left-recursion
 * check recurses along them), and expanding one rule reference yields a bounded number of
 * parse stacks (llama.cpp's `advance_stack` keeps every one).
 */
function checkChains(rules: Rule[], nameOf: (id: number) => string): void {
  const depth = new Array<number>(rules.length).fill(-1);
  const expansion = new Array<number>(rules.length).fill(-1);
  const state = new Array<0 | 1 | 2>(rules.length).fill(0); // unseen, in progress, done
  for (let start = 0; start < rules.length; start++) {
    if (state[start] === 2) continue;
    // Iterative depth-first walk over the rules referenced first in each alternative.
    const stack: { id: number; alt: number }[] = [{ id: start, alt: 0 }];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const rule = rules[top.id]!;
      if (top.alt < rule.length) {
        const first = rule[top.alt++]![0];
        if (first?.kind !== "ref") continue;
        const next = first.rule;
        if (state[next] === 1) {
          throw new GrammarCheckError(`the rule "${nameOf(next)}" is left-recursive`);
        }
        if (state[next] === 0) {
          state[next] = 1;
          stack.push({ id: next, alt: 0 });
          if (stack.length > MAX_RULE_CHAIN) {
            throw new GrammarCheckError(
              `rules refer to rules at their start more than ${MAX_RULE_CHAIN} deep`,
            );
          }
        }
        continue;
      }
      let d = 0;
      let n = 0;
      for (const alt of rule) {
        const first = alt[0];
        if (first?.kind === "ref") {
          d = Math.max(d, depth[first.rule]! + 1);
          n += expansion[first.rule]!;
        } else {
          n += 1;
        }
      }
      if (d > MAX_RULE_CHAIN) {
        throw new GrammarCheckError(
          `rules refer to rules at their start more than ${MAX_RULE_CHAIN} deep`,
        );
      }
      if (n > MAX_GRAMMAR_EXPANSION) {
        throw new GrammarCheckError(
          `the rule "${
            nameOf(top.id)
          }" expands to more than ${MAX_GRAMMAR_EXPANSION} alternatives at once`,
        );
      }
      depth[top.id] = d;
      expansion[top.id] = n;
      state[top.id] = 2;
      stack.pop();
    }
  }
}
