import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import { JSON_GRAMMAR, jsonSchemaToGrammar, parseJsonSchemaArg } from "./json_schema_to_grammar.ts";

// ---------------------------------------------------------------------------------------------
// A small GBNF reader and matcher, so that tests can ask "does this grammar accept this text?"
// It follows llama.cpp's parser (src/llama-grammar.cpp) for the syntax the converter writes and
// grammars/json.gbnf uses: literals, character classes, groups, alternation, * + ? {m,n},
// comments, and newlines only inside groups or after "|" and "::=".

type _Atom =
  | { t: "lit"; cps: number[] }
  | { t: "cls"; neg: boolean; ranges: [number, number][] }
  | { t: "ref"; name: string }
  | { t: "grp"; alts: _Rep[][] };
interface _Rep {
  atom: _Atom;
  min: number;
  max: number;
}

function _parseGbnf(src: string): Map<string, _Rep[][]> {
  const s = Array.from(src);
  let pos = 0;
  const peek = (k = 0) => s[pos + k] ?? "";
  const fail = (why: string): never => {
    throw new SyntaxError(`GBNF: ${why} at ${pos}: ${s.slice(pos, pos + 20).join("")}`);
  };
  const skipSpace = (newlineOk: boolean) => {
    while (pos < s.length) {
      const c = peek();
      if (c === " " || c === "\t") pos++;
      else if (c === "#") { while (pos < s.length && peek() !== "\n") pos++; }
      else if (newlineOk && (c === "\n" || c === "\r")) pos++;
      else break;
    }
  };
  const isWord = (c: string) => /^[a-zA-Z0-9-]$/.test(c);
  const name = () => {
    const start = pos;
    while (isWord(peek())) pos++;
    if (pos === start) fail("expected a name");
    return s.slice(start, pos).join("");
  };
  const hex = (n: number) => {
    const h = s.slice(pos, pos + n).join("");
    if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail("bad hex escape");
    pos += n;
    return parseInt(h, 16);
  };
  const char = (): number => {
    const c = peek();
    if (c === "") fail("unexpected end");
    pos++;
    if (c !== "\\") return c.codePointAt(0) as number;
    const e = peek();
    pos++;
    switch (e) {
      case "x":
        return hex(2);
      case "u":
        return hex(4);
      case "U":
        return hex(8);
      case "t":
        return 9;
      case "r":
        return 13;
      case "n":
        return 10;
      case "\\":
      case '"':
      case "[":
      case "]":
      case "-":
        return e.codePointAt(0) as number;
    }
    return fail(`unknown escape \\${e}`);
  };
  const int = () => {
    const start = pos;
    while (/^[0-9]$/.test(peek())) pos++;
    return pos === start ? null : Number(s.slice(start, pos).join(""));
  };
  const sequence = (nested: boolean): _Rep[] => {
    const seq: _Rep[] = [];
    for (;;) {
      const c = peek();
      const last = seq.at(-1);
      if (c === '"') {
        pos++;
        const cps: number[] = [];
        while (peek() !== '"') cps.push(char());
        pos++;
        seq.push({ atom: { t: "lit", cps }, min: 1, max: 1 });
      } else if (c === "[") {
        pos++;
        const neg = peek() === "^";
        if (neg) pos++;
        const ranges: [number, number][] = [];
        while (peek() !== "]") {
          const lo = char();
          if (peek() === "-" && peek(1) !== "]") {
            pos++;
            ranges.push([lo, char()]);
          } else {
            ranges.push([lo, lo]);
          }
        }
        pos++;
        seq.push({ atom: { t: "cls", neg, ranges }, min: 1, max: 1 });
      } else if (c === "(") {
        pos++;
        skipSpace(true);
        const alts = alternates(true);
        if (peek() !== ")") fail("expected )");
        pos++;
        seq.push({ atom: { t: "grp", alts }, min: 1, max: 1 });
      } else if (isWord(c)) {
        seq.push({ atom: { t: "ref", name: name() }, min: 1, max: 1 });
      } else if ((c === "*" || c === "+" || c === "?" || c === "{") && last) {
        pos++;
        // a repeated element becomes a group, so that x{2}{3} nests like llama.cpp's
        const rep: _Rep = { atom: { t: "grp", alts: [[last]] }, min: 0, max: Infinity };
        if (c === "+") rep.min = 1;
        if (c === "?") rep.max = 1;
        if (c === "{") {
          rep.min = int() ?? fail("expected a number");
          rep.max = rep.min;
          if (peek() === ",") {
            pos++;
            rep.max = int() ?? Infinity;
          }
          if (peek() !== "}") fail("expected }");
          pos++;
        }
        seq[seq.length - 1] = rep;
      } else {
        break;
      }
      skipSpace(nested);
    }
    return seq;
  };
  const alternates = (nested: boolean): _Rep[][] => {
    const alts = [sequence(nested)];
    while (peek() === "|") {
      pos++;
      skipSpace(true);
      alts.push(sequence(nested));
    }
    return alts;
  };
  const rules = new Map<string, _Rep[][]>();
  skipSpace(true);
  while (pos < s.length) {
    const n = name();
    skipSpace(false);
    if (s.slice(pos, pos + 3).join("") !== "::=") fail("expected ::=");
    pos += 3;
    skipSpace(true);
    if (rules.has(n)) fail(`rule ${n} defined twice`);
    rules.set(n, alternates(false));
    if (peek() !== "" && peek() !== "\n" && peek() !== "\r") fail("expected end of line");
    skipSpace(true);
  }
  return rules;
}

/** Every rule a grammar refers to, so that tests can check that all are defined. */
function _references(rules: Map<string, _Rep[][]>): Set<string> {
  const refs = new Set<string>();
  const walk = (alts: _Rep[][]) => {
    for (const seq of alts) {
      for (const { atom } of seq) {
        if (atom.t === "ref") refs.add(atom.name);
        if (atom.t === "grp") walk(atom.alts);
      }
    }
  };
  for (const alts of rules.values()) walk(alts);
  return refs;
}

/** Whether `grammar` (from its `root`) accepts the whole of `text`. */
function _accepts(grammar: string, text: string): boolean {
  const rules = _parseGbnf(grammar);
  const t = Array.from(text, (c) => c.codePointAt(0) as number);
  const memo = new Map<string, Set<number> | null>();
  const ref = (name: string, pos: number): Set<number> => {
    const key = `${name}@${pos}`;
    const hit = memo.get(key);
    if (hit === null) throw new Error(`left recursion in rule ${name}`);
    if (hit) return hit;
    const alts = rules.get(name);
    if (!alts) throw new Error(`undefined rule ${name}`);
    memo.set(key, null);
    const result = alternates(alts, pos);
    memo.set(key, result);
    return result;
  };
  const atom = (a: _Atom, pos: number): Set<number> => {
    switch (a.t) {
      case "lit":
        return a.cps.every((cp, i) => t[pos + i] === cp)
          ? new Set([pos + a.cps.length])
          : new Set();
      case "cls": {
        const cp = t[pos];
        if (cp === undefined) return new Set();
        const inside = a.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
        return inside !== a.neg ? new Set([pos + 1]) : new Set();
      }
      case "ref":
        return ref(a.name, pos);
      case "grp":
        return alternates(a.alts, pos);
    }
  };
  const repeat = ({ atom: a, min, max }: _Rep, pos: number): Set<number> => {
    const result = new Set<number>();
    if (min === 0) result.add(pos);
    let current = new Set([pos]);
    for (let k = 1; k <= max; k++) {
      const next = new Set<number>();
      for (const p of current) for (const q of atom(a, p)) next.add(q);
      if (k >= min) {
        let fresh = false;
        for (const q of next) {
          if (!result.has(q)) fresh = true;
          result.add(q);
        }
        if (!fresh && max === Infinity) break;
      }
      if (next.size === 0) break;
      current = next;
    }
    return result;
  };
  const alternates = (alts: _Rep[][], pos: number): Set<number> => {
    const result = new Set<number>();
    for (const seq of alts) {
      let positions = new Set([pos]);
      for (const rep of seq) {
        const next = new Set<number>();
        for (const p of positions) for (const q of repeat(rep, p)) next.add(q);
        positions = next;
        if (positions.size === 0) break;
      }
      for (const p of positions) result.add(p);
    }
    return result;
  };
  return ref("root", 0).has(t.length);
}

function _assertAccepts(grammar: string, texts: string[]): void {
  for (const text of texts) ok(_accepts(grammar, text), `should accept ${JSON.stringify(text)}`);
}

function _assertRejects(grammar: string, texts: string[]): void {
  for (const text of texts) ok(!_accepts(grammar, text), `should reject ${JSON.stringify(text)}`);
}

Deno.test("_accepts() test helper matches and refuses like a grammar", () => {
  const g = 'root ::= "a" [b-d]{2,3} ( "x" | y )* "!"?\ny ::= [^a-z]\n';
  _assertAccepts(g, ["abb", "abcd", "abbx", "abb1x2!", "abdd!"]);
  _assertRejects(g, ["ab", "abbbbb", "abba", "abbq", "abbxq", ""]);
  throws(() => _parseGbnf('root ::= "\\q"'), SyntaxError);
  throws(() => _accepts("root ::= root", ""), /left recursion/);
});

// ---------------------------------------------------------------------------------------------
// Same text as upstream.

interface _Fixture {
  name: string;
  schema: unknown;
  /** What llama.cpp v0.5.0 produces. */
  upstream: string;
  /** What we produce, where it differs beyond the additional-key fix (see the module notes). */
  ours?: string;
}

/**
 * Our one systematic difference: keys of additional properties never start with a raw
 * backslash, control character or DEL, which upstream's `[^"...]` let through.
 */
function _expected(fixture: _Fixture): string {
  if (fixture.ours !== undefined) return fixture.ours.trim();
  return fixture.upstream.trim().split("\n").map((line) =>
    line.startsWith("additional-k ::= ") || /^[\w-]+-additional-k ::= /.test(line)
      ? line.replaceAll('[^"', '[^"\\\\\\x7F\\x00-\\x1F')
      : line
  ).join("\n");
}

for (
  const [title, fixtures] of [
    ["upstream's test-json-schema-to-grammar.cpp", () => _UPSTREAM_TESTS],
    ["upstream's converter", () => _UPSTREAM_OUTPUTS],
  ] as const
) {
  Deno.test(`jsonSchemaToGrammar() gives the text of ${title}`, async (t) => {
    for (const fixture of fixtures()) {
      await t.step(fixture.name, () => {
        strictEqual(jsonSchemaToGrammar(fixture.schema).trim(), _expected(fixture));
      });
    }
  });
}

Deno.test("jsonSchemaToGrammar() writes grammars whose rules are all defined", () => {
  for (const fixture of [..._UPSTREAM_TESTS, ..._UPSTREAM_OUTPUTS]) {
    const rules = _parseGbnf(jsonSchemaToGrammar(fixture.schema));
    ok(rules.has("root"), fixture.name);
    for (const ref of _references(rules)) ok(rules.has(ref), `${fixture.name}: ${ref}`);
  }
});

Deno.test("jsonSchemaToGrammar() ends every rule with a newline, sorted by name", () => {
  const grammar = jsonSchemaToGrammar({ type: "object", properties: { b: {}, a: {} } });
  ok(grammar.endsWith("\n"));
  const names = grammar.trim().split("\n").map((line) => line.split(" ::= ")[0] as string);
  deepStrictEqual(names, [...names].sort());
});

// ---------------------------------------------------------------------------------------------
// What the grammars accept.

Deno.test("jsonSchemaToGrammar() constrains an object with a required integer", () => {
  const g = jsonSchemaToGrammar({
    type: "object",
    properties: { n: { type: "integer" } },
    required: ["n"],
  });
  _assertAccepts(g, ['{"n":5}', '{ "n": -12 }', '{"n": 0}', '{\n  "n": 1234567890123456\n}']);
  _assertRejects(g, ['{"n": 1.5}', '{"n": "1"}', "{}", '{"n": 01}', '{"n": 1, "m": 2}', "[1]"]);
});

Deno.test("jsonSchemaToGrammar() orders required properties first, in declared order", () => {
  const g = jsonSchemaToGrammar({
    type: "object",
    properties: { a: { type: "integer" }, b: { type: "integer" }, c: { type: "integer" } },
    required: ["c", "a"],
  });
  _assertAccepts(g, ['{"a":1,"c":3}', '{"a":1,"c":3,"b":2}']);
  _assertRejects(g, ['{"c":3,"a":1}', '{"a":1}', '{"b":2,"a":1,"c":3}', '{"a":1,"c":3,"d":4}']);
});

Deno.test("jsonSchemaToGrammar() keeps optional properties in order, each at most once", () => {
  const g = jsonSchemaToGrammar({
    properties: { a: { type: "integer" }, b: { type: "integer" }, c: { type: "integer" } },
    additionalProperties: false,
  });
  _assertAccepts(g, ["{}", '{"a":1}', '{"b":2}', '{"a":1,"c":3}', '{"a":1,"b":2,"c":3}']);
  _assertRejects(g, ['{"b":2,"a":1}', '{"a":1,"a":1}', '{"d":1}', '{"a":1,}']);
});

Deno.test("jsonSchemaToGrammar() follows additionalProperties", () => {
  const closed = jsonSchemaToGrammar({ type: "object", additionalProperties: false });
  _assertAccepts(closed, ["{}", "{ }"]);
  _assertRejects(closed, ['{"a":1}']);

  for (const open of [{ type: "object" }, { type: "object", additionalProperties: true }]) {
    _assertAccepts(jsonSchemaToGrammar(open), ["{}", '{"a":[1,{"b":null}],"c":"d"}']);
  }

  const typed = jsonSchemaToGrammar({
    type: "object",
    properties: { a: { type: "integer" } },
    additionalProperties: { type: "string" },
  });
  _assertAccepts(typed, ['{"a":1}', '{"a":1,"b":"x"}', '{"b":"x","ab":"y"}', '{"":"e"}', "{}"]);
  // "a" is not an additional key, and additional values are strings
  _assertRejects(typed, ['{"a":"x"}', '{"b":1}', '{"a":1,"a":2}']);
  // a key that upstream's grammar lets through but is not JSON
  _assertRejects(typed, ['{"\\": "x"}', '{"\u0001": "x"}', '{"\n": "x"}']);
});

Deno.test("jsonSchemaToGrammar() constrains integer ranges exactly", () => {
  const ranges: [number | null, number | null][] = [
    [0, null],
    [1, null],
    [3, null],
    [10, null],
    [25, null],
    [-5, null],
    [-123, null],
    // upstream gets these wrong (see _atLeast in the module)
    [100, null],
    [105, null],
    [115, null],
    [1015, null],
    [null, -1],
    [null, -100],
    [null, 30],
    [null, -5],
    [null, 1],
    [null, 100],
    [null, 0],
    [0, 23],
    [15, 300],
    [5, 30],
    [-123, 42],
    [-10, 10],
    [-250, -99],
    [7, 7],
    [-1, 1],
    [99, 101],
  ];
  for (const [min, max] of ranges) {
    const schema: Record<string, unknown> = { type: "integer" };
    if (min !== null) schema.minimum = min;
    if (max !== null) schema.maximum = max;
    const g = jsonSchemaToGrammar(schema);
    for (let v = -1100; v <= 1100; v++) {
      const inside = (min === null || v >= min) && (max === null || v <= max);
      strictEqual(_accepts(g, String(v)), inside, `${JSON.stringify(schema)} and ${v}`);
    }
    _assertRejects(g, ["007", "-05", "-00", "01", "1.0", "+1", ""]);
    const big = "12345678901234";
    strictEqual(_accepts(g, big), max === null, `${JSON.stringify(schema)} and ${big}`);
  }
});

Deno.test("jsonSchemaToGrammar() folds exclusive and fractional integer bounds", () => {
  const g = jsonSchemaToGrammar({ type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 10 });
  _assertAccepts(g, ["1", "9"]);
  _assertRejects(g, ["0", "10"]);
  const f = jsonSchemaToGrammar({ type: "integer", minimum: 0.5, maximum: 3.5 });
  _assertAccepts(f, ["1", "3"]);
  _assertRejects(f, ["0", "4"]);
});

Deno.test("jsonSchemaToGrammar() constrains string lengths in characters", () => {
  const g = jsonSchemaToGrammar({ type: "string", minLength: 1, maxLength: 3 });
  _assertAccepts(g, ['"a"', '"abc"', '"\\n"', '"\\u00e9bc"', '"é😀"']);
  _assertRejects(g, ['""', '"abcd"', "abc", '"a"b"', '"\\"']);
});

Deno.test("jsonSchemaToGrammar() constrains array lengths", () => {
  const g = jsonSchemaToGrammar({
    type: "array",
    items: { type: "boolean" },
    minItems: 1,
    maxItems: 2,
  });
  _assertAccepts(g, ["[true]", "[ true, false ]"]);
  _assertRejects(g, ["[]", "[true,true,true]", "[1]", "[true,]"]);
  const empty = jsonSchemaToGrammar({ type: "array", maxItems: 0 });
  _assertAccepts(empty, ["[]"]);
  _assertRejects(empty, ["[1]"]);
});

Deno.test("jsonSchemaToGrammar() builds tuples from prefixItems", () => {
  const g = jsonSchemaToGrammar({ prefixItems: [{ type: "string" }, { type: "number" }] });
  _assertAccepts(g, ['["a", 1.5]', '["",-2e3]']);
  _assertRejects(g, ['["a"]', '[1, "a"]', '["a", 1, 2]']);
  const closed = jsonSchemaToGrammar({ prefixItems: [{ const: 1 }], items: false });
  _assertAccepts(closed, ["[1]"]);
  _assertRejects(closed, ["[1,1]", "[]"]);
});

Deno.test("jsonSchemaToGrammar() accepts the string formats", () => {
  const date = jsonSchemaToGrammar({ type: "string", format: "date" });
  _assertAccepts(date, ['"2024-02-29"', '"1999-12-31"']);
  _assertRejects(date, ['"2024-13-01"', '"2024-00-10"', '"24-01-01"', "2024-01-01"]);
  const time = jsonSchemaToGrammar({ type: "string", format: "time" });
  _assertAccepts(time, ['"23:59:59Z"', '"08:00:00.123+02:00"']);
  _assertRejects(time, ['"24:00:00Z"', '"12:00:00"']);
  const dateTime = jsonSchemaToGrammar({ type: "string", format: "date-time" });
  _assertAccepts(dateTime, ['"2024-02-29T12:30:00Z"']);
  _assertRejects(dateTime, ['"2024-02-29 12:30:00Z"']);
  for (const format of ["uuid", "uuid4"]) {
    const uuid = jsonSchemaToGrammar({ type: "string", format });
    _assertAccepts(uuid, ['"123e4567-e89b-12d3-a456-426614174000"']);
    _assertRejects(uuid, ['"123e4567e89b12d3a456426614174000"', '"not-a-uuid"']);
  }
  // unknown formats constrain nothing
  _assertAccepts(jsonSchemaToGrammar({ type: "string", format: "email" }), ['"x"']);
});

Deno.test("jsonSchemaToGrammar() turns anchored patterns into rules", () => {
  const g = jsonSchemaToGrammar({ type: "string", pattern: "^[A-Z]{3}-[0-9]{3}(x|yz)?$" });
  _assertAccepts(g, ['"ABC-123"', '"XYZ-000yz"', '"ABC-123x"']);
  _assertRejects(g, ['"AB-123"', '"ABC-1234"', '"abc-123"', '"ABC-123y"']);
  const g2 = jsonSchemaToGrammar({ type: "string", pattern: "^(?:foo|bar)+\\.baz$" });
  _assertAccepts(g2, ['"foo.baz"', '"barfoo.baz"']);
  _assertRejects(g2, ['".baz"', '"fooxbaz"']);
});

Deno.test("jsonSchemaToGrammar() repeats a whole non-ASCII character in a pattern", () => {
  // upstream reads the pattern byte by byte and repeats only the last UTF-8 byte
  strictEqual(
    jsonSchemaToGrammar({ type: "string", pattern: "^é😀+$" }).split("\n")[0],
    'root ::= "\\"" ("é" "😀"+) "\\""',
  );
  _assertAccepts(jsonSchemaToGrammar({ type: "string", pattern: "^😀{2}$" }), ['"😀😀"']);
});

Deno.test("jsonSchemaToGrammar() falls back to any string for unsupported patterns", () => {
  for (const pattern of ["[0-9]+", "^\\d+$", "^(?=a)a$", "^a$b$"]) {
    const warnings: string[] = [];
    const g = jsonSchemaToGrammar(
      { type: "object", properties: { p: { type: "string", pattern } }, required: ["p"] },
      { onWarning: (message) => warnings.push(message) },
    );
    strictEqual(warnings.length, 1, pattern);
    match(warnings[0] as string, /^JSON schema at #\/properties\/p: "pattern" .* is not supported/);
    _assertAccepts(g, ['{"p": "anything at all"}']);
    // nothing is left behind from the abandoned attempt
    ok(!/^p-\d+ ::=/m.test(g), g);
  }
  // without a listener a fallback is silent
  jsonSchemaToGrammar({ type: "string", pattern: "^\\w$" });
});

Deno.test("jsonSchemaToGrammar() lets . match line breaks only with dotall", () => {
  const schema = { type: "string", pattern: "^a.b$" };
  match(jsonSchemaToGrammar(schema), /^dot ::= \[\^\\x0A\\x0D\]$/m);
  match(jsonSchemaToGrammar(schema, { dotall: true }), /^dot ::= \[\\U00000000-\\U0010FFFF\]$/m);
  _assertRejects(jsonSchemaToGrammar(schema), ['"a\nb"']);
  _assertAccepts(jsonSchemaToGrammar(schema, { dotall: true }), ['"a\nb"']);
});

Deno.test("jsonSchemaToGrammar() matches const and enum values exactly", () => {
  const value = { a: [1, 'x"y\\z\n'], b: null };
  const g = jsonSchemaToGrammar({ const: value });
  _assertAccepts(g, [JSON.stringify(value)]);
  _assertRejects(g, [JSON.stringify(value, null, 1), '{"b":null,"a":[1,"x\\"y\\\\z\\n"]}']);
  const values = [
    "red",
    'say "hi"',
    "back\\slash",
    "new\nline",
    "tab\t",
    "é😀",
    42,
    1.5,
    true,
    null,
    [
      "foo",
    ],
  ];
  const e = jsonSchemaToGrammar({ enum: values });
  _assertAccepts(e, values.map((v) => JSON.stringify(v)));
  _assertRejects(e, ['"blue"', "43", "false", '"new\nline"', '"say "hi""']);
});

Deno.test("jsonSchemaToGrammar() escapes special characters in property names", () => {
  const names = [
    'quo"te',
    "back\\slash",
    "new\nline",
    "tab\t",
    "\u0001",
    "é",
    "😀",
    "x]y",
    "a-b",
    "^",
    "-",
    "",
    "*",
    "root",
    "a b",
    "space",
  ];
  for (const name of names) {
    const label = JSON.stringify(name);
    const required = jsonSchemaToGrammar({
      type: "object",
      properties: { [name]: { type: "integer" } },
      required: [name],
    });
    _assertAccepts(required, [JSON.stringify({ [name]: 1 })]);
    _assertRejects(required, [JSON.stringify({ [name]: "1" }), "{}", "1"]);
    ok(/^root ::= "\{" /m.test(required), `${label}: ${required}`);

    const open = jsonSchemaToGrammar({
      type: "object",
      properties: { [name]: { type: "integer" } },
      additionalProperties: { type: "string" },
    });
    _assertAccepts(open, [JSON.stringify({ [name]: 1 }), '{"zz": "s"}', "{}"]);
    // the declared name is no additional key
    _assertRejects(open, [JSON.stringify({ [name]: "s" })]);
  }
  // every name together, some required
  const all = Object.fromEntries(names.map((n) => [n, { type: "integer" }]));
  const g = jsonSchemaToGrammar({ properties: all, required: names.slice(0, 5) });
  _assertAccepts(g, [JSON.stringify(Object.fromEntries(names.map((n) => [n, 1])))]);
});

Deno.test("jsonSchemaToGrammar() treats {} and true as any JSON value", () => {
  const anyValue = [
    "null",
    "true",
    "-1.5e3",
    '"s"',
    "[]",
    '[1, "a", [null]]',
    '{"a": {"b": [{}]}}',
  ];
  for (const schema of [{}, true, { description: "anything" }]) {
    const g = jsonSchemaToGrammar(schema);
    _assertAccepts(g, anyValue);
    _assertRejects(g, ["", "nul", "[1,]", '{"a"}', "'s'"]);
  }
});

Deno.test("jsonSchemaToGrammar() expands anyOf, oneOf and type arrays", () => {
  const g = jsonSchemaToGrammar({ type: ["string", "null"] });
  _assertAccepts(g, ['"x"', "null"]);
  _assertRejects(g, ["1"]);
  const o = jsonSchemaToGrammar({
    oneOf: [{ type: "integer" }, {
      type: "object",
      properties: { k: { const: 1 } },
      required: ["k"],
    }],
  });
  _assertAccepts(o, ["7", '{"k": 1}']);
  _assertRejects(o, ['{"k": 2}', '"7"']);
});

Deno.test("jsonSchemaToGrammar() merges allOf objects", () => {
  const g = jsonSchemaToGrammar({
    allOf: [
      { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
      { $ref: "#/$defs/b" },
    ],
    $defs: { b: { type: "object", properties: { b: { type: "integer" } } } },
  });
  _assertAccepts(g, ['{"a": "x", "b": 1}']);
  _assertRejects(g, ['{"b": 1}', '{"a": 1, "b": 1}']);
});

Deno.test("jsonSchemaToGrammar() resolves local $ref, recursion included", () => {
  const schema = {
    $ref: "#/definitions/node",
    definitions: {
      node: {
        type: "object",
        properties: {
          value: { type: "integer" },
          children: { type: "array", items: { $ref: "#/definitions/node" } },
        },
        required: ["value"],
      },
    },
  };
  const g = jsonSchemaToGrammar(schema);
  match(g, /^root ::= ref-definitions-node$/m);
  _assertAccepts(g, ['{"value": 1}', '{"value": 1, "children": [{"value": 2, "children": []}]}']);
  _assertRejects(g, ['{"children": []}', '{"value": 1, "children": [{}]}']);

  const whole = jsonSchemaToGrammar({
    type: "object",
    properties: { next: { anyOf: [{ $ref: "#" }, { type: "null" }] } },
    required: ["next"],
  });
  _assertAccepts(whole, ['{"next": {"next": null}}']);

  const escaped = jsonSchemaToGrammar({
    $ref: "#/$defs/a~1b~0c",
    $defs: { "a/b~c": { const: 1 } },
  });
  _assertAccepts(escaped, ["1"]);
});

Deno.test("jsonSchemaToGrammar() leaves the schema untouched", () => {
  const schema = {
    type: ["object", "null"],
    properties: { a: { type: "integer" } },
    required: ["a"],
  };
  const copy = structuredClone(schema);
  jsonSchemaToGrammar(Object.freeze(schema));
  deepStrictEqual(schema, copy);
});

// ---------------------------------------------------------------------------------------------
// Errors.

Deno.test("jsonSchemaToGrammar() names the path and keyword of an invalid schema", () => {
  const cases: [unknown, RegExp][] = [
    [
      { type: "kaboom" },
      /^Cannot convert JSON schema at #: "type" "kaboom" is not a JSON Schema type$/,
    ],
    [{ type: 123 }, /at #: "type" must be a string or an array of strings, got 123$/],
    [{ type: [] }, /at #: "type" must not be empty$/],
    [
      { type: "object", properties: { a: { type: "array", items: { type: "wat" } } } },
      /at #\/properties\/a\/items: "type" "wat"/,
    ],
    [
      { properties: { "x/y": { minLength: -1 } } },
      /at #\/properties\/x~1y: "minLength" must be a non-negative integer, got -1$/,
    ],
    [{ type: "array", maxItems: 1.5 }, /"maxItems" must be a non-negative integer, got 1\.5$/],
    [{ type: "array", minItems: 3, maxItems: 2 }, /"minItems" 3 is greater than "maxItems" 2$/],
    [
      { type: "string", minLength: 3, maxLength: 2 },
      /"minLength" 3 is greater than "maxLength" 2$/,
    ],
    [{ type: "integer", minimum: 5, maximum: 4 }, /no integer lies between .* 5 and .* 4$/],
    [{ type: "integer", minimum: "a" }, /"minimum" must be a number, got "a"$/],
    [{ type: "integer", exclusiveMinimum: true }, /"exclusiveMinimum" must be a number, got true$/],
    [
      { type: "integer", maximum: 1e300 },
      /"maximum" 1e\+300 is out of the supported integer range/,
    ],
    [
      { $ref: "https://example.com/s.json" },
      /"\$ref" "https:\/\/example.com\/s.json" is not supported: only references into the same document/,
    ],
    [{ $ref: "other.json#/$defs/a" }, /"\$ref" "other.json#\/\$defs\/a" is not supported/],
    [
      { $ref: "#/$defs/missing", $defs: {} },
      /cannot resolve "\$ref" "#\/\$defs\/missing": "missing" not found$/,
    ],
    [
      { $ref: "#/items/5", items: [{}] },
      /cannot resolve "\$ref" "#\/items\/5": index "5" is out of range$/,
    ],
    [{ $ref: 5 }, /"\$ref" must be a string, got 5$/],
    [{ enum: [] }, /"enum" must be a non-empty array, got \[\]$/],
    [{ anyOf: [] }, /at #\/anyOf: "anyOf" must not be empty$/],
    [{ oneOf: {} }, /at #\/oneOf: "oneOf" must be an array of schemas, got \{\}$/],
    [{ allOf: [] }, /at #\/allOf: "allOf" must not be empty$/],
    [{ properties: 5 }, /"properties" must be an object, got 5$/],
    [{ additionalProperties: 5 }, /"additionalProperties" must be a boolean or a schema, got 5$/],
    [{ pattern: 5 }, /"pattern" must be a string, got 5$/],
    [{ format: 5 }, /"format" must be a string, got 5$/],
    [
      { type: "string", pattern: "^(a$" },
      /"pattern" "\^\(a\$" is not a valid regular expression: unbalanced parentheses$/,
    ],
    [{ type: "string", pattern: "^[a$" }, /unterminated character class$/],
    [{ type: "string", pattern: "^*$" }, /nothing to repeat$/],
    [{ type: "string", pattern: "^a\\$" }, /trailing backslash$/],
    [{ items: 5 }, /at #\/items: schema must be an object or a boolean, got 5$/],
    [{ anyOf: [false] }, /at #\/anyOf\/0: schema false accepts no value$/],
    [false, /at #: schema false accepts no value$/],
    [null, /at #: schema must be an object or a boolean, got null$/],
    [[], /got \[\]$/],
    [{ const: undefined }, /"const" must hold JSON values/],
    [{ enum: [1n] }, /"enum" must hold JSON values/],
  ];
  for (const [schema, message] of cases) {
    throws(() => jsonSchemaToGrammar(schema), (error: unknown) => {
      ok(error instanceof TypeError, `${String(error)} for ${String(message)}`);
      match(error.message, message);
      return true;
    });
  }
});

Deno.test("jsonSchemaToGrammar() refuses schemas nested too deeply", () => {
  let schema: unknown = { type: "integer" };
  for (let i = 0; i < 300; i++) schema = { type: "array", items: schema };
  throws(() => jsonSchemaToGrammar(schema), RangeError);
  let fine: unknown = { type: "integer" };
  for (let i = 0; i < 100; i++) fine = { type: "array", items: fine };
  ok(jsonSchemaToGrammar(fine).includes("root ::="));
});

// ---------------------------------------------------------------------------------------------
// JSON_GRAMMAR and parseJsonSchemaArg.

Deno.test("JSON_GRAMMAR accepts any JSON object and nothing else", () => {
  _assertAccepts(JSON_GRAMMAR, ["{}", '{"a": [1, -2.5e3, "x\\n", true, null, {"b": {}}]} ']);
  _assertRejects(JSON_GRAMMAR, ["[1]", '"s"', '{"a":}', '{"a":1,}', "{'a':1}"]);
});

Deno.test("parseJsonSchemaArg() parses JSON text", () => {
  deepStrictEqual(parseJsonSchemaArg('{"type": "integer"}'), { type: "integer" });
  deepStrictEqual(parseJsonSchemaArg("true"), true);
});

Deno.test("parseJsonSchemaArg() throws SyntaxError on bad JSON", () => {
  for (const text of ["", "{type: integer}", '{"a": 1']) {
    throws(() => parseJsonSchemaArg(text), (error: unknown) => {
      ok(error instanceof SyntaxError);
      match(error.message, /^Cannot parse JSON schema: \S/);
      ok(error.cause instanceof SyntaxError);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Fixtures. The `upstream` texts are llama.cpp v0.5.0's: _UPSTREAM_TESTS are the SUCCESS cases
// of tests/test-json-schema-to-grammar.cpp (taken verbatim); _UPSTREAM_OUTPUTS were produced by
// compiling that release's common/json-schema.cpp and common/json-schema-to-grammar.cpp into a
// small command line tool and feeding it these schemas.

const _UPSTREAM_TESTS: _Fixture[] = [
  {
    name: "min 0",
    schema: { "type": "integer", "minimum": 0 },
    upstream: String.raw`
root ::= ([0] | [1-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 1",
    schema: { "type": "integer", "minimum": 1 },
    upstream: String.raw`
root ::= ([1-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 3",
    schema: { "type": "integer", "minimum": 3 },
    upstream: String.raw`
root ::= ([1-2] [0-9]{1,15} | [3-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 9",
    schema: { "type": "integer", "minimum": 9 },
    upstream: String.raw`
root ::= ([1-8] [0-9]{1,15} | [9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 10",
    schema: { "type": "integer", "minimum": 10 },
    upstream: String.raw`
root ::= ([1] ([0-9]{1,15}) | [2-9] [0-9]{1,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 25",
    schema: { "type": "integer", "minimum": 25 },
    upstream: String.raw`
root ::= ([1] [0-9]{2,15} | [2] ([0-4] [0-9]{1,14} | [5-9] [0-9]{0,14}) | [3-9] [0-9]{1,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "max 30",
    schema: { "type": "integer", "maximum": 30 },
    upstream: String.raw`
root ::= ("-" [1-9] [0-9]{0,15} | [0-9] | ([1-2] [0-9] | [3] "0"))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min -5",
    schema: { "type": "integer", "minimum": -5 },
    upstream: String.raw`
root ::= ("-" ([0-5]) | [0] | [1-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min -123",
    schema: { "type": "integer", "minimum": -123 },
    upstream: String.raw`
root ::= ("-" ([0-9] | ([1-8] [0-9] | [9] [0-9]) | "1" ([0-1] [0-9] | [2] [0-3])) | [0] | [1-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "max -5",
    schema: { "type": "integer", "maximum": -5 },
    upstream: String.raw`
root ::= ("-" ([0-4] [0-9]{1,15} | [5-9] [0-9]{0,15}))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
    // upstream lets "-05" through (a JSON syntax error, and -5 < -4)
    ours: String.raw`
root ::= ("-" ([1-4] [0-9]{1,15} | [5-9] [0-9]{0,15}))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "max 1",
    schema: { "type": "integer", "maximum": 1 },
    upstream: String.raw`
root ::= ("-" [1-9] [0-9]{0,15} | [0-1])
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "max 100",
    schema: { "type": "integer", "maximum": 100 },
    upstream: String.raw`
root ::= ("-" [1-9] [0-9]{0,15} | [0-9] | ([1-8] [0-9] | [9] [0-9]) | "100")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 0 max 23",
    schema: { "type": "integer", "minimum": 0, "maximum": 23 },
    upstream: String.raw`
root ::= ([0-9] | ([1] [0-9] | [2] [0-3]))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 15 max 300",
    schema: { "type": "integer", "minimum": 15, "maximum": 300 },
    upstream: String.raw`
root ::= (([1] ([5-9]) | [2-9] [0-9]) | ([1-2] [0-9]{2} | [3] "00"))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min 5 max 30",
    schema: { "type": "integer", "minimum": 5, "maximum": 30 },
    upstream: String.raw`
root ::= ([5-9] | ([1-2] [0-9] | [3] "0"))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min -123 max 42",
    schema: { "type": "integer", "minimum": -123, "maximum": 42 },
    upstream: String.raw`
root ::= ("-" ([0-9] | ([1-8] [0-9] | [9] [0-9]) | "1" ([0-1] [0-9] | [2] [0-3])) | [0-9] | ([1-3] [0-9] | [4] [0-2]))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min -10 max 10",
    schema: { "type": "integer", "minimum": -10, "maximum": 10 },
    upstream: String.raw`
root ::= ("-" ([0-9] | "10") | [0-9] | "10")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "empty schema (any value)",
    schema: {},
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= value
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "exotic formats",
    schema: {
      "items": [{ "format": "date" }, { "format": "uuid" }, { "format": "time" }, {
        "format": "date-time",
      }],
    },
    upstream: String.raw`
date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )
date-string ::= "\"" date "\""
date-time ::= date "T" time
date-time-string ::= "\"" date-time "\""
root ::= "[" space tuple-0 "," space uuid "," space tuple-2 "," space tuple-3 space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
time ::= ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )
time-string ::= "\"" time "\""
tuple-0 ::= date-string
tuple-2 ::= time-string
tuple-3 ::= date-time-string
uuid ::= "\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\""
`,
  },
  {
    name: "string",
    schema: { "type": "string" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char* "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string w/ min length 1",
    schema: { "type": "string", "minLength": 1 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char+ "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string w/ min length 3",
    schema: { "type": "string", "minLength": 3 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char{3,} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string w/ max length",
    schema: { "type": "string", "maxLength": 3 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char{0,3} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string w/ min & max length",
    schema: { "type": "string", "minLength": 1, "maxLength": 4 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char{1,4} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "boolean",
    schema: { "type": "boolean" },
    upstream: String.raw`
root ::= ("true" | "false")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "integer",
    schema: { "type": "integer" },
    upstream: String.raw`
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= ("-"? integral-part)
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string const",
    schema: { "const": "foo" },
    upstream: String.raw`
root ::= "\"foo\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "non-string const",
    schema: { "const": 123 },
    upstream: String.raw`
root ::= "123"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "non-string enum",
    schema: { "enum": ["red", "amber", "green", null, 42, ["foo"]] },
    upstream: String.raw`
root ::= ("\"red\"" | "\"amber\"" | "\"green\"" | "null" | "42" | "[\"foo\"]")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string array",
    schema: { "type": "array", "prefixItems": { "type": "string" } },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "[" space (string ("," space string)*)? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "nullable string array",
    schema: { "type": ["array", "null"], "prefixItems": { "type": "string" } },
    upstream: String.raw`
alternative-0 ::= "[" space (string ("," space string)*)? space "]"
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
null ::= "null"
root ::= alternative-0 | null
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "tuple1",
    schema: { "prefixItems": [{ "type": "string" }] },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "[" space string space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "tuple2",
    schema: { "prefixItems": [{ "type": "string" }, { "type": "number" }] },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "[" space string "," space number space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "array with empty items",
    schema: { "type": "array", "items": {} },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= "[" space ( value ("," space value)* )? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "array with empty items and prefixItems",
    schema: { "type": "array", "items": {}, "prefixItems": { "type": "string" } },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= "[" space ( value ("," space value)* )? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "number",
    schema: { "type": "number" },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "minItems",
    schema: { "items": { "type": "boolean" }, "minItems": 2 },
    upstream: String.raw`
boolean ::= ("true" | "false")
root ::= "[" space boolean ("," space boolean)+ space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "maxItems 0",
    schema: { "items": { "type": "boolean" }, "maxItems": 0 },
    upstream: String.raw`
boolean ::= ("true" | "false")
root ::= "[" space  space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "maxItems 1",
    schema: { "items": { "type": "boolean" }, "maxItems": 1 },
    upstream: String.raw`
boolean ::= ("true" | "false")
root ::= "[" space boolean? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "maxItems 2",
    schema: { "items": { "type": "boolean" }, "maxItems": 2 },
    upstream: String.raw`
boolean ::= ("true" | "false")
root ::= "[" space (boolean ("," space boolean)?)? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min + maxItems",
    schema: { "items": { "type": ["number", "integer"] }, "minItems": 3, "maxItems": 5 },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
item ::= number | integer
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "[" space item ("," space item){2,4} space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min + max items with min + max values across zero",
    schema: {
      "items": { "type": "integer", "minimum": -12, "maximum": 207 },
      "minItems": 3,
      "maxItems": 5,
    },
    upstream: String.raw`
item ::= ("-" ([0-9] | "1" [0-2]) | [0-9] | ([1-8] [0-9] | [9] [0-9]) | ([1] [0-9]{2} | [2] "0" [0-7]))
root ::= "[" space item ("," space item){2,4} space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "min + max items with min + max values",
    schema: {
      "items": { "type": "integer", "minimum": 12, "maximum": 207 },
      "minItems": 3,
      "maxItems": 5,
    },
    upstream: String.raw`
item ::= (([1] ([2-9]) | [2-9] [0-9]) | ([1] [0-9]{2} | [2] "0" [0-7]))
root ::= "[" space item ("," space item){2,4} space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "simple regexp",
    schema: { "type": "string", "pattern": "^abc?d*efg+(hij)?kl$" },
    upstream: String.raw`
root ::= "\"" ("ab" "c"? "d"* "ef" "g"+ ("hij")? "kl") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp escapes",
    schema: { "type": "string", "pattern": "^\\[\\]\\{\\}\\(\\)\\|\\+\\*\\?$" },
    upstream: String.raw`
root ::= "\"" ("[]{}()|+*?") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp quote",
    schema: { "type": "string", "pattern": '^"$' },
    upstream: String.raw`
root ::= "\"" ("\"") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp with top-level alternation",
    schema: { "type": "string", "pattern": "^A|B|C|D$" },
    upstream: String.raw`
root ::= "\"" ("A" | "B" | "C" | "D") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp",
    schema: { "type": "string", "pattern": "^(\\([0-9]{1,3}\\))?[0-9]{3}-[0-9]{4} a{3,5}nd...$" },
    upstream: String.raw`
dot ::= [^\x0A\x0D]
root ::= "\"" (("(" root-1{1,3} ")")? root-1{3,3} "-" root-1{4,4} " " "a"{3,5} "nd" dot dot dot) "\""
root-1 ::= [0-9]
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "required props in original order",
    schema: {
      "type": "object",
      "properties": {
        "b": { "type": "string" },
        "c": { "type": "string" },
        "a": { "type": "string" },
      },
      "required": ["a", "b", "c"],
      "additionalProperties": false,
      "definitions": {},
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
b-kv ::= "\"b\"" space ":" space string
c-kv ::= "\"c\"" space ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "{" space b-kv "," space c-kv "," space a-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "1 optional prop",
    schema: { "properties": { "a": { "type": "string" } }, "additionalProperties": false },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "{" space  (a-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "N optional props",
    schema: {
      "properties": {
        "a": { "type": "string" },
        "b": { "type": "string" },
        "c": { "type": "string" },
      },
      "additionalProperties": false,
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
a-rest ::= ( "," space b-kv )? b-rest
b-kv ::= "\"b\"" space ":" space string
b-rest ::= ( "," space c-kv )?
c-kv ::= "\"c\"" space ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "{" space  (a-kv a-rest | b-kv b-rest | c-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "required + optional props each in original order",
    schema: {
      "properties": {
        "b": { "type": "string" },
        "a": { "type": "string" },
        "d": { "type": "string" },
        "c": { "type": "string" },
      },
      "required": ["a", "b"],
      "additionalProperties": false,
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
b-kv ::= "\"b\"" space ":" space string
c-kv ::= "\"c\"" space ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
d-kv ::= "\"d\"" space ":" space string
d-rest ::= ( "," space c-kv )?
root ::= "{" space b-kv "," space a-kv ( "," space ( d-kv d-rest | c-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "additional props",
    schema: {
      "type": "object",
      "additionalProperties": { "type": "array", "items": { "type": "number" } },
    },
    upstream: String.raw`
additional-kv ::= string ":" space additional-value
additional-value ::= "[" space (number ("," space number)*)? space "]"
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space  (additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "additional props (true)",
    schema: { "type": "object", "additionalProperties": true },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= object
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "additional props (implicit)",
    schema: { "type": "object" },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= object
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "empty w/o additional props",
    schema: { "type": "object", "additionalProperties": false },
    upstream: String.raw`
root ::= "{" space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "required + additional props",
    schema: {
      "type": "object",
      "properties": { "a": { "type": "number" } },
      "required": ["a"],
      "additionalProperties": { "type": "string" },
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space number
additional-k ::= ["] ( [a] char+ | [^"a] char* )? ["]
additional-kv ::= additional-k ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space a-kv ( "," space ( additional-kv ( "," space additional-kv )* ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "optional + additional props",
    schema: {
      "type": "object",
      "properties": { "a": { "type": "number" } },
      "additionalProperties": { "type": "number" },
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space number
a-rest ::= ( "," space additional-kv )*
additional-k ::= ["] ( [a] char+ | [^"a] char* )? ["]
additional-kv ::= additional-k ":" space number
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space  (a-kv a-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "required + optional + additional props",
    schema: {
      "type": "object",
      "properties": { "and": { "type": "number" }, "also": { "type": "number" } },
      "required": ["and"],
      "additionalProperties": { "type": "number" },
    },
    upstream: String.raw`
additional-k ::= ["] ( [a] ([l] ([s] ([o] char+ | [^"o] char*) | [^"s] char*) | [n] ([d] char+ | [^"d] char*) | [^"ln] char*) | [^"a] char* )? ["]
additional-kv ::= additional-k ":" space number
also-kv ::= "\"also\"" space ":" space number
also-rest ::= ( "," space additional-kv )*
and-kv ::= "\"and\"" space ":" space number
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space and-kv ( "," space ( also-kv also-rest | additional-kv ( "," space additional-kv )* ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "optional props with empty name",
    schema: {
      "properties": { "": { "type": "integer" }, "a": { "type": "integer" } },
      "additionalProperties": { "type": "integer" },
    },
    upstream: String.raw`
-kv ::= "\"\"" space ":" space root
-rest ::= ( "," space a-kv )? a-rest
a-kv ::= "\"a\"" space ":" space integer
a-rest ::= ( "," space additional-kv )*
additional-k ::= ["] ( [a] char+ | [^"a] char* ) ["]
additional-kv ::= additional-k ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= ("-"? integral-part)
root0 ::= "{" space  (-kv -rest | a-kv a-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
    ours: String.raw`
-kv ::= "\"\"" space ":" space integer
-rest ::= ( "," space a-kv )? a-rest
a-kv ::= "\"a\"" space ":" space integer
a-rest ::= ( "," space additional-kv )*
additional-k ::= ["] ( [a] char+ | [^"\\\x7F\x00-\x1Fa] char* ) ["]
additional-kv ::= additional-k ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space  (-kv -rest | a-kv a-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "optional props with nested names",
    schema: {
      "properties": { "a": { "type": "integer" }, "aa": { "type": "integer" } },
      "additionalProperties": { "type": "integer" },
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space integer
a-rest ::= ( "," space aa-kv )? aa-rest
aa-kv ::= "\"aa\"" space ":" space integer
aa-rest ::= ( "," space additional-kv )*
additional-k ::= ["] ( [a] ([a] char+ | [^"a] char*) | [^"a] char* )? ["]
additional-kv ::= additional-k ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space  (a-kv a-rest | aa-kv aa-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "optional props with common prefix",
    schema: {
      "properties": { "ab": { "type": "integer" }, "ac": { "type": "integer" } },
      "additionalProperties": { "type": "integer" },
    },
    upstream: String.raw`
ab-kv ::= "\"ab\"" space ":" space integer
ab-rest ::= ( "," space ac-kv )? ac-rest
ac-kv ::= "\"ac\"" space ":" space integer
ac-rest ::= ( "," space additional-kv )*
additional-k ::= ["] ( [a] ([b] char+ | [c] char+ | [^"bc] char*) | [^"a] char* )? ["]
additional-kv ::= additional-k ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space  (ab-kv ab-rest | ac-kv ac-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "top-level $ref",
    schema: {
      "$ref": "#/definitions/foo",
      "definitions": {
        "foo": {
          "type": "object",
          "properties": { "a": { "type": "string" } },
          "required": ["a"],
          "additionalProperties": false,
        },
      },
    },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
ref-definitions-foo ::= "{" space ref-definitions-foo-a-kv space "}"
ref-definitions-foo-a-kv ::= "\"a\"" space ":" space string
root ::= ref-definitions-foo
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "anyOf",
    schema: {
      "anyOf": [{ "$ref": "#/definitions/foo" }, { "$ref": "#/definitions/bar" }],
      "definitions": {
        "foo": { "properties": { "a": { "type": "number" } } },
        "bar": { "properties": { "b": { "type": "number" } } },
      },
      "type": "object",
    },
    upstream: String.raw`
alternative-0 ::= ref-definitions-foo
alternative-1 ::= ref-definitions-bar
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
ref-definitions-bar ::= "{" space  (ref-definitions-bar-b-kv )? space "}"
ref-definitions-bar-b-kv ::= "\"b\"" space ":" space number
ref-definitions-foo ::= "{" space  (ref-definitions-foo-a-kv )? space "}"
ref-definitions-foo-a-kv ::= "\"a\"" space ":" space number
root ::= alternative-0 | alternative-1
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "anyOf $ref",
    schema: {
      "properties": {
        "a": { "anyOf": [{ "type": "string" }, { "type": "number" }] },
        "b": { "anyOf": [{ "$ref": "#/properties/a/anyOf/0" }, { "type": "boolean" }] },
      },
      "type": "object",
    },
    upstream: String.raw`
a ::= string | number
a-kv ::= "\"a\"" space ":" space a
a-rest ::= ( "," space b-kv )?
b ::= b-0 | boolean
b-0 ::= string
b-kv ::= "\"b\"" space ":" space b
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space  (a-kv a-rest | b-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "mix of allOf, anyOf and $ref (similar to https://json.schemastore.org/tsconfig.json)",
    schema: {
      "allOf": [{ "$ref": "#/definitions/foo" }, { "$ref": "#/definitions/bar" }, {
        "anyOf": [{ "$ref": "#/definitions/baz" }, { "$ref": "#/definitions/bam" }],
      }],
      "definitions": {
        "foo": { "properties": { "a": { "type": "number" } } },
        "bar": { "properties": { "b": { "type": "number" } } },
        "bam": { "properties": { "c": { "type": "number" } } },
        "baz": { "properties": { "d": { "type": "number" } } },
      },
      "type": "object",
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space number
b-kv ::= "\"b\"" space ":" space number
c-kv ::= "\"c\"" space ":" space number
d-kv ::= "\"d\"" space ":" space number
d-rest ::= ( "," space c-kv )?
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space a-kv "," space b-kv ( "," space ( d-kv d-rest | c-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "allOf with enum schema",
    schema: {
      "allOf": [{ "$ref": "#/definitions/foo" }],
      "definitions": { "foo": { "type": "string", "enum": ["a", "b"] } },
    },
    upstream: String.raw`
root ::= ("\"a\"" | "\"b\"")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "allOf with multiple enum schemas",
    schema: {
      "allOf": [{ "$ref": "#/definitions/foo" }, { "$ref": "#/definitions/bar" }],
      "definitions": {
        "foo": { "type": "string", "enum": ["a", "b", "c"] },
        "bar": { "type": "string", "enum": ["b", "c", "d"] },
      },
    },
    upstream: String.raw`
root ::= ("\"b\"" | "\"c\"")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "conflicting names",
    schema: {
      "type": "object",
      "properties": {
        "number": {
          "type": "object",
          "properties": {
            "number": {
              "type": "object",
              "properties": { "root": { "type": "number" } },
              "required": ["root"],
              "additionalProperties": false,
            },
          },
          "required": ["number"],
          "additionalProperties": false,
        },
      },
      "required": ["number"],
      "additionalProperties": false,
      "definitions": {},
    },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
number- ::= "{" space number-number-kv space "}"
number-kv ::= "\"number\"" space ":" space number-
number-number ::= "{" space number-number-root-kv space "}"
number-number-kv ::= "\"number\"" space ":" space number-number
number-number-root-kv ::= "\"root\"" space ":" space number
root ::= "{" space number-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "description only (no type) treated as unconstrained",
    schema: {
      "description":
        "The 0-based index of the last line to be retrieved (inclusive). If None, read until the end of the file.",
    },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= value
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "literal string with escapes",
    schema: {
      "properties": {
        "code": {
          "const": ' \r \n " \\ ',
          "description": "Generated code",
          "title": "Code",
          "type": "string",
        },
      },
      "required": ["code"],
      "title": "DecoderResponse",
      "type": "object",
    },
    upstream: String.raw`
code ::= "\" \\r \\n \\\" \\\\ \""
code-kv ::= "\"code\"" space ":" space code
root ::= "{" space code-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp with non-capturing group",
    schema: { "type": "string", "pattern": "^(?:foo|bar)baz$" },
    upstream: String.raw`
root ::= "\"" (("foo" | "bar") "baz") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp with nested non-capturing groups",
    schema: { "type": "string", "pattern": "^(?:(?:ab)+c)?d$" },
    upstream: String.raw`
root ::= "\"" ((("ab")+ "c")? "d") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "unanchored regexp",
    schema: { "type": "string", "pattern": "[0-9]+" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= string
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "regexp with unsupported shorthand",
    schema: { "type": "string", "pattern": "^[0-9]{3}\\w$" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= string
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "regexp with escaped hyphen in a character class",
    schema: { "type": "string", "pattern": "^[a-z\\-]+$" },
    upstream: String.raw`
root ::= "\"" ([a-z\-]+) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "regexp with escaped hyphen outside a character class",
    schema: { "type": "string", "pattern": "^a\\-b$" },
    upstream: String.raw`
root ::= "\"" ("a\-b") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "unsupported regexp in a property",
    schema: {
      "type": "object",
      "properties": { "a": { "type": "string", "pattern": "^(?=a)a$" } },
      "required": ["a"],
      "additionalProperties": false,
    },
    upstream: String.raw`
a ::= string
a-kv ::= "\"a\"" space ":" space a
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "{" space a-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
];

const _UPSTREAM_OUTPUTS: _Fixture[] = [
  {
    name: "int min -999",
    schema: { "type": "integer", "minimum": -999 },
    upstream: String.raw`
root ::= ("-" ([0-9] | ([1-8] [0-9] | [9] [0-9]) | ([1-8] [0-9]{2} | [9] ([0-8] [0-9] | [9] [0-9]))) | [0] | [1-9] [0-9]{0,15})
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int max 256",
    schema: { "type": "integer", "maximum": 256 },
    upstream: String.raw`
root ::= ("-" [1-9] [0-9]{0,15} | [0-9] | ([1-8] [0-9] | [9] [0-9]) | ([1] [0-9]{2} | [2] ([0-4] [0-9] | [5] [0-6])))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int -42..255",
    schema: { "type": "integer", "minimum": -42, "maximum": 255 },
    upstream: String.raw`
root ::= ("-" ([0-9] | ([1-3] [0-9] | [4] [0-2])) | [0-9] | ([1-8] [0-9] | [9] [0-9]) | ([1] [0-9]{2} | [2] ([0-4] [0-9] | [5] [0-5])))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int -1000..-9",
    schema: { "type": "integer", "minimum": -1000, "maximum": -9 },
    upstream: String.raw`
root ::= ("-" ("9" | ([1-8] [0-9] | [9] [0-9]) | ([1-8] [0-9]{2} | [9] ([0-8] [0-9] | [9] [0-9])) | "1000"))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int 101..1001",
    schema: { "type": "integer", "minimum": 101, "maximum": 1001 },
    upstream: String.raw`
root ::= (([1] (([0] ([1-9]) | [1-9] [0-9])) | [2-9] [0-9]{2}) | "100" [0-1])
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int 200..256",
    schema: { "type": "integer", "minimum": 200, "maximum": 256 },
    upstream: String.raw`
root ::= ("2" ([0-4] [0-9] | [5] [0-6]))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int -1..1",
    schema: { "type": "integer", "minimum": -1, "maximum": 1 },
    upstream: String.raw`
root ::= ("-" ([0-1]) | [0-1])
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "int 2..9",
    schema: { "type": "integer", "minimum": 2, "maximum": 9 },
    upstream: String.raw`
root ::= ([2-9])
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "exclusive",
    schema: { "type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100 },
    upstream: String.raw`
root ::= ([1-9] | ([1-8] [0-9] | [9] [0-9]))
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "fractional bounds",
    schema: { "type": "integer", "minimum": 0.5, "maximum": 10.5 },
    upstream: String.raw`
root ::= ([1-9] | "10")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "number ignores bounds",
    schema: { "type": "number", "minimum": 0 },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string 0 0",
    schema: { "type": "string", "minLength": 0, "maxLength": 0 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\""  "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string 0 1",
    schema: { "type": "string", "minLength": 0, "maxLength": 1 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char? "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "string 2 2",
    schema: { "type": "string", "minLength": 2, "maxLength": 2 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char{2,2} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "format uuid4",
    schema: { "type": "string", "format": "uuid4" },
    upstream: String.raw`
root ::= "\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "format uuid6",
    schema: { "type": "string", "format": "uuid6" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char* "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "format email",
    schema: { "type": "string", "format": "email" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char* "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "minLength w/o type",
    schema: { "minLength": 2 },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "\"" char{2,} "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "array 0 0",
    schema: { "type": "array", "items": { "type": "integer" }, "maxItems": 0 },
    upstream: String.raw`
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "[" space  space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "array 1 1",
    schema: { "type": "array", "items": { "type": "integer" }, "minItems": 1, "maxItems": 1 },
    upstream: String.raw`
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "[" space integer  space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "array 0 3",
    schema: { "type": "array", "items": { "type": "integer" }, "maxItems": 3 },
    upstream: String.raw`
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "[" space (integer ("," space integer){0,2})? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "array 5 None",
    schema: { "type": "array", "items": { "type": "integer" }, "minItems": 5 },
    upstream: String.raw`
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "[" space integer ("," space integer){4,} space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "tuple in items",
    schema: {
      "type": "array",
      "items": [{ "type": "string" }, { "type": "boolean" }, { "const": null }],
    },
    upstream: String.raw`
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "[" space string "," space boolean "," space tuple-2 space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
tuple-2 ::= "null"
`,
  },
  {
    name: "nested arrays",
    schema: {
      "type": "array",
      "items": { "type": "array", "items": { "type": "number" }, "maxItems": 2 },
    },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
item ::= "[" space (number ("," space number)?)? space "]"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "[" space (item ("," space item)*)? space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "enum specials",
    schema: {
      "enum": ['a"b', "c\\d", "new\nline", "tab\t", "uni é 😀", 1.5, true, null, { "x": [1, 2] }],
    },
    upstream: String.raw`
root ::= ("\"a\\\"b\"" | "\"c\\\\d\"" | "\"new\\nline\"" | "\"tab\\t\"" | "\"uni é 😀\"" | "1.5" | "true" | "null" | "{\"x\":[1,2]}")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "const object",
    schema: { "const": { "a": 1, "b": [true, null, 'x"y'] } },
    upstream: String.raw`
root ::= "{\"a\":1,\"b\":[true,null,\"x\\\"y\"]}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "const unicode",
    schema: { "const": "日本語 \u0001 " },
    upstream: String.raw`
root ::= "\"日本語 \\u0001 \""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "const null",
    schema: { "const": null },
    upstream: String.raw`
root ::= "null"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "prop names special",
    schema: {
      "type": "object",
      "properties": {
        "a b": { "type": "string" },
        'quote"d': { "type": "integer" },
        "back\\slash": { "type": "boolean" },
        "é": { "type": "null" },
        "new\nline": { "type": "number" },
      },
      "required": ["a b", "é"],
    },
    upstream: String.raw`
--kv ::= "\"é\"" space ":" space null
a-b-kv ::= "\"a b\"" space ":" space string
back-slash-kv ::= "\"back\\\\slash\"" space ":" space boolean
back-slash-rest ::= ( "," space new-line-kv )?
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
new-line-kv ::= "\"new\\nline\"" space ":" space number
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
quote-d-kv ::= "\"quote\\\"d\"" space ":" space integer
quote-d-rest ::= ( "," space back-slash-kv )? back-slash-rest
root ::= "{" space a-b-kv "," space --kv ( "," space ( quote-d-kv quote-d-rest | back-slash-kv back-slash-rest | new-line-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "prop names special + additional",
    schema: {
      "type": "object",
      "properties": {
        "a-b": { "type": "string" },
        "x]y": { "type": "integer" },
        "c\\d": { "type": "integer" },
        "^e": { "type": "integer" },
      },
      "additionalProperties": true,
    },
    upstream: String.raw`
-e-kv ::= "\"^e\"" space ":" space integer
-e-rest ::= ( "," space additional-kv )*
a-b-kv ::= "\"a-b\"" space ":" space string
a-b-rest ::= ( "," space x-y-kv )? x-y-rest
additional-k ::= ["] ( [^] ([e] char+ | [^"e] char*) | [a] ([-] ([b] char+ | [^"b] char*) | [^"-] char*) | [c] ([\] ([d] char+ | [^"d] char*) | [^"\] char*) | [x] ([]] ([y] char+ | [^"y] char*) | [^"]] char*) | [^"^acx] char* )? ["]
additional-kv ::= additional-k ":" space value
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
c-d-kv ::= "\"c\\\\d\"" space ":" space integer
c-d-rest ::= ( "," space -e-kv )? -e-rest
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= "{" space  (a-b-kv a-b-rest | x-y-kv x-y-rest | c-d-kv c-d-rest | -e-kv -e-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
x-y-kv ::= "\"x]y\"" space ":" space integer
x-y-rest ::= ( "," space c-d-kv )? c-d-rest
`,
    ours: String.raw`
-e-kv ::= "\"^e\"" space ":" space integer
-e-rest ::= ( "," space additional-kv )*
a-b-kv ::= "\"a-b\"" space ":" space string
a-b-rest ::= ( "," space x-y-kv )? x-y-rest
additional-k ::= ["] ( [\x5E] ([e] char+ | [^"\\\x7F\x00-\x1Fe] char*) | [a] ([\-] ([b] char+ | [^"\\\x7F\x00-\x1Fb] char*) | [^"\\\x7F\x00-\x1F\-] char*) | [c] ([\\] ([\\] ([d] char+ | [^"\\\x7F\x00-\x1Fd] char*) | [^"\\\x7F\x00-\x1F\\] char*) | [^"\\\x7F\x00-\x1F\\] char*) | [x] ([\]] ([y] char+ | [^"\\\x7F\x00-\x1Fy] char*) | [^"\\\x7F\x00-\x1F\]] char*) | [^"\\\x7F\x00-\x1F\x5Eacx] char* )? ["]
additional-kv ::= additional-k ":" space value
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
c-d-kv ::= "\"c\\\\d\"" space ":" space integer
c-d-rest ::= ( "," space -e-kv )? -e-rest
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= "{" space  (a-b-kv a-b-rest | x-y-kv x-y-rest | c-d-kv c-d-rest | -e-kv -e-rest | additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
x-y-kv ::= "\"x]y\"" space ":" space integer
x-y-rest ::= ( "," space c-d-kv )? c-d-rest
`,
  },
  {
    name: "prop root at top",
    schema: {
      "type": "object",
      "properties": {
        "root": { "type": "string" },
        "value": { "type": "number" },
        "space": { "type": "integer" },
      },
      "required": ["root", "value", "space"],
    },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
root ::= "{" space root-kv "," space value-kv "," space space-kv space "}"
root-kv ::= "\"root\"" space ":" space string
space ::= | " " | "\n"{1,2} [ \t]{0,20}
space-kv ::= "\"space\"" space ":" space integer
string ::= "\"" char* "\""
value-kv ::= "\"value\"" space ":" space number
`,
  },
  {
    name: "nested objects",
    schema: {
      "type": "object",
      "properties": {
        "a": {
          "type": "object",
          "properties": {
            "b": {
              "type": "object",
              "properties": { "c": { "type": "integer" } },
              "required": ["c"],
            },
          },
          "required": ["b"],
        },
        "d": {
          "type": "array",
          "items": { "type": "object", "properties": { "e": { "type": "string" } } },
        },
      },
      "required": ["a"],
    },
    upstream: String.raw`
a ::= "{" space a-b-kv space "}"
a-b ::= "{" space a-b-c-kv space "}"
a-b-c-kv ::= "\"c\"" space ":" space integer
a-b-kv ::= "\"b\"" space ":" space a-b
a-kv ::= "\"a\"" space ":" space a
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
d ::= "[" space (d-item ("," space d-item)*)? space "]"
d-item ::= "{" space  (d-item-e-kv )? space "}"
d-item-e-kv ::= "\"e\"" space ":" space string
d-kv ::= "\"d\"" space ":" space d
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space a-kv ( "," space ( d-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "many optional",
    schema: {
      "type": "object",
      "properties": {
        "a": { "type": "integer" },
        "b": { "type": "integer" },
        "c": { "type": "integer" },
        "d": { "type": "integer" },
        "e": { "type": "integer" },
      },
      "required": ["c"],
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space integer
a-rest ::= ( "," space b-kv )? b-rest
b-kv ::= "\"b\"" space ":" space integer
b-rest ::= ( "," space d-kv )? d-rest
c-kv ::= "\"c\"" space ":" space integer
d-kv ::= "\"d\"" space ":" space integer
d-rest ::= ( "," space e-kv )?
e-kv ::= "\"e\"" space ":" space integer
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space c-kv ( "," space ( a-kv a-rest | b-kv b-rest | d-kv d-rest | e-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "required not in props",
    schema: {
      "type": "object",
      "properties": { "a": { "type": "integer" } },
      "required": ["a", "zzz"],
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space integer
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space a-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "additional schema only",
    schema: { "additionalProperties": { "type": "integer" } },
    upstream: String.raw`
additional-kv ::= string ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space  (additional-kv ( "," space additional-kv )* )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "additional false w/ props",
    schema: { "type": "object", "properties": { "a": {} }, "additionalProperties": false },
    upstream: String.raw`
a ::= value
a-kv ::= "\"a\"" space ":" space a
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= "{" space  (a-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "object with props no additional key",
    schema: { "type": "object", "properties": { "a": { "type": "string" } } },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= "{" space  (a-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "type array",
    schema: { "type": ["string", "integer", "null"] },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
root ::= string | integer | null
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "oneOf",
    schema: {
      "oneOf": [{ "type": "string" }, {
        "type": "object",
        "properties": { "k": { "const": 1 } },
        "required": ["k"],
      }],
    },
    upstream: String.raw`
alternative-1 ::= "{" space alternative-1-k-kv space "}"
alternative-1-k ::= "1"
alternative-1-k-kv ::= "\"k\"" space ":" space alternative-1-k
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= string | alternative-1
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "nested anyOf names",
    schema: {
      "type": "object",
      "properties": {
        "v": {
          "anyOf": [{ "type": "integer" }, {
            "anyOf": [{ "type": "boolean" }, { "type": "null" }],
          }],
        },
      },
    },
    upstream: String.raw`
boolean ::= ("true" | "false")
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
root ::= "{" space  (v-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
v ::= integer | v-1
v-1 ::= boolean | null
v-kv ::= "\"v\"" space ":" space v
`,
  },
  {
    name: "recursive",
    schema: {
      "$defs": {
        "node": {
          "type": "object",
          "properties": {
            "value": { "type": "integer" },
            "children": { "type": "array", "items": { "$ref": "#/$defs/node" } },
          },
          "required": ["value"],
        },
      },
      "$ref": "#/$defs/node",
    },
    upstream: String.raw`
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
ref-defs-node ::= "{" space ref-defs-node-value-kv ( "," space ( ref-defs-node-children-kv ) )? space "}"
ref-defs-node-children ::= "[" space (ref-defs-node-children-item ("," space ref-defs-node-children-item)*)? space "]"
ref-defs-node-children-item ::= ref-defs-node
ref-defs-node-children-kv ::= "\"children\"" space ":" space ref-defs-node-children
ref-defs-node-value-kv ::= "\"value\"" space ":" space integer
root ::= ref-defs-node
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "ref in property",
    schema: {
      "type": "object",
      "properties": { "p": { "$ref": "#/definitions/pt" }, "q": { "$ref": "#/definitions/pt" } },
      "definitions": {
        "pt": {
          "type": "object",
          "properties": { "x": { "type": "number" }, "y": { "type": "number" } },
          "required": ["x", "y"],
        },
      },
      "required": ["p", "q"],
    },
    upstream: String.raw`
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
p ::= ref-definitions-pt
p-kv ::= "\"p\"" space ":" space p
q ::= ref-definitions-pt
q-kv ::= "\"q\"" space ":" space q
ref-definitions-pt ::= "{" space ref-definitions-pt-x-kv "," space ref-definitions-pt-y-kv space "}"
ref-definitions-pt-x-kv ::= "\"x\"" space ":" space number
ref-definitions-pt-y-kv ::= "\"y\"" space ":" space number
root ::= "{" space p-kv "," space q-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "ref to array index",
    schema: {
      "type": "object",
      "properties": {
        "a": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
        "b": { "$ref": "#/properties/a/anyOf/1" },
      },
    },
    upstream: String.raw`
a ::= string | integer
a-kv ::= "\"a\"" space ":" space a
a-rest ::= ( "," space b-kv )?
b ::= integer
b-kv ::= "\"b\"" space ":" space b
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space  (a-kv a-rest | b-kv )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "allOf objects",
    schema: {
      "allOf": [{
        "type": "object",
        "properties": { "a": { "type": "string" } },
        "required": ["a"],
      }, { "type": "object", "properties": { "b": { "type": "integer" } } }],
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
b-kv ::= "\"b\"" space ":" space integer
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space a-kv "," space b-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "allOf with anyOf",
    schema: {
      "allOf": [{ "properties": { "a": { "type": "string" } } }, {
        "anyOf": [{ "properties": { "b": { "type": "integer" } } }, {
          "properties": { "c": { "type": "boolean" } },
        }],
      }],
    },
    upstream: String.raw`
a-kv ::= "\"a\"" space ":" space string
b-kv ::= "\"b\"" space ":" space integer
b-rest ::= ( "," space c-kv )?
boolean ::= ("true" | "false")
c-kv ::= "\"c\"" space ":" space boolean
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "{" space a-kv ( "," space ( b-kv b-rest | c-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "pattern ^abc$",
    schema: { "type": "string", "pattern": "^abc$" },
    upstream: String.raw`
root ::= "\"" ("abc") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^a+b*c?$",
    schema: { "type": "string", "pattern": "^a+b*c?$" },
    upstream: String.raw`
root ::= "\"" ("a"+ "b"* "c"?) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^[a-z]{2,4}$",
    schema: { "type": "string", "pattern": "^[a-z]{2,4}$" },
    upstream: String.raw`
root ::= "\"" (root-1{2,4}) "\""
root-1 ::= [a-z]
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^[^0-9]+$",
    schema: { "type": "string", "pattern": "^[^0-9]+$" },
    upstream: String.raw`
root ::= "\"" ([^0-9]+) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^(ab|cd)+$",
    schema: { "type": "string", "pattern": "^(ab|cd)+$" },
    upstream: String.raw`
root ::= "\"" (("ab" | "cd")+) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^\\d+$",
    schema: { "type": "string", "pattern": "^\\d+$" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= string
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "pattern ^x{3}$",
    schema: { "type": "string", "pattern": "^x{3}$" },
    upstream: String.raw`
root ::= "\"" ("x"{3,3}) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^x{2,}$",
    schema: { "type": "string", "pattern": "^x{2,}$" },
    upstream: String.raw`
root ::= "\"" ("x"{2,}) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^x{,3}$",
    schema: { "type": "string", "pattern": "^x{,3}$" },
    upstream: String.raw`
root ::= "\"" ("x"{0,3}) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^(?:a|b){1,2}c$",
    schema: { "type": "string", "pattern": "^(?:a|b){1,2}c$" },
    upstream: String.raw`
root ::= "\"" (root-1{1,2} "c") "\""
root-1 ::= ("a" | "b")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^\\x41\\u00e9$",
    schema: { "type": "string", "pattern": "^\\x41\\u00e9$" },
    upstream: String.raw`
root ::= "\"" ("\x41\u00e9") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^\\.\\*$",
    schema: { "type": "string", "pattern": "^\\.\\*$" },
    upstream: String.raw`
root ::= "\"" (".*") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^a.b$",
    schema: { "type": "string", "pattern": "^a.b$" },
    upstream: String.raw`
dot ::= [^\x0A\x0D]
root ::= "\"" ("a" dot "b") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^[\\-a]$",
    schema: { "type": "string", "pattern": "^[\\-a]$" },
    upstream: String.raw`
root ::= "\"" ([\-a]) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: 'pattern ^"quoted"$',
    schema: { "type": "string", "pattern": '^"quoted"$' },
    upstream: String.raw`
root ::= "\"" ("\"quoted\"") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^a{x}$",
    schema: { "type": "string", "pattern": "^a{x}$" },
    upstream: String.raw`
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
root ::= string
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
`,
  },
  {
    name: "pattern ^(a|b)|c$",
    schema: { "type": "string", "pattern": "^(a|b)|c$" },
    upstream: String.raw`
root ::= "\"" (("a" | "b") | "c") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^a\\tb$",
    schema: { "type": "string", "pattern": "^a\\tb$" },
    upstream: String.raw`
root ::= "\"" ("a\tb") "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^$",
    schema: { "type": "string", "pattern": "^$" },
    upstream: String.raw`
root ::= "\"" () "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^(a(b(c)))$",
    schema: { "type": "string", "pattern": "^(a(b(c)))$" },
    upstream: String.raw`
root ::= "\"" (("a" ("b" ("c")))) "\""
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern ^[ab][cd]{2}(ef){3}$",
    schema: { "type": "string", "pattern": "^[ab][cd]{2}(ef){3}$" },
    upstream: String.raw`
root ::= "\"" ([ab] root-1{2,2} root-2{3,3}) "\""
root-1 ::= [cd]
root-2 ::= ("ef")
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "pattern in prop",
    schema: {
      "type": "object",
      "properties": { "id": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$" } },
      "required": ["id"],
    },
    upstream: String.raw`
id ::= "\"" (id-1{3,3} "-" id-2{3,3}) "\""
id-1 ::= [A-Z]
id-2 ::= [0-9]
id-kv ::= "\"id\"" space ":" space id
root ::= "{" space id-kv space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "any with description",
    schema: { "description": "x", "title": "y" },
    upstream: String.raw`
array ::= "[" space ( value ("," space value)* )? space "]"
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
decimal-part ::= [0-9]{1,16}
integral-part ::= [0] | [1-9] [0-9]{0,15}
null ::= "null"
number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?
object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? space "}"
root ::= value
space ::= | " " | "\n"{1,2} [ \t]{0,20}
string ::= "\"" char* "\""
value ::= object | array | string | number | boolean | null
`,
  },
  {
    name: "top true-ish empty obj",
    schema: { "type": "object", "additionalProperties": false },
    upstream: String.raw`
root ::= "{" space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`,
  },
  {
    name: "exotic tuple prefixItems",
    schema: {
      "type": "array",
      "prefixItems": [{ "type": "integer" }, { "type": "string", "format": "date" }],
    },
    upstream: String.raw`
date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )
date-string ::= "\"" date "\""
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
root ::= "[" space integer "," space tuple-1 space "]"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
tuple-1 ::= date-string
`,
  },
];
