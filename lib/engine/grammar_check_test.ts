import assert from "node:assert/strict";
import { checkGrammar, GrammarCheckError } from "./grammar_check.ts";
import { JSON_GRAMMAR, jsonSchemaToGrammar } from "./json_schema_to_grammar.ts";

const VOCAB = { vocabSize: 32000 };

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => checkGrammar(text, VOCAB),
    (e: unknown) => e instanceof GrammarCheckError && pattern.test(e.message),
    text.slice(0, 60),
  );
}

Deno.test("checkGrammar() accepts the grammars people write", () => {
  const grammars = [
    'root ::= "yes" | "no"',
    'root ::= [a-z]+ (" " [a-z]+)+',
    JSON_GRAMMAR,
    jsonSchemaToGrammar({
      type: "object",
      properties: { n: { type: "integer" }, s: { type: "string", pattern: "^[a-c]{2,5}$" } },
      required: ["n"],
    }),
    [
      'root  ::= (expr "=" ws term "\\n")+',
      "expr  ::= term ([-+*/] term)*",
      'term  ::= ident | num | "(" ws expr ")" ws',
      "ident ::= [a-z] [a-z0-9_]* ws",
      "num   ::= [0-9]+ ws",
      "ws    ::= [ \\t\\n]*  # a comment",
    ].join("\n"),
    'root ::= "a"{2,5} "b"{3} "c"{1,} .? [^\\n]* <[15043]> !<[2]>',
    'root ::= "\\u00e9\\U0001F600" [\\x00-\\x1F]',
  ];
  for (const text of grammars) checkGrammar(text, VOCAB);
});

Deno.test("checkGrammar() refuses the empty range [z-a] that crashes libllama", () => {
  refused("root ::= [z-a]", /character range U\+007A-U\+0061 is empty/);
  refused("root ::= [\\U0010FFFF-\\U00000000]", /U\+10FFFF-U\+0000 is empty/);
  refused('root ::= "a" | [b-a] "c"', /is empty/);
});

Deno.test("checkGrammar() refuses code points past U+10FFFF", () => {
  refused('root ::= "\\U00110000"', /not a Unicode code point/);
  refused("root ::= [\\UFFFFFFFF]", /not a Unicode code point/);
});

Deno.test("checkGrammar() refuses a negated class that matches nothing", () => {
  refused("root ::= [^\\x00-\\U0010FFFF]", /negated character class matches no character/);
});

Deno.test("checkGrammar() refuses token ids outside the vocabulary", () => {
  refused("root ::= <[32000]>", /<\[32000\]> is outside the vocabulary \(0\.\.31999\)/);
  checkGrammar("root ::= !<[99999]>", VOCAB); // any token but one that does not exist
});

Deno.test("checkGrammar() refuses groups nested 20,000 deep (a stack overflow in libllama)", () => {
  refused(`root ::= ${"(".repeat(20_000)}"a"${")".repeat(20_000)}`, /nested more than 1000 deep/);
  checkGrammar(`root ::= ${"(".repeat(500)}"a"${")".repeat(500)}`, VOCAB);
});

Deno.test("checkGrammar() refuses a rule chain 5,000 long (a stack overflow in libllama)", () => {
  const rules = ['root ::= r0 "x"'];
  for (let i = 0; i < 5000; i++) rules.push(`r${i} ::= r${i + 1} "y"`);
  rules.push('r5000 ::= "z"');
  refused(rules.join("\n"), /more than 1000 deep/);
});

Deno.test("checkGrammar() refuses rules that can never be completed", () => {
  refused('root ::= x\nx ::= "a" x', /"(root|x)" can never be completed/);
  refused('root ::= "a" [z-a]? x\nx ::= x', /left-recursive|never be completed|empty/);
});

Deno.test("checkGrammar() refuses left recursion and undefined rules", () => {
  refused('root ::= root "a" | "b"', /"root" is left-recursive/);
  refused("root ::= missing", /"missing" is used but not defined/);
  refused('start ::= "a"', /no "root" rule/);
});

Deno.test("checkGrammar() refuses expansions that multiply (time and memory in libllama)", () => {
  const rules = ["root ::= r0"];
  for (let i = 0; i < 20; i++) rules.push(`r${i} ::= r${i + 1} | r${i + 1} "x"`);
  rules.push('r20 ::= "a"');
  refused(rules.join("\n"), /expands to more than 10000 alternatives/);
});

Deno.test("checkGrammar() refuses repetitions past llama.cpp's limits and bad syntax", () => {
  refused('root ::= "a"{3000}', /more than 2000 times/);
  refused('root ::= ("a"{0,100}){100}', /more than 2000 rules/);
  refused('root ::= "a"{5,2}', /maximum below its minimum/);
  refused('root ::= "a', /unterminated literal/);
  refused('root ::= "\\q"', /unknown escape/);
  refused("root = x", /expecting ::=/);
  refused("x".repeat(300_000), /more than the 262144 allowed/);
});
