/**
 * The PEG parsers the chat formats are written in (upstream `common/peg-parser.cpp`, release
 * v0.5.0): one description of a model's output that both parses it, streamed (a prefix of it,
 * leniently) or whole, into a tree of tagged nodes, and writes the GBNF grammar that makes the
 * model produce it (whole, or only its trigger rules for a lazy grammar).
 *
 * Text is a JavaScript string (generated text arrives decoded, so there is no partial UTF-8);
 * positions are UTF-16 offsets and "one character" is one code point.
 *
 * @module
 */
import {
  buildGrammar,
  formatGbnfLiteral,
  type GrammarBuilder,
  parseSchemaDocument,
  schemaMayBeString,
  type SchemaNode,
} from "../json_schema_to_grammar.ts";

/** A parser's index in its arena. */
export type PegId = number;

type CharRange = [start: number, end: number];

/** The parser kinds (upstream's parser variants). */
type PegNode =
  | { type: "eps" }
  | { type: "start" }
  | { type: "end" }
  | { type: "literal"; literal: string }
  | { type: "seq"; children: PegId[] }
  | { type: "choice"; children: PegId[] }
  | { type: "rep"; child: PegId; min: number; max: number }
  | { type: "and"; child: PegId }
  | { type: "not"; child: PegId }
  | { type: "any" }
  | { type: "space" }
  | {
    type: "chars";
    pattern: string;
    ranges: CharRange[];
    negated: boolean;
    min: number;
    max: number;
  }
  | { type: "string"; delimiter: string }
  | { type: "until"; delimiters: string[] }
  | { type: "schema"; child: PegId; name: string; node: SchemaNode | null; raw: boolean }
  | { type: "rule"; name: string; child: PegId; trigger: boolean }
  | { type: "ref"; name: string }
  | { type: "atomic"; child: PegId }
  | { type: "tag"; child: PegId; tag: string }
  | { type: "gbnf"; child: PegId; grammar: string }
  | { type: "ac"; child: PegId; delimiters: string[] };

/** How a parse ended. */
export const enum PegResult {
  Fail = 0,
  Success = 1,
  /** The input ended where more of it could still match (lenient parses only). */
  NeedMore = 2,
}

/** A parse result: where it matched and the tree nodes it made. */
export interface PegParseResult {
  type: PegResult;
  start: number;
  end: number;
  nodes: number[];
}

/** A node of the parse tree (made by rules and tags). */
export interface PegAstNode {
  id: number;
  rule: string;
  tag: string;
  start: number;
  end: number;
  text: string;
  children: number[];
  /** The input ended inside this node. */
  isPartial: boolean;
}

/** The parse tree of one parse. */
export class PegAst {
  readonly nodes: PegAstNode[] = [];

  add(node: Omit<PegAstNode, "id">): number {
    const id = this.nodes.length;
    this.nodes.push({ id, ...node });
    return id;
  }

  get(id: number): PegAstNode {
    return this.nodes[id]!;
  }

  /** The first descendant of `parent` (depth-first, at most `maxDepth` deep) tagged `tag`. */
  findByTag(parent: PegAstNode, tag: string, maxDepth = 3): number {
    for (const id of parent.children) {
      const child = this.get(id);
      if (child.tag === tag) return id;
      if (maxDepth > 1) {
        const found = this.findByTag(child, tag, maxDepth - 1);
        if (found >= 0) return found;
      }
    }
    return -1;
  }

  /** Visits the nodes of `result` and their descendants, parents first. */
  visit(result: PegParseResult, visitor: (node: PegAstNode) => void): void {
    const walk = (id: number) => {
      const node = this.get(id);
      visitor(node);
      for (const child of node.children) walk(child);
    };
    for (const id of result.nodes) walk(id);
  }
}

/** One parse: the input, whether it may be a prefix of the full text, and the tree made. */
export class PegContext {
  readonly input: string;
  readonly lenient: boolean;
  readonly ast = new PegAst();

  constructor(input: string, lenient: boolean) {
    this.input = input;
    this.lenient = lenient;
  }
}

const result = (type: PegResult, start: number, end = start, nodes: number[] = []) => ({
  type,
  start,
  end,
  nodes,
});

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

/** The code point at `pos` and its length in UTF-16 units. */
function codePointAt(s: string, pos: number): [number, number] {
  const cp = s.codePointAt(pos)!;
  return [cp, cp > 0xffff ? 2 : 1];
}

/** A trie of delimiters, matched at a position (upstream common_trie). */
class Trie {
  readonly nodes: { children: Map<number, number>; pattern: number }[] = [
    { children: new Map(), pattern: -1 },
  ];
  #patterns = 0;

  constructor(words: readonly string[] = []) {
    for (const word of words) this.insert([...word].map((c) => c.codePointAt(0)!));
  }

  insert(symbols: number[]): number {
    let current = 0;
    for (const ch of symbols) {
      let next = this.nodes[current]!.children.get(ch);
      if (next === undefined) {
        next = this.nodes.length;
        this.nodes.push({ children: new Map(), pattern: -1 });
        this.nodes[current]!.children.set(ch, next);
      }
      current = next;
    }
    const node = this.nodes[current]!;
    if (node.pattern < 0) node.pattern = this.#patterns++;
    return node.pattern;
  }

  /** Whether a delimiter starts at `start`: complete, cut short by the end of `s`, or not. */
  checkAt(s: string, start: number): "none" | "partial" | "complete" {
    let current = 0;
    let pos = start;
    while (pos < s.length) {
      const [cp, len] = codePointAt(s, pos);
      const next = this.nodes[current]!.children.get(cp);
      if (next === undefined) return "none";
      current = next;
      pos += len;
      if (this.nodes[current]!.pattern >= 0) return "complete";
    }
    return current !== 0 ? "partial" : "none";
  }
}

/** The Aho-Corasick automaton of a set of strings (upstream common_aho_corasick). */
class AhoCorasick {
  readonly trie: Trie;
  readonly fail: number[];
  readonly match: number[];
  readonly alphabet: number[];

  constructor(strings: readonly string[]) {
    this.trie = new Trie(strings);
    const nodes = this.trie.nodes;
    this.fail = new Array(nodes.length).fill(0);
    const order: number[] = [];
    const queue = [0];
    while (queue.length > 0) {
      const u = queue.shift()!;
      order.push(u);
      for (const [ch, v] of [...nodes[u]!.children].sort((a, b) => a[0] - b[0])) {
        if (u !== 0) {
          let f = this.fail[u]!;
          while (f !== 0 && !nodes[f]!.children.has(ch)) f = this.fail[f]!;
          const to = nodes[f]!.children.get(ch);
          this.fail[v] = to !== undefined && to !== v ? to : 0;
        }
        queue.push(v);
      }
    }
    this.match = new Array(nodes.length).fill(-1);
    for (const u of order) {
      this.match[u] = nodes[u]!.pattern >= 0
        ? nodes[u]!.pattern
        : u !== 0
        ? this.match[this.fail[u]!]!
        : -1;
    }
    const alphabet = new Set<number>();
    for (const node of nodes) for (const ch of node.children.keys()) alphabet.add(ch);
    this.alphabet = [...alphabet].sort((a, b) => a - b);
  }

  get states(): number {
    return this.trie.nodes.length;
  }

  isTerminal(state: number): boolean {
    return this.match[state]! >= 0;
  }

  next(state: number, ch: number): number {
    const nodes = this.trie.nodes;
    while (state !== 0 && !nodes[state]!.children.has(ch)) state = this.fail[state]!;
    return nodes[state]!.children.get(ch) ?? 0;
  }
}

function hexValue(s: string, pos: number, count: number): number | null {
  if (pos + count > s.length) return null;
  const digits = s.slice(pos, pos + count);
  return /^[0-9a-fA-F]+$/.test(digits) ? parseInt(digits, 16) : null;
}

/** One character of a character class: its code point and length (upstream parse_char_class_char). */
function classChar(content: string, pos: number): [number, number] {
  if (content[pos] === "\\" && pos + 1 < content.length) {
    const e = content[pos + 1]!;
    const hex = { x: 2, u: 4, U: 8 }[e as "x" | "u" | "U"];
    if (hex !== undefined) {
      const value = hexValue(content, pos + 2, hex);
      return value !== null ? [value, 2 + hex] : [e.charCodeAt(0), 2];
    }
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r" };
    return [(simple[e] ?? e).codePointAt(0)!, 2];
  }
  const [cp, len] = codePointAt(content, pos);
  return [cp, len];
}

function parseCharClasses(classes: string): [CharRange[], boolean] {
  let content = classes;
  if (content.startsWith("[")) content = content.slice(1);
  if (content.endsWith("]")) content = content.slice(0, -1);
  let negated = false;
  if (content.startsWith("^")) {
    negated = true;
    content = content.slice(1);
  }
  const ranges: CharRange[] = [];
  let i = 0;
  while (i < content.length) {
    const [start, startLen] = classChar(content, i);
    i += startLen;
    if (i + 1 < content.length && content[i] === "-") {
      const [end, endLen] = classChar(content, i + 1);
      ranges.push([start, end]);
      i += 1 + endLen;
    } else {
      ranges.push([start, start]);
    }
  }
  return [ranges, negated];
}

const INVALID_RULE_CHARS = /[^a-zA-Z0-9-]+/g;

/** A parser: its id and the builder it belongs to. */
export class Peg {
  readonly id: PegId;
  readonly builder: PegBuilder;

  constructor(id: PegId, builder: PegBuilder) {
    this.id = id;
    this.builder = builder;
  }
}

/** What builder methods take: a parser, or a string for the literal of that text. */
export type PegLike = Peg | string;

/** Builds parsers into one arena (upstream common_peg_parser_builder). */
export class PegBuilder {
  readonly #arena = new PegArena();

  #add(node: PegNode): Peg {
    return new Peg(this.#arena.add(node), this);
  }

  #id(p: PegLike): PegId {
    return typeof p === "string" ? this.literal(p).id : p.id;
  }

  /** Matches nothing, always succeeds. */
  eps(): Peg {
    return this.#add({ type: "eps" });
  }

  /** Matches the start of the input. */
  start(): Peg {
    return this.#add({ type: "start" });
  }

  /** Matches the end of the input. */
  end(): Peg {
    return this.#add({ type: "end" });
  }

  /** Matches `text` exactly. */
  literal(text: string): Peg {
    return this.#add({ type: "literal", literal: text });
  }

  /** Matches each of `parts` in order (nested sequences are flattened). */
  seq(...parts: PegLike[]): Peg {
    const children: PegId[] = [];
    for (const part of parts) {
      const id = this.#id(part);
      const node = this.#arena.get(id);
      if (node.type === "seq") children.push(...node.children);
      else children.push(id);
    }
    return this.#add({ type: "seq", children });
  }

  /** `a`, spaces, then `b` (upstream operator<<). */
  spaced(a: PegLike, b: PegLike): Peg {
    return this.seq(a, this.space(), b);
  }

  /** The first of `parts` that matches (nested choices are flattened). */
  choice(...parts: PegLike[]): Peg {
    const children: PegId[] = [];
    for (const part of parts) {
      const id = this.#id(part);
      const node = this.#arena.get(id);
      if (node.type === "choice") children.push(...node.children);
      else children.push(id);
    }
    return this.#add({ type: "choice", children });
  }

  /** `p` between `min` and `max` times (`max` -1: unbounded). */
  repeat(p: PegLike, min: number, max: number): Peg {
    return this.#add({ type: "rep", child: this.#id(p), min, max });
  }

  oneOrMore(p: PegLike): Peg {
    return this.repeat(p, 1, -1);
  }

  zeroOrMore(p: PegLike): Peg {
    return this.repeat(p, 0, -1);
  }

  optional(p: PegLike): Peg {
    return this.repeat(p, 0, 1);
  }

  /** Succeeds where `p` matches, consuming nothing. */
  peek(p: PegLike): Peg {
    return this.#add({ type: "and", child: this.#id(p) });
  }

  /** Succeeds where `p` does not match, consuming nothing. */
  negate(p: PegLike): Peg {
    return this.#add({ type: "not", child: this.#id(p) });
  }

  /** Any one character. */
  any(): Peg {
    return this.#add({ type: "any" });
  }

  /** Characters of a class like `[a-z]`, between `min` and `max` of them. */
  chars(classes: string, min = 1, max = -1): Peg {
    const [ranges, negated] = parseCharClasses(classes);
    return this.#add({ type: "chars", pattern: classes, ranges, negated, min, max });
  }

  /** Zero or more whitespace characters. */
  space(): Peg {
    return this.#add({ type: "space" });
  }

  /** Everything up to the first of `delimiters` (not consumed). */
  until(...delimiters: string[]): Peg {
    return this.#add({ type: "until", delimiters });
  }

  /** Everything to the end. */
  rest(): Peg {
    return this.until();
  }

  /** A reference to rule `name` (resolved when built). */
  ref(name: string): Peg {
    return this.#add({ type: "ref", name });
  }

  /** The content of a string quoted with `delimiter`, escapes included, quotes not. */
  stringContent(delimiter: string): Peg {
    return this.#add({ type: "string", delimiter });
  }

  /** Parses as `p`; its grammar is the JSON schema `schema`. */
  schema(p: PegLike, name: string, schema: unknown, raw = false): Peg {
    return this.schemaNode(p, name, parseSchemaDocument(schema).root, raw);
  }

  /** Parses as `p`; its grammar is a node of a parsed schema. */
  schemaNode(p: PegLike, name: string, node: SchemaNode, raw = false): Peg {
    return this.#add({ type: "schema", child: this.#id(p), name, node, raw });
  }

  /** Rule `name` (a named node in the tree and the grammar); returns a reference to it. */
  rule(name: string, p: PegLike | (() => PegLike), trigger = false): Peg {
    const clean = name.replace(INVALID_RULE_CHARS, "-");
    if (typeof p === "function") {
      if (this.#arena.hasRule(clean)) return this.ref(clean);
      // a placeholder so the body may refer to the rule itself
      const placeholder = this.#arena.add({
        type: "rule",
        name: clean,
        child: this.any().id,
        trigger,
      });
      this.#arena.setRule(clean, placeholder);
      const body = this.#id(p());
      this.#arena.setRule(
        clean,
        this.#arena.add({ type: "rule", name: clean, child: body, trigger }),
      );
      return this.ref(clean);
    }
    const id = this.#arena.add({ type: "rule", name: clean, child: this.#id(p), trigger });
    this.#arena.setRule(clean, id);
    return this.ref(clean);
  }

  /** A rule the lazy grammar starts from. */
  triggerRule(name: string, p: PegLike | (() => PegLike)): Peg {
    return this.rule(name, p, true);
  }

  /** Parses as `p`, but a partial match of it leaves no nodes in the tree. */
  atomic(p: PegLike): Peg {
    return this.#add({ type: "atomic", child: this.#id(p) });
  }

  /** Marks what `p` matches with `tag` in the tree. */
  tag(tag: string, p: PegLike): Peg {
    return this.#add({ type: "tag", child: this.#id(p), tag });
  }

  /** Parses as `p`; its grammar is `grammar`. */
  gbnf(p: PegLike, grammar: string): Peg {
    return this.#add({ type: "gbnf", child: this.#id(p), grammar });
  }

  /** Parses as `p`; its grammar is everything up to and including the first of `delimiters`. */
  ac(p: PegLike, ...delimiters: string[]): Peg {
    if (delimiters.length === 0) throw new RangeError("An ac parser needs a delimiter");
    return this.#add({ type: "ac", child: this.#id(p), delimiters });
  }

  doubleQuotedString(): Peg {
    return this.rule("double-quoted-string", () => this.seq('"', this.stringContent('"'), '"'));
  }

  singleQuotedString(): Peg {
    return this.rule("single-quoted-string", () => this.seq("'", this.stringContent("'"), "'"));
  }

  quotedString(): Peg {
    return this.rule(
      "quoted-string",
      () => this.choice(this.doubleQuotedString(), this.singleQuotedString()),
    );
  }

  jsonNumber(): Peg {
    return this.rule("json-number", () => {
      const digit19 = this.chars("[1-9]", 1, 1);
      const digits = this.chars("[0-9]");
      const intPart = this.choice("0", this.seq(digit19, this.chars("[0-9]", 0, -1)));
      const frac = this.seq(".", digits);
      const exp = this.seq(this.choice("e", "E"), this.optional(this.chars("[+-]", 1, 1)), digits);
      // only commit the number where the next character cannot extend it
      const notContinued = this.negate(this.chars("[0-9.eE+-]", 1, 1));
      return this.seq(
        this.optional("-"),
        intPart,
        this.optional(frac),
        this.optional(exp),
        notContinued,
      );
    });
  }

  jsonString(): Peg {
    return this.rule("json-string", () => this.seq('"', this.stringContent('"'), '"'));
  }

  jsonBool(): Peg {
    return this.rule("json-bool", () => this.choice("true", "false"));
  }

  jsonNull(): Peg {
    return this.rule("json-null", () => this.literal("null"));
  }

  jsonObject(): Peg {
    return this.rule("json-object", () => {
      const ws = this.space();
      const member = this.seq(this.jsonString(), ws, ":", ws, this.json());
      const members = this.seq(member, this.zeroOrMore(this.seq(ws, ",", ws, member)));
      return this.seq("{", ws, this.choice("}", this.seq(members, ws, "}")));
    });
  }

  jsonArray(): Peg {
    return this.rule("json-array", () => {
      const ws = this.space();
      const elements = this.seq(this.json(), this.zeroOrMore(this.seq(ws, ",", ws, this.json())));
      return this.seq("[", ws, this.choice("]", this.seq(elements, ws, "]")));
    });
  }

  /** Any JSON value. */
  json(): Peg {
    return this.rule(
      "json-value",
      () =>
        this.choice(
          this.jsonObject(),
          this.jsonArray(),
          this.jsonString(),
          this.jsonNumber(),
          this.jsonBool(),
          this.jsonNull(),
        ),
    );
  }

  /** A JSON object member `"key": p`. */
  jsonMember(key: string, p: PegLike): Peg {
    const ws = this.space();
    return this.seq(`"${key}"`, ws, ":", ws, p);
  }

  pythonString(): Peg {
    return this.rule(
      "python-string",
      () => this.choice(this.doubleQuotedString(), this.singleQuotedString()),
    );
  }

  pythonBool(): Peg {
    return this.rule("python-bool", () => this.choice("True", "False"));
  }

  pythonNull(): Peg {
    return this.rule("python-none", () => this.literal("None"));
  }

  pythonDict(): Peg {
    return this.rule("python-dict", () => {
      const ws = this.space();
      const member = this.seq(this.pythonString(), ws, ":", ws, this.pythonValue());
      const members = this.seq(member, this.zeroOrMore(this.seq(ws, ",", ws, member)));
      return this.seq("{", ws, this.choice("}", this.seq(members, ws, "}")), ws);
    });
  }

  pythonArray(): Peg {
    return this.rule("python-array", () => {
      const ws = this.space();
      const elements = this.seq(
        this.pythonValue(),
        this.zeroOrMore(this.seq(",", ws, this.pythonValue())),
      );
      return this.seq("[", ws, this.choice("]", this.seq(elements, ws, "]")), ws);
    });
  }

  /** A Python literal: dict, list, string, number, True, False or None. */
  pythonValue(): Peg {
    return this.rule(
      "python-value",
      () =>
        this.choice(
          this.pythonDict(),
          this.pythonArray(),
          this.pythonString(),
          this.jsonNumber(),
          this.pythonBool(),
          this.pythonNull(),
        ),
    );
  }

  /** A marker: text between `<` and `>`, or `[` and `]`. */
  marker(): Peg {
    return this.choice(this.seq("<", this.until(">"), ">"), this.seq("[", this.until("]"), "]"));
  }

  /** Makes `p` the root and returns the arena, references resolved. */
  build(p: Peg): PegArena {
    this.#arena.setRoot(p.id);
    this.#arena.resolveRefs();
    return this.#arena;
  }
}

/** The parsers of one format and its named rules (upstream common_peg_arena). */
export class PegArena {
  readonly #parsers: PegNode[] = [];
  readonly #rules = new Map<string, PegId>();
  #root = -1;

  add(node: PegNode): PegId {
    this.#parsers.push(node);
    return this.#parsers.length - 1;
  }

  get(id: PegId): PegNode {
    return this.#parsers[id]!;
  }

  hasRule(name: string): boolean {
    return this.#rules.has(name);
  }

  setRule(name: string, id: PegId): void {
    this.#rules.set(name, id);
  }

  rule(name: string): PegId {
    const id = this.#rules.get(name);
    if (id === undefined) throw new RangeError(`Rule not found: ${name}`);
    return id;
  }

  setRoot(id: PegId): void {
    this.#root = id;
  }

  #resolve(id: PegId): PegId {
    const node = this.#parsers[id]!;
    return node.type === "ref" ? this.rule(node.name) : id;
  }

  /** Replaces references by the rules they name. */
  resolveRefs(): void {
    for (const node of this.#parsers) {
      if (node.type === "seq" || node.type === "choice") {
        node.children = node.children.map((c) => this.#resolve(c));
      } else if ("child" in node) {
        node.child = this.#resolve(node.child);
      }
    }
    if (this.#root >= 0) this.#root = this.#resolve(this.#root);
  }

  /** Parses `input` from the root; `lenient` when it may be the prefix of a longer text. */
  parse(context: PegContext, start = 0): PegParseResult {
    if (this.#root < 0) throw new RangeError("No root parser set");
    return this.parseWith(this.#root, context, start);
  }

  parseWith(id: PegId, ctx: PegContext, start: number): PegParseResult {
    const node = this.#parsers[id]!;
    const input = ctx.input;
    switch (node.type) {
      case "eps":
        return result(PegResult.Success, start);
      case "start":
        return result(start === 0 ? PegResult.Success : PegResult.Fail, start);
      case "end":
        return result(start >= input.length ? PegResult.Success : PegResult.Fail, start);
      case "literal": {
        let pos = start;
        for (let i = 0; i < node.literal.length; i++) {
          if (pos >= input.length) {
            return ctx.lenient
              ? result(PegResult.NeedMore, start, pos)
              : result(PegResult.Fail, start);
          }
          if (input[pos] !== node.literal[i]) return result(PegResult.Fail, start);
          pos++;
        }
        return result(PegResult.Success, start, pos);
      }
      case "seq": {
        let pos = start;
        const nodes: number[] = [];
        for (const child of node.children) {
          const r = this.parseWith(child, ctx, pos);
          if (r.type === PegResult.Fail) return result(PegResult.Fail, start, r.end);
          nodes.push(...r.nodes);
          if (r.type === PegResult.NeedMore) return result(PegResult.NeedMore, start, r.end, nodes);
          pos = r.end;
        }
        return result(PegResult.Success, start, pos, nodes);
      }
      case "choice": {
        for (const child of node.children) {
          const r = this.parseWith(child, ctx, start);
          if (r.type !== PegResult.Fail) return r;
        }
        return result(PegResult.Fail, start);
      }
      case "rep": {
        let pos = start;
        let count = 0;
        const nodes: number[] = [];
        while (node.max === -1 || count < node.max) {
          if (pos >= input.length) break;
          const r = this.parseWith(node.child, ctx, pos);
          if (r.type === PegResult.Success) {
            if (r.end === pos) break; // an empty match would loop forever
            nodes.push(...r.nodes);
            pos = r.end;
            count++;
            continue;
          }
          if (r.type === PegResult.NeedMore) {
            nodes.push(...r.nodes);
            return result(PegResult.NeedMore, start, r.end, nodes);
          }
          break;
        }
        if (node.min > 0 && count < node.min) {
          if (pos >= input.length && ctx.lenient) {
            return result(PegResult.NeedMore, start, pos, nodes);
          }
          return result(PegResult.Fail, start, pos);
        }
        return result(PegResult.Success, start, pos, nodes);
      }
      case "and": {
        const r = this.parseWith(node.child, ctx, start);
        return result(r.type, start);
      }
      case "not": {
        const r = this.parseWith(node.child, ctx, start);
        if (r.type === PegResult.Success) return result(PegResult.Fail, start);
        if (r.type === PegResult.NeedMore) return result(PegResult.NeedMore, start);
        return result(PegResult.Success, start);
      }
      case "any": {
        if (start >= input.length) {
          return ctx.lenient ? result(PegResult.NeedMore, start) : result(PegResult.Fail, start);
        }
        return result(PegResult.Success, start, start + codePointAt(input, start)[1]);
      }
      case "space": {
        let pos = start;
        while (pos < input.length && isSpace(input[pos])) pos++;
        return result(PegResult.Success, start, pos);
      }
      case "chars": {
        let pos = start;
        let count = 0;
        while (node.max === -1 || count < node.max) {
          if (pos >= input.length) break;
          const [cp, len] = codePointAt(input, pos);
          let matches = node.ranges.some(([a, b]) => cp >= a && cp <= b);
          if (node.negated) matches = !matches;
          if (!matches) break;
          pos += len;
          count++;
        }
        if (count < node.min) {
          if (pos >= input.length && ctx.lenient) return result(PegResult.NeedMore, start, pos);
          return result(PegResult.Fail, start, pos);
        }
        return result(PegResult.Success, start, pos);
      }
      case "string":
        return this.#stringContent(node.delimiter, ctx, start);
      case "until": {
        const trie = new Trie(node.delimiters);
        let pos = start;
        while (pos < input.length) {
          const match = trie.checkAt(input, pos);
          if (match !== "none") return result(PegResult.Success, start, pos);
          pos += codePointAt(input, pos)[1];
        }
        return ctx.lenient
          ? result(PegResult.NeedMore, start, pos)
          : result(PegResult.Success, start, pos);
      }
      case "schema":
      case "gbnf":
      case "ac":
        return this.parseWith(node.child, ctx, start);
      case "rule":
      case "tag": {
        const r = this.parseWith(node.child, ctx, start);
        if (r.type === PegResult.Fail) return r;
        const id = ctx.ast.add({
          rule: node.type === "rule" ? node.name : "",
          tag: node.type === "tag" ? node.tag : "",
          start: r.start,
          end: r.end,
          text: r.start < input.length ? input.slice(r.start, r.end) : "",
          children: r.nodes,
          isPartial: r.type === PegResult.NeedMore,
        });
        return result(r.type, r.start, r.end, [id]);
      }
      case "ref":
        return this.parseWith(this.rule(node.name), ctx, start);
      case "atomic": {
        const r = this.parseWith(node.child, ctx, start);
        if (r.type === PegResult.NeedMore) r.nodes = [];
        return r;
      }
    }
  }

  #stringContent(delimiter: string, ctx: PegContext, start: number): PegParseResult {
    const input = ctx.input;
    let pos = start;
    while (pos < input.length) {
      const c = input[pos]!;
      if (c === delimiter) return result(PegResult.Success, start, pos);
      if (c === "\\") {
        pos++;
        if (pos >= input.length) {
          // an unmatched backslash at the end waits for the rest of its escape
          return ctx.lenient
            ? result(PegResult.NeedMore, start, pos - 1)
            : result(PegResult.Fail, start);
        }
        const e = input[pos]!;
        if (e === delimiter || "\\/bfnrt".includes(e)) {
          pos++;
          continue;
        }
        if (e === "u") {
          const escapeStart = pos - 1;
          pos++;
          for (let i = 0; i < 4; i++, pos++) {
            if (pos >= input.length) {
              return ctx.lenient
                ? result(PegResult.NeedMore, start, escapeStart)
                : result(PegResult.Fail, start);
            }
            if (!/[0-9a-fA-F]/.test(input[pos]!)) return result(PegResult.Fail, start);
          }
          continue;
        }
        return result(PegResult.Fail, start);
      }
      pos += codePointAt(input, pos)[1];
    }
    return ctx.lenient
      ? result(PegResult.NeedMore, start, pos)
      : result(PegResult.Fail, start, pos);
  }

  /** A readable dump of parser `id`, for debugging. */
  dump(id: PegId = this.#root, seen = new Set<PegId>()): string {
    if (seen.has(id)) return "[cycle]";
    seen.add(id);
    const node = this.#parsers[id]!;
    const d = (c: PegId) => this.dump(c, seen);
    switch (node.type) {
      case "literal":
        return `Literal(${node.literal})`;
      case "seq":
        return `Sequence(${node.children.map(d).join(", ")})`;
      case "choice":
        return `Choice(${node.children.map(d).join(", ")})`;
      case "rep":
        return `Repetition(${d(node.child)}, ${node.min}, ${
          node.max === -1 ? "unbounded" : node.max
        })`;
      case "rule":
        return `Rule(${node.name}, ${d(node.child)})`;
      case "tag":
        return `Tag(${node.tag}, ${d(node.child)})`;
      case "until":
        return `Until(${node.delimiters.join(" | ")})`;
      case "chars":
        return `CharRepeat(${node.pattern}, ${node.min}, ${node.max})`;
      default:
        return "child" in node ? `${node.type}(${d(node.child)})` : node.type;
    }
  }

  /**
   * Writes the grammar of this arena through `builder`: from the root, or for a lazy grammar
   * from the trigger rules only (the grammar's root is their alternation).
   */
  buildGrammar(builder: GrammarBuilder, lazy = false): void {
    const delegates = (s: Extract<PegNode, { type: "schema" }>) =>
      s.node === null || (s.raw && schemaMayBeString(s.node));
    const effective = (id: PegId): PegNode => {
      while (true) {
        const p = this.#parsers[id]!;
        if (p.type === "tag" || p.type === "atomic") id = p.child;
        else if (p.type === "schema" && delegates(p)) id = p.child;
        else return p;
      }
    };
    const compound = (id: PegId) => {
      const t = effective(id).type;
      return t === "choice" || t === "seq";
    };
    const repetition = (body: string, min: number, max: number) => {
      if (min === 0 && max === 1) return `${body}?`;
      if (min === 0 && max === -1) return `${body}*`;
      if (min === 1 && max === -1) return `${body}+`;
      if (max === -1) return `${body}{${min},}`;
      if (min === max) return min === 1 ? body : `${body}{${min}}`;
      return `${body}{${min},${max}}`;
    };
    const toGbnf = (id: PegId): string => {
      const p = this.#parsers[id]!;
      switch (p.type) {
        case "eps":
        case "start":
        case "end":
        case "and":
        case "not":
          return "";
        case "literal":
          return formatGbnfLiteral(p.literal);
        case "seq": {
          const parts: string[] = [];
          for (const child of p.children) {
            const g = toGbnf(child);
            if (g === "") continue;
            parts.push(compound(child) ? `(${g})` : g);
          }
          return parts.join(" ");
        }
        case "choice":
          return p.children.map((c) => {
            const g = toGbnf(c);
            return effective(c).type === "choice" ? `(${g})` : g;
          }).join(" | ");
        case "rep": {
          const g = toGbnf(p.child);
          return repetition(compound(p.child) ? `(${g})` : g, p.min, p.max);
        }
        case "any":
          return ".";
        case "space":
          return "space";
        case "chars":
          return repetition(p.pattern, p.min, p.max);
        case "string": {
          const d = p.delimiter;
          return `( [^${d}\\\\] | "\\\\" ( [${d}\\\\/ bfnrt] | "u" [0-9a-fA-F]{4} ) )*`;
        }
        case "until":
          if (p.delimiters.length === 0) return ".*";
          return acGrammar(builder, `until-${id}`, p.delimiters, false);
        case "schema":
          if (delegates(p)) return toGbnf(p.child);
          return builder.addSchema(p.name, p.node!);
        case "rule":
        case "ref":
          return p.name;
        case "tag":
        case "atomic":
          return toGbnf(p.child);
        case "gbnf":
          return p.grammar;
        case "ac":
          return acGrammar(builder, `ac-${id}`, p.delimiters, true);
      }
    };

    const reachable = new Set<string>();
    const collect = (start: PegId) => {
      const seen = new Set<string>();
      const visit = (id: PegId) => {
        const p = this.#parsers[id]!;
        if (p.type === "seq" || p.type === "choice") p.children.forEach(visit);
        else if (p.type === "rule") {
          if (!seen.has(p.name)) {
            seen.add(p.name);
            reachable.add(p.name);
            visit(p.child);
          }
        } else if (p.type === "ref") visit(this.rule(p.name));
        else if ("child" in p) visit(p.child);
      };
      visit(start);
    };
    const triggers: string[] = [];
    if (lazy) {
      for (const [name, id] of this.#rules) {
        const p = this.#parsers[id]!;
        if (p.type === "rule" && p.trigger) {
          reachable.add(name);
          triggers.push(p.name);
          collect(id);
        }
      }
    } else {
      collect(this.#root);
    }
    for (const [name, id] of this.#rules) {
      if (!reachable.has(name)) continue;
      const p = this.#parsers[id]!;
      if (p.type === "rule") builder.addRule(p.name, toGbnf(p.child));
    }
    if (lazy) {
      builder.addRule("root", triggers.sort().join(" | "));
    } else if (this.#root >= 0) {
      builder.addRule("root", toGbnf(this.#root));
    }
  }

  /** The GBNF grammar of this arena (see {@linkcode PegArena.buildGrammar}). */
  grammar(lazy = false): string {
    return buildGrammar((builder) => this.buildGrammar(builder, lazy));
  }
}

function escapeClassChar(c: number): string {
  const ch = String.fromCodePoint(c);
  if (ch === "-" || ch === "]" || ch === "[" || ch === "\\") return `\\${ch}`;
  if (ch === "\n") return "\\n";
  if (ch === "\t") return "\\t";
  if (ch === "\r") return "\\r";
  if (c >= 0x20 && c <= 0x7e) return ch;
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (c <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}

function charClass(chars: number[], negate: boolean): string {
  return `[${negate ? "^" : ""}${chars.map(escapeClassChar).join("")}]`;
}

/**
 * The grammar of an Aho-Corasick automaton of `strings`, one rule per state, named from `prefix`
 * (upstream gbnf_excluding_grammar / gbnf_including_grammar). Excluding: text that contains none
 * of the strings; including: text up to and including the first of them.
 */
function acGrammar(
  builder: GrammarBuilder,
  prefix: string,
  strings: string[],
  including: boolean,
): string {
  const ac = new AhoCorasick(strings);
  const name = (s: number) => (s === 0 ? prefix : `${prefix}-${String(s).padStart(2, "0")}`);
  for (let q = 0; q < ac.states; q++) {
    if (ac.isTerminal(q)) continue;
    const buckets = new Map<number, number[]>();
    const completing: number[] = [];
    const specific: number[] = [];
    for (const c of ac.alphabet) {
      const d = ac.next(q, c);
      if (ac.isTerminal(d)) {
        completing.push(c);
        specific.push(c);
      } else if (d !== 0) {
        if (!buckets.has(d)) buckets.set(d, []);
        buckets.get(d)!.push(c);
        specific.push(c);
      }
    }
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    let rhs: string;
    if (including) {
      const alts: string[] = [];
      if (completing.length > 0) alts.push(charClass(completing, false));
      for (const [d, chars] of sorted) alts.push(`${charClass(chars, false)} ${name(d)}`);
      alts.push(`${charClass(specific, true)} ${name(0)}`);
      rhs = alts.join(" | ");
    } else {
      rhs = "|";
      for (const [d, chars] of sorted) rhs += ` ${charClass(chars, false)} ${name(d)} |`;
      rhs += ` ${charClass(specific, true)} ${name(0)}`;
    }
    builder.addRule(name(q), rhs);
  }
  if (ac.isTerminal(0)) builder.addRule(prefix, "|");
  return name(0);
}

/** A tagged parse: whether it matched, and the text of each tag (the last one of a name wins). */
export interface TaggedParse {
  ok: boolean;
  tags: Record<string, string>;
}

/**
 * Parses `input` (whole, not lenient) with the parser `build` makes, from the start or, with
 * `anywhere`, from the first position where it matches; returns its tags (upstream
 * tagged_peg_parser). Missing tags read as "".
 */
export function taggedParse(
  build: (p: PegBuilder) => Peg,
  input: string,
  anywhere = false,
): TaggedParse {
  const builder = new PegBuilder();
  const arena = builder.build(build(builder));
  const extract = (ctx: PegContext, r: PegParseResult): TaggedParse => {
    const tags: Record<string, string> = {};
    ctx.ast.visit(r, (node) => {
      if (node.tag !== "") tags[node.tag] = node.text;
    });
    return {
      ok: r.type === PegResult.Success,
      tags: new Proxy(tags, { get: (t, k) => t[k as string] ?? "" }),
    };
  };
  if (!anywhere || input === "") {
    const ctx = new PegContext(input, false);
    return extract(ctx, arena.parse(ctx));
  }
  for (let i = 0; i < input.length; i++) {
    const ctx = new PegContext(input, false);
    const r = arena.parse(ctx, i);
    if (r.type === PegResult.Success || i === input.length - 1) return extract(ctx, r);
  }
  return { ok: false, tags: {} };
}
