// The cases of llama.cpp's tests/peg-parser/test-basic.cpp and test-gbnf-generation.cpp, with
// their expected results, as tables.
import assert from "node:assert/strict";
import { type Peg, PegBuilder, PegContext, PegResult, taggedParse } from "./peg_parser.ts";

type Build = (p: PegBuilder) => Peg;

function parse(build: Build, input: string, lenient = false) {
  const builder = new PegBuilder();
  const arena = builder.build(build(builder));
  return arena.parse(new PegContext(input, lenient));
}

function grammar(build: Build, lazy = false): string {
  const builder = new PegBuilder();
  return builder.build(build(builder)).grammar(lazy);
}

/** Upstream's assert_gbnf_equal: leading spaces of each line do not count. */
function gbnf(text: string): string {
  return text.replace(/(^|\n)\s+/g, "$1");
}

const SPACE = String.raw`space ::= | " " | "\n"{1,2} [ \t]{0,20}`;

const value: Build = (p) => {
  p.rule("number", p.chars("0-9"));
  p.rule("list", p.seq("[", p.ref("value"), "]"));
  return p.rule("value", p.choice(p.ref("number"), p.ref("list")));
};

// [name, parser, input, lenient, expected result, expected end]
const PARSES: [string, Build, string, boolean, PegResult, number?][] = [
  ["escape_sequence_newline", (p) => p.chars("[\\n\\t\\\\]"), "\n", false, PegResult.Success],
  ["escape_sequence_tab", (p) => p.chars("[\\n\\t\\\\]"), "\t", false, PegResult.Success],
  ["escape_sequence_backslash", (p) => p.chars("[\\n\\t\\\\]"), "\\", false, PegResult.Success],
  ["escape_sequence_space_fail", (p) => p.chars("[\\n\\t\\\\]"), " ", false, PegResult.Fail],
  ["escaped_dash_a", (p) => p.chars("[a\\-z]"), "a", false, PegResult.Success],
  ["escaped_dash_literal", (p) => p.chars("[a\\-z]"), "-", false, PegResult.Success],
  ["escaped_dash_z", (p) => p.chars("[a\\-z]"), "z", false, PegResult.Success],
  ["escaped_dash_b_fail", (p) => p.chars("[a\\-z]"), "b", false, PegResult.Fail],
  [
    "optional_present",
    (p) => p.seq("hello", p.optional(" world")),
    "hello world",
    false,
    PegResult.Success,
    11,
  ],
  ["optional_absent", (p) => p.seq("hello", p.optional(" world")), "hello", false, 1, 5],
  ["partial_match_need_more", (p) => p.seq("hello", p.optional(" world")), "hello ", true, 2],
  ["literal_success", (p) => p.literal("hello"), "hello", false, PegResult.Success],
  ["char_class_lowercase_success", (p) => p.chars("a-z"), "a", false, PegResult.Success],
  ["char_class_uppercase_fail", (p) => p.chars("a-z"), "A", false, PegResult.Fail],
  ["char_class_with_dash_lowercase", (p) => p.chars("a-z-"), "f", false, PegResult.Success],
  ["char_class_with_dash_literal_dash", (p) => p.chars("a-z-"), "-", false, PegResult.Success],
  ["char_class_with_dash_uppercase_fail", (p) => p.chars("a-z-"), "A", false, PegResult.Fail],
  ["sequence_partial_match_1", (p) => p.seq("<think>", "</think>"), "<thi", true, 2],
  ["sequence_partial_match_2", (p) => p.seq("begin", "end"), "begin", true, 2],
  ["sequence_partial_match_3", (p) => p.seq("<think>", "</think>"), "<think></", true, 2],
  ["sequence_full_match", (p) => p.seq("hello", "world"), "helloworld", false, 1],
  [
    "sequence_no_match",
    (p) => p.seq("<think>", "</think>"),
    "<think>I am common_chat_combinator_parser",
    true,
    PegResult.Fail,
  ],
  ["choices_partial_match_1", (p) => p.choice("option1", "option2"), "opt", true, 2],
  ["choices_partial_match_2", (p) => p.choice("choice_a", "choice_b"), "choice", true, 2],
  ["choices_full_match_1", (p) => p.choice("first", "second"), "first", false, 1],
  ["choices_full_match_2", (p) => p.choice("alpha", "beta"), "beta", false, 1],
  ["choices_no_match", (p) => p.choice("good", "better"), "best", false, PegResult.Fail],
  ["zero_or_more_partial_match_1", (p) => p.zeroOrMore("ab"), "a", true, 2],
  ["zero_or_more_partial_match_2", (p) => p.zeroOrMore("xy"), "xyx", true, 2],
  ["zero_or_more_full_match", (p) => p.zeroOrMore("test"), "test", false, 1],
  ["one_or_more_partial_match_1", (p) => p.oneOrMore("repeat"), "rep", true, 2],
  ["one_or_more_partial_match_2", (p) => p.oneOrMore("ab"), "aba", true, 2],
  ["one_or_more_full_match", (p) => p.oneOrMore("single"), "single", false, 1],
  ["one_or_more_no_match", (p) => p.oneOrMore("()"), "success", false, PegResult.Fail],
  ["simple_number", value, "1", false, PegResult.Success],
  ["simple_list", value, "[1]", false, PegResult.Success],
  ["nested_list", value, "[[2]]", false, PegResult.Success],
  ["deeply_nested_list", value, "[[[3]]]", false, PegResult.Success],
  ["need_more_input_match", value, "[[", true, PegResult.NeedMore],
  ["no_match", value, "[a]", false, PegResult.Fail],
  ["marker square", (p) => p.marker(), "[marker]", false, PegResult.Success],
  ["marker sharp", (p) => p.marker(), "<marker>", false, PegResult.Success],
];

Deno.test("PegArena.parse: upstream's basic cases (results and ends)", () => {
  for (const [name, build, input, lenient, type, end] of PARSES) {
    const r = parse(build, input, lenient);
    assert.equal(r.type, type, name);
    if (end !== undefined) assert.equal(r.end, end, name);
  }
});

// [name, parser, expected GBNF (the space rule is added), lazy]
const GRAMMARS: [string, Build, string, boolean?][] = [
  ["literal grammar generation", (p) => p.literal("hello"), `root ::= "hello"`],
  ["char class grammar", (p) => p.chars("[a-z]", 1, 1), "root ::= [a-z]"],
  [
    "sequence grammar",
    (p) => p.seq(p.seq("hello", " "), "world"),
    `root ::= "hello" " " "world"`,
  ],
  ["choice grammar", (p) => p.choice("cat", "dog"), `root ::= "cat" | "dog"`],
  ["one_or_more grammar", (p) => p.oneOrMore("a"), `root ::= "a"+`],
  ["zero_or_more grammar", (p) => p.zeroOrMore("a"), `root ::= "a"*`],
  ["optional grammar", (p) => p.seq("hello", p.optional(" world")), `root ::= "hello" " world"?`],
  [
    "until grammar",
    (p) => p.until("</tag>"),
    String.raw`root ::= until-0
    ${SPACE}
    until-0 ::= | [<] until-0-01 | [^<] until-0
    until-0-01 ::= | [<] until-0-01 | [/] until-0-02 | [^/<] until-0
    until-0-02 ::= | [<] until-0-01 | [t] until-0-03 | [^<t] until-0
    until-0-03 ::= | [<] until-0-01 | [a] until-0-04 | [^<a] until-0
    until-0-04 ::= | [<] until-0-01 | [g] until-0-05 | [^<g] until-0
    until-0-05 ::= | [<] until-0-01 | [^<>] until-0`,
  ],
  [
    "until grammar overlapping delimiter",
    (p) => p.until("\n</parameter>\n"),
    String.raw`root ::= until-0
    ${SPACE}
    until-0 ::= | [\n] until-0-01 | [^\n] until-0
    until-0-01 ::= | [\n] until-0-01 | [<] until-0-02 | [^\n<] until-0
    until-0-02 ::= | [\n] until-0-01 | [/] until-0-03 | [^\n/] until-0
    until-0-03 ::= | [\n] until-0-01 | [p] until-0-04 | [^\np] until-0
    until-0-04 ::= | [\n] until-0-01 | [a] until-0-05 | [^\na] until-0
    until-0-05 ::= | [\n] until-0-01 | [r] until-0-06 | [^\nr] until-0
    until-0-06 ::= | [\n] until-0-01 | [a] until-0-07 | [^\na] until-0
    until-0-07 ::= | [\n] until-0-01 | [m] until-0-08 | [^\nm] until-0
    until-0-08 ::= | [\n] until-0-01 | [e] until-0-09 | [^\ne] until-0
    until-0-09 ::= | [\n] until-0-01 | [t] until-0-10 | [^\nt] until-0
    until-0-10 ::= | [\n] until-0-01 | [e] until-0-11 | [^\ne] until-0
    until-0-11 ::= | [\n] until-0-01 | [r] until-0-12 | [^\nr] until-0
    until-0-12 ::= | [\n] until-0-01 | [>] until-0-13 | [^\n>] until-0
    until-0-13 ::= | [^\n] until-0`,
  ],
  [
    "until grammar unicode delimiter",
    (p) => p.until("<｜DSML｜"),
    String.raw`root ::= until-0
    ${SPACE}
    until-0 ::= | [<] until-0-01 | [^<] until-0
    until-0-01 ::= | [<] until-0-01 | [\uFF5C] until-0-02 | [^<\uFF5C] until-0
    until-0-02 ::= | [<] until-0-01 | [D] until-0-03 | [^<D] until-0
    until-0-03 ::= | [<] until-0-01 | [S] until-0-04 | [^<S] until-0
    until-0-04 ::= | [<] until-0-01 | [M] until-0-05 | [^<M] until-0
    until-0-05 ::= | [<] until-0-01 | [L] until-0-06 | [^<L] until-0
    until-0-06 ::= | [<] until-0-01 | [^<\uFF5C] until-0`,
  ],
  [
    "until grammar multiple delimiters",
    (p) => p.until("ab", "cd", "ef"),
    String.raw`root ::= until-0
    ${SPACE}
    until-0 ::= | [a] until-0-01 | [c] until-0-03 | [e] until-0-05 | [^ace] until-0
    until-0-01 ::= | [a] until-0-01 | [c] until-0-03 | [e] until-0-05 | [^abce] until-0
    until-0-03 ::= | [a] until-0-01 | [c] until-0-03 | [e] until-0-05 | [^acde] until-0
    until-0-05 ::= | [a] until-0-01 | [c] until-0-03 | [e] until-0-05 | [^acef] until-0`,
  ],
  [
    "ac grammar",
    (p) => p.ac(p.seq(p.until("</tag>"), "</tag>"), "</tag>"),
    String.raw`ac-3 ::= [<] ac-3-01 | [^<] ac-3
    ac-3-01 ::= [<] ac-3-01 | [/] ac-3-02 | [^/<] ac-3
    ac-3-02 ::= [<] ac-3-01 | [t] ac-3-03 | [^<t] ac-3
    ac-3-03 ::= [<] ac-3-01 | [a] ac-3-04 | [^<a] ac-3
    ac-3-04 ::= [<] ac-3-01 | [g] ac-3-05 | [^<g] ac-3
    ac-3-05 ::= [>] | [<] ac-3-01 | [^<>] ac-3
    root ::= ac-3`,
  ],
  [
    "ac grammar terminates at first delimiter",
    (p) => p.ac(p.seq(p.until("\n</parameter>\n"), "\n</parameter>\n"), "\n</parameter>\n"),
    String.raw`ac-3 ::= [\n] ac-3-01 | [^\n] ac-3
    ac-3-01 ::= [\n] ac-3-01 | [<] ac-3-02 | [^\n<] ac-3
    ac-3-02 ::= [\n] ac-3-01 | [/] ac-3-03 | [^\n/] ac-3
    ac-3-03 ::= [\n] ac-3-01 | [p] ac-3-04 | [^\np] ac-3
    ac-3-04 ::= [\n] ac-3-01 | [a] ac-3-05 | [^\na] ac-3
    ac-3-05 ::= [\n] ac-3-01 | [r] ac-3-06 | [^\nr] ac-3
    ac-3-06 ::= [\n] ac-3-01 | [a] ac-3-07 | [^\na] ac-3
    ac-3-07 ::= [\n] ac-3-01 | [m] ac-3-08 | [^\nm] ac-3
    ac-3-08 ::= [\n] ac-3-01 | [e] ac-3-09 | [^\ne] ac-3
    ac-3-09 ::= [\n] ac-3-01 | [t] ac-3-10 | [^\nt] ac-3
    ac-3-10 ::= [\n] ac-3-01 | [e] ac-3-11 | [^\ne] ac-3
    ac-3-11 ::= [\n] ac-3-01 | [r] ac-3-12 | [^\nr] ac-3
    ac-3-12 ::= [\n] ac-3-01 | [>] ac-3-13 | [^\n>] ac-3
    ac-3-13 ::= [\n] | [^\n] ac-3
    root ::= ac-3`,
  ],
  [
    "ac grammar multiple delimiters",
    (p) => p.ac(p.eps(), "ab", "cd", "ef"),
    String.raw`ac-1 ::= [a] ac-1-01 | [c] ac-1-03 | [e] ac-1-05 | [^ace] ac-1
    ac-1-01 ::= [b] | [a] ac-1-01 | [c] ac-1-03 | [e] ac-1-05 | [^abce] ac-1
    ac-1-03 ::= [d] | [a] ac-1-01 | [c] ac-1-03 | [e] ac-1-05 | [^acde] ac-1
    ac-1-05 ::= [f] | [a] ac-1-01 | [c] ac-1-03 | [e] ac-1-05 | [^acef] ac-1
    root ::= ac-1`,
  ],
  [
    "complex expressions with parentheses",
    (p) => p.oneOrMore(p.choice("a", "b")),
    `root ::= ("a" | "b")+`,
  ],
  [
    "rule references",
    (p) => p.oneOrMore(p.rule("digit", p.chars("[0-9]", 1, 1))),
    `digit ::= [0-9]
    root ::= digit+`,
  ],
  [
    "escaping in literals",
    (p) => p.literal("hello\nworld\n!"),
    String.raw`root ::= "hello\nworld\n!"`,
  ],
  [
    "operator<< (whitespace insertion)",
    (p) => p.spaced("hello", "world"),
    `root ::= "hello" space "world"`,
  ],
  [
    "emit only reachable rules",
    (p) => {
      p.rule("orphan", p.literal("orphan"));
      return p.seq("hello", p.rule("child", p.literal(" world")));
    },
    `child ::= " world"
    root ::= "hello" child`,
  ],
  [
    "tagged choice inside sequence gets parenthesized",
    (p) => p.seq("a", p.tag("t", p.choice("b", "c"))),
    `root ::= "a" ("b" | "c")`,
  ],
  [
    "tagged sequence inside choice gets parenthesized",
    (p) => p.choice(p.tag("t", p.seq("a", "b")), "c"),
    `root ::= "a" "b" | "c"`,
  ],
  [
    "atomic choice inside repetition gets parenthesized",
    (p) => p.oneOrMore(p.atomic(p.choice("a", "b"))),
    `root ::= ("a" | "b")+`,
  ],
  [
    "silent parser emits nothing in gbnf",
    (p) => p.seq("hello", p.gbnf("world", "")),
    `root ::= "hello"`,
  ],
  [
    "silent choice inside sequence emits nothing",
    (p) => p.seq("a", p.gbnf(p.choice("b", "c"), ""), "d"),
    `root ::= "a" "d"`,
  ],
  [
    "silent wrapped in tag emits nothing",
    (p) => p.seq("a", p.tag("t", p.gbnf("b", ""))),
    `root ::= "a"`,
  ],
  [
    "gbnf parser emits custom grammar",
    (p) => p.seq("a", p.gbnf("b", "[a-z]+")),
    `root ::= "a" [a-z]+`,
  ],
  [
    "nested transparent wrappers get parenthesized",
    (p) => p.seq("x", p.tag("outer", p.atomic(p.choice("a", "b")))),
    `root ::= "x" ("a" | "b")`,
  ],
];

const triggers: Build = (p) => {
  const rule1 = p.rule("rule-1", p.seq("a", p.ref("rule-2")));
  p.rule("rule-2", p.seq("b", p.ref("rule-3")), true);
  p.rule("rule-3", p.seq("c", p.ref("rule-4")));
  p.rule("rule-4", p.literal("d"), true);
  return rule1;
};
GRAMMARS.push(
  [
    "emit only trigger rules (and references)",
    triggers,
    `root ::= rule-1
    rule-1 ::= "a" rule-2
    rule-2 ::= "b" rule-3
    rule-3 ::= "c" rule-4
    rule-4 ::= "d"`,
  ],
  [
    "emit only trigger rules (and references), lazy",
    triggers,
    `root ::= rule-2 | rule-4
    rule-2 ::= "b" rule-3
    rule-3 ::= "c" rule-4
    rule-4 ::= "d"`,
    true,
  ],
);

/** The expected grammar with upstream's space rule where it sorts. */
function expected(rules: string): string {
  const lines = gbnf(rules).split("\n").filter((l) => l !== "");
  if (!lines.some((l) => l.startsWith("space ::="))) lines.push(SPACE);
  return lines.sort().join("\n") + "\n";
}

Deno.test("PegArena.grammar: upstream's GBNF generation cases", () => {
  for (const [name, build, rules, lazy] of GRAMMARS) {
    assert.equal(grammar(build, lazy ?? false), expected(rules), name);
  }
});

Deno.test("taggedParse: tags the text each tagged parser matched, the last one winning", () => {
  const r = taggedParse(
    (p) => p.seq(p.tag("name", p.chars("[a-z]")), "(", p.tag("args", p.until(")")), ")"),
    "get(x, y)",
  );
  assert.equal(r.ok, true);
  assert.equal(r.tags.name, "get");
  assert.equal(r.tags.args, "x, y");
  assert.equal(r.tags.missing, "");
  const anywhere = taggedParse((p) => p.tag("n", p.chars("[0-9]")), "abc 42", true);
  assert.equal(anywhere.tags.n, "42");
});

Deno.test("PegArena.parse: json() reads partial JSON as more to come when lenient", () => {
  assert.equal(parse((p) => p.json(), '{"a": [1, 2', true).type, PegResult.NeedMore);
  assert.equal(parse((p) => p.json(), '{"a": [1, 2]}').type, PegResult.Success);
  assert.equal(parse((p) => p.json(), '{"a" 1}').type, PegResult.Fail);
});
