/**
 * The grammars of lib/json_schema_to_grammar.ts against llama.cpp's own grammar parser: every
 * grammar is accepted by `llama_sampler_init_grammar`, a broken one is refused, and under the
 * grammar for `{n: integer}` the model's output parses to such an object.
 *
 * Self-contained on purpose (its own tiny `Deno.dlopen`); to be moved onto ffi/ later.
 * Needs --allow-ffi --allow-read --allow-env.
 */
import { ok, strictEqual } from "node:assert/strict";
import { JSON_GRAMMAR, jsonSchemaToGrammar } from "../lib/json_schema_to_grammar.ts";

const LIB_DIR = Deno.env.get("LLAMAFILE_LIB_DIR") ??
  new URL("../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/", import.meta.url).pathname;
const MODEL = Deno.env.get("LLAMAFILE_TEST_MODEL") ??
  new URL("../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** llama_model_params, 80 bytes (DESIGN.md §4). */
const MODEL_PARAMS = {
  struct: [
    "pointer", // devices@0
    "pointer", // tensor_buft_overrides@8
    "i32", // n_gpu_layers@16
    "i32", // split_mode@20
    "i32", // load_mode@24
    "i32", // lazy_mode@28
    "i32", // main_gpu@32
    "pointer", // tensor_split@40
    "pointer", // progress_callback@48
    "pointer", // progress_callback_user_data@56
    "pointer", // kv_overrides@64
    "u8", // vocab_only@72
    "u8", // check_tensors@73
    "u8", // use_extra_bufts@74
    "u8", // no_host@75
    "u8", // no_alloc@76
    "u8", // load_mtp@77
  ],
} as const;
/**
 * llama_context_params, 160 bytes, as 20 words: a struct over 16 bytes travels in memory on
 * x86-64, so only its size and alignment matter here; fields are set by offset.
 */
const CONTEXT_PARAMS = { struct: Array(20).fill("u64") as "u64"[] } as const;
/** llama_batch, 56 bytes. */
const BATCH = {
  struct: ["i32", "pointer", "pointer", "pointer", "pointer", "pointer", "pointer"],
} as const;
/** llama_sampler_chain_params: { bool no_perf }. */
const CHAIN_PARAMS = { struct: ["u8"] } as const;

const GGML_SYMBOLS = {
  ggml_backend_load_all_from_path: { parameters: ["buffer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

const LLAMA_SYMBOLS = {
  llama_log_set: { parameters: ["function", "pointer"], result: "void" },
  llama_backend_init: { parameters: [], result: "void" },
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS },
  llama_model_load_from_file: { parameters: ["buffer", MODEL_PARAMS], result: "pointer" },
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  llama_model_free: { parameters: ["pointer"], result: "void" },
  llama_sampler_init_grammar: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  llama_sampler_free: { parameters: ["pointer"], result: "void" },
  // for the generation check
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS },
  llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS], result: "pointer" },
  llama_free: { parameters: ["pointer"], result: "void" },
  llama_tokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_batch_get_one: { parameters: ["buffer", "i32"], result: BATCH },
  llama_decode: { parameters: ["pointer", BATCH], result: "i32" },
  llama_sampler_chain_default_params: { parameters: [], result: CHAIN_PARAMS },
  llama_sampler_chain_init: { parameters: [CHAIN_PARAMS], result: "pointer" },
  llama_sampler_chain_add: { parameters: ["pointer", "pointer"], result: "void" },
  llama_sampler_init_greedy: { parameters: [], result: "pointer" },
  llama_sampler_init_dist: { parameters: ["u32"], result: "pointer" },
  llama_sampler_sample: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  llama_vocab_is_eog: { parameters: ["pointer", "i32"], result: "bool" },
  llama_token_to_piece: {
    parameters: ["pointer", "i32", "buffer", "i32", "i32", "bool"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(`${text}\0`);

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
    const ggml = Deno.dlopen(`${LIB_DIR}/libggml.v0.5.0.so`, GGML_SYMBOLS);
    const llama = Deno.dlopen(`${LIB_DIR}/libllama.v0.5.0.so`, LLAMA_SYMBOLS);
    const quiet = Deno.UnsafeCallback.threadSafe(
      { parameters: ["i32", "pointer", "pointer"], result: "void" } as const,
      () => {},
    );
    const lib = llama.symbols;
    let model: Deno.PointerValue = null;
    try {
      lib.llama_log_set(quiet.pointer, null);
      ggml.symbols.ggml_backend_load_all_from_path(cString(LIB_DIR));
      lib.llama_backend_init();

      const params = lib.llama_model_default_params();
      strictEqual(params.byteLength, 80);
      const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
      strictEqual(view.getInt32(16, true), -1, "n_gpu_layers default (struct layout check)");
      strictEqual(view.getInt32(24, true), -1, "load_mode default (struct layout check)");
      model = lib.llama_model_load_from_file(cString(MODEL), params);
      ok(model !== null, `Cannot load model "${MODEL}"`);
      const vocab = lib.llama_model_get_vocab(model);
      ok(vocab !== null);

      const accepts = (grammar: string): boolean => {
        const sampler = lib.llama_sampler_init_grammar(vocab, cString(grammar), cString("root"));
        if (sampler === null) return false;
        lib.llama_sampler_free(sampler);
        return true;
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

      await t.step("a broken grammar gives NULL", () => {
        ok(accepts('root ::= "a" | b\nb ::= "c"\n'), "the control grammar must be accepted");
        ok(!accepts('root ::= "a" | b\n'), "undefined rule");
        ok(!accepts('root ::= "unterminated\n'), "unterminated literal");
        ok(!accepts("root ::= [a-\n"), "unterminated class");
        // a grammar converted from a schema, then cut: a rule it needs is gone
        const cut = jsonSchemaToGrammar(SCHEMAS[0]?.[1]).replace(/^integer ::= .*\n/m, "");
        ok(!accepts(cut), "missing rule");
      });

      await t.step("output under {n: integer} parses to an object with an integer n", () => {
        const grammar = jsonSchemaToGrammar({
          type: "object",
          properties: { n: { type: "integer" } },
          required: ["n"],
        });
        for (const seed of [null, 1, 2, 3, 4]) {
          const text = _generate(lib, model, vocab, grammar, "Once upon a time", seed);
          const value = JSON.parse(text);
          ok(typeof value === "object" && value !== null && !Array.isArray(value), text);
          ok(Number.isInteger(value.n), `seed ${seed}: ${text}`);
          strictEqual(Object.keys(value).join(), "n", text);
        }
      });
    } finally {
      if (model !== null) lib.llama_model_free(model);
      lib.llama_log_set(null, null); // before the callback goes away
      quiet.close();
      llama.close();
      ggml.close();
    }
  },
});

/** Samples up to 256 tokens under `grammar` (greedy when seed is null), returns the text. */
function _generate(
  lib: Deno.DynamicLibrary<typeof LLAMA_SYMBOLS>["symbols"],
  model: Deno.PointerValue,
  vocab: Deno.PointerValue,
  grammar: string,
  prompt: string,
  seed: number | null,
): string {
  const cparams = lib.llama_context_default_params();
  strictEqual(cparams.byteLength, 160);
  const view = new DataView(cparams.buffer, cparams.byteOffset, cparams.byteLength);
  strictEqual(view.getUint32(0, true), 512, "n_ctx default (struct layout check)");
  view.setInt32(28, 1, true); // n_threads
  view.setInt32(32, 1, true); // n_threads_batch
  const ctx = lib.llama_init_from_model(model, cparams);
  ok(ctx !== null, "Cannot create a context");
  const chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params());
  try {
    const grammarSampler = lib.llama_sampler_init_grammar(vocab, cString(grammar), cString("root"));
    ok(grammarSampler !== null);
    lib.llama_sampler_chain_add(chain, grammarSampler);
    lib.llama_sampler_chain_add(
      chain,
      seed === null ? lib.llama_sampler_init_greedy() : lib.llama_sampler_init_dist(seed),
    );

    const text = encoder.encode(prompt);
    const tokens = new Int32Array(64);
    const n = lib.llama_tokenize(vocab, text, text.length, tokens, tokens.length, true, false);
    ok(n > 0, "Cannot tokenize the prompt");
    strictEqual(lib.llama_decode(ctx, lib.llama_batch_get_one(tokens, n)), 0);

    const bytes: number[] = [];
    const piece = new Uint8Array(64);
    const one = new Int32Array(1);
    for (let i = 0; i < 256; i++) {
      const token = lib.llama_sampler_sample(chain, ctx, -1);
      if (lib.llama_vocab_is_eog(vocab, token)) {
        return new TextDecoder().decode(new Uint8Array(bytes));
      }
      const len = lib.llama_token_to_piece(vocab, token, piece, piece.length, 0, false);
      ok(len >= 0, "Cannot turn a token into text");
      bytes.push(...piece.subarray(0, len));
      one[0] = token;
      strictEqual(lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1)), 0);
    }
    throw new Error(
      `No end of generation within 256 tokens: ${new TextDecoder().decode(new Uint8Array(bytes))}`,
    );
  } finally {
    lib.llama_sampler_free(chain);
    lib.llama_free(ctx);
  }
}
