/**
 * The grammars of lib/json_schema_to_grammar.ts against llama.cpp's own grammar parser: every
 * grammar is accepted by {@linkcode Sampler} (libllama's `llama_sampler_init_grammar`), a broken
 * one is refused with a {@linkcode GrammarError}, and under the grammar for `{n: integer}` the
 * model's output parses to such an object.
 *
 * Needs --allow-ffi --allow-read --allow-env.
 */
import { ok, strictEqual } from "node:assert/strict";
import { assertAbi } from "../ffi/structs.ts";
import { createContext } from "../lib/engine/context.ts";
import { GrammarError } from "../lib/engine/errors.ts";
import { generate } from "../lib/engine/generate.ts";
import { JSON_GRAMMAR, jsonSchemaToGrammar } from "../lib/engine/json_schema_to_grammar.ts";
import { type LlamaModel, loadModel } from "../lib/engine/model.ts";
import { Sampler } from "../lib/engine/sampler.ts";
import { STORIES } from "./helpers.ts";

/** The schemas whose grammars llama.cpp must accept: every kind of rule the converter writes. */
const SCHEMAS: [string, unknown][] = [
  ["required integer", { type: "object", properties: { n: { type: "integer" } }, required: ["n"] }],
  ["any value", {}],
  ["true", true],
  ["boolean, null, number", { type: ["boolean", "null", "number"] }],
  ["string lengths", { type: "string", minLength: 1, maxLength: 4 }],
  ["string max 0", { type: "string", maxLength: 0 }],
  ["formats", {
    prefixItems: [{ format: "date" }, { format: "uuid" }, { format: "time" }, {
      format: "date-time",
    }],
  }],
  ["integer ranges", {
    prefixItems: [
      { type: "integer", minimum: -123, maximum: 42 },
      { type: "integer", minimum: 25 },
      { type: "integer", maximum: -5 },
      { type: "integer", minimum: 0, maximum: 9007199254740991 },
      { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 10 },
      // upstream writes [0-9]{16,15} for the first two; its grammar loader runs out of memory
      { type: "integer", minimum: 9007199254740991 },
      { type: "integer", maximum: -9007199254740991 },
      { type: "integer", minimum: 100 },
    ],
  }],
  ["arrays", {
    type: "object",
    properties: {
      a: { type: "array", items: { type: "boolean" }, minItems: 2, maxItems: 5 },
      b: { type: "array", maxItems: 0 },
      c: { type: "array", items: { type: "string" }, maxItems: 1 },
      d: { type: "array" },
    },
  }],
  ["const and enum with escapes", {
    type: "array",
    prefixItems: [
      { const: ' \r \n " \\ \u0001 é 😀 ' },
      { enum: ["red", 'say "hi"', "back\\slash", 42, 1.5, null, true, ["x"], { a: "b\nc" }] },
    ],
  }],
  ["property names with escapes", {
    type: "object",
    properties: Object.fromEntries(
      ['quo"te', "back\\slash", "new\nline", "x]y", "a-b", "^", "-", "", "*", "root", "é", "😀"]
        .map((name) => [name, { type: "integer" }]),
    ),
    required: ['quo"te', "x]y"],
    additionalProperties: { type: "string" },
  }],
  ["additional properties only", { type: "object", additionalProperties: { type: "number" } }],
  ["additional true with properties", {
    type: "object",
    properties: { and: { type: "number" }, also: { type: "number" } },
    required: ["and"],
    additionalProperties: true,
  }],
  ["only an empty-named property", {
    type: "object",
    properties: { "": { type: "integer" } },
    additionalProperties: { type: "integer" },
  }],
  ["closed empty object", { type: "object", additionalProperties: false }],
  ["recursive $ref", {
    $ref: "#/$defs/node",
    $defs: {
      node: {
        type: "object",
        properties: { value: {}, next: { anyOf: [{ $ref: "#/$defs/node" }, { type: "null" }] } },
        required: ["value"],
      },
    },
  }],
  ["$ref to the root", { type: "object", properties: { self: { $ref: "#" } } }],
  ["allOf", {
    allOf: [
      { $ref: "#/definitions/foo" },
      { anyOf: [{ $ref: "#/definitions/bar" }, { type: "object", properties: { c: {} } }] },
    ],
    definitions: {
      foo: { properties: { a: { type: "number" } } },
      bar: { properties: { b: { type: "number" } } },
    },
  }],
  ["allOf enums", { allOf: [{ enum: ["a", "b", "c"] }, { enum: ["b", "c", "d"] }] }],
  ["oneOf", { oneOf: [{ type: "string" }, { type: "integer", minimum: 0 }] }],
  ["patterns", {
    type: "array",
    prefixItems: [
      { pattern: "^(\\([0-9]{1,3}\\))?[0-9]{3}-[0-9]{4} a{3,5}nd...$" },
      { pattern: '^[^"\\\\a-z]+(?:x|yz)*"q"$' },
      { pattern: "^\\[\\]\\{\\}\\(\\)\\|\\+\\*\\?\\x41\\u00e9\\t$" },
      { pattern: "^é😀+[\\-a]{2,}$" },
      { pattern: "^\\d+$" },
      { pattern: "^A|B|C$" },
    ],
  }],
  ["conflicting names", {
    type: "object",
    properties: {
      number: {
        type: "object",
        properties: { number: { type: "object", properties: { root: {} } } },
      },
      string: { type: "string" },
      space: { type: "integer" },
    },
  }],
];

Deno.test({
  name: "llama_sampler_init_grammar() accepts jsonSchemaToGrammar() grammars",
  async fn(t) {
    using model = await loadModel(STORIES);
    // the struct layout checks: the default params are where ffi/structs.ts says
    assertAbi(model.library.modelDefaults(), model.library.contextDefaults());
    ok(model.vocabSize > 0, "the model has a vocabulary");

    /** Whether libllama takes `grammar`; a refusal must be a GrammarError. */
    const accepts = (grammar: string): boolean => {
      try {
        new Sampler(model, { grammar }).close();
        return true;
      } catch (error) {
        if (error instanceof GrammarError) return false;
        throw error;
      }
    };

    await t.step("every test schema", () => {
      for (const [name, schema] of SCHEMAS) {
        const grammar = jsonSchemaToGrammar(schema);
        ok(accepts(grammar), `${name}:\n${grammar}`);
        ok(accepts(jsonSchemaToGrammar(schema, { dotall: true })), `${name} (dotall)`);
      }
    });

    await t.step("JSON_GRAMMAR", () => {
      ok(accepts(JSON_GRAMMAR));
    });

    await t.step("a broken grammar throws GrammarError", () => {
      ok(accepts('root ::= "a" | b\nb ::= "c"\n'), "the control grammar must be accepted");
      ok(!accepts('root ::= "a" | b\n'), "undefined rule");
      ok(!accepts('root ::= "unterminated\n'), "unterminated literal");
      ok(!accepts("root ::= [a-\n"), "unterminated class");
      // a grammar converted from a schema, then cut: a rule it needs is gone
      const cut = jsonSchemaToGrammar(SCHEMAS[0]?.[1]).replace(/^integer ::= .*\n/m, "");
      ok(!accepts(cut), "missing rule");
    });

    await t.step("output under {n: integer} parses to an object with an integer n", async () => {
      const grammar = jsonSchemaToGrammar({
        type: "object",
        properties: { n: { type: "integer" } },
        required: ["n"],
      });
      for (const seed of [null, 1, 2, 3, 4]) {
        const text = await _generate(model, grammar, "Once upon a time", seed);
        const value = JSON.parse(text);
        ok(typeof value === "object" && value !== null && !Array.isArray(value), text);
        ok(Number.isInteger(value.n), `seed ${seed}: ${text}`);
        strictEqual(Object.keys(value).join(), "n", text);
      }
    });
  },
});

/**
 * Samples up to 256 tokens under `grammar` on a fresh context, greedy when seed is null, else
 * from the whole distribution at temperature 1; returns the text, which must end in an
 * end-of-generation token.
 */
async function _generate(
  model: LlamaModel,
  grammar: string,
  prompt: string,
  seed: number | null,
): Promise<string> {
  ok(model.tokenize(prompt).length > 0, "Cannot tokenize the prompt");
  await using context = await createContext(model, { threads: 1, contextSize: 512 });
  const sampling = seed === null
    ? { temperature: 0 }
    : { temperature: 1, seed, topK: 0, topP: 1, minP: 0 };
  const pieces = generate(context, prompt, { ...sampling, grammar, maxTokens: 256 });
  let text = "";
  let step = await pieces.next();
  for (; !step.done; step = await pieces.next()) text += step.value;
  if (step.value.finishReason !== "eog") {
    throw new Error(`No end of generation within 256 tokens (${step.value.finishReason}): ${text}`);
  }
  return text;
}
