import assert from "node:assert/strict";
import { JSON_GRAMMAR } from "../../engine/json_schema_to_grammar.ts";
import { ApiError } from "./errors.ts";
import {
  type ApiFlavor,
  GENERATION_REQUEST,
  type GenerationDefaults,
  toGenerationParams,
  type VocabInfo,
} from "./generation_params.ts";
import { type Body, parseRequest } from "./validate.ts";

/** A raw body through the flavor's declared schema, then mapped, as an endpoint does. */
function parseGenerationParams(
  body: Body,
  flavor: ApiFlavor,
  vocab: VocabInfo,
  defaults: GenerationDefaults,
) {
  return toGenerationParams(
    parseRequest(GENERATION_REQUEST[flavor], body),
    flavor,
    vocab,
    defaults,
  );
}

const VOCAB: VocabInfo = {
  vocabSize: 100,
  tokenize: (text) => Array.from(text, (c) => c.charCodeAt(0) % 100),
};
const DEFAULTS: GenerationDefaults = { maxTokens: -1, temperature: 0.8, topK: 40 };

function fails(fn: () => unknown, message: RegExp, param?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, message);
    if (param !== undefined) assert.equal(error.param, param);
    return true;
  });
}

Deno.test("parseGenerationParams() maps OpenAI fields over the server defaults", () => {
  const p = parseGenerationParams(
    {
      temperature: 0.2,
      top_p: 0.9,
      presence_penalty: 1,
      frequency_penalty: -1,
      seed: 7,
      max_tokens: 20,
      stop: "\n",
    },
    "chat",
    VOCAB,
    DEFAULTS,
  );
  assert.deepEqual(p.sampling, {
    temperature: 0.2,
    topK: 40,
    topP: 0.9,
    presencePenalty: 1,
    frequencyPenalty: -1,
    seed: 7,
  });
  assert.equal(p.maxTokens, 20);
  assert.deepEqual(p.stop, ["\n"]);
  assert.equal(p.stream, false);
  assert.equal(p.cachePrompt, true);
  assert.equal(p.slot, -1);
});

Deno.test("parseGenerationParams() takes n_predict over max_completion_tokens over max_tokens", () => {
  assert.equal(parseGenerationParams({}, "chat", VOCAB, DEFAULTS).maxTokens, -1);
  assert.equal(
    parseGenerationParams({ max_tokens: 5, max_completion_tokens: 6 }, "chat", VOCAB, DEFAULTS)
      .maxTokens,
    6,
  );
  assert.equal(
    parseGenerationParams({ max_tokens: 5, n_predict: 7 }, "native", VOCAB, DEFAULTS).maxTokens,
    7,
  );
  fails(
    () => parseGenerationParams({ max_tokens: -5 }, "chat", VOCAB, DEFAULTS),
    /^max_tokens must be -1/,
    "max_tokens",
  );
});

Deno.test("parseGenerationParams() refuses out-of-range OpenAI values", () => {
  fails(
    () => parseGenerationParams({ temperature: 3 }, "chat", VOCAB, DEFAULTS),
    /^temperature must be between 0 and 2, got 3$/,
  );
  assert.equal(
    parseGenerationParams({ temperature: 3 }, "native", VOCAB, DEFAULTS).sampling.temperature,
    3,
  );
  fails(
    () => parseGenerationParams({ n: 17 }, "chat", VOCAB, DEFAULTS),
    /^n must be an integer from 1 to 16/,
    "n",
  );
  assert.equal(parseGenerationParams({ n: 2 }, "chat", VOCAB, DEFAULTS).n, 2);
  fails(
    () => parseGenerationParams({ top_p: 1.5 }, "chat", VOCAB, DEFAULTS),
    /^top_p must be between 0 and 1/,
  );
  fails(
    () => parseGenerationParams({ presence_penalty: 3 }, "chat", VOCAB, DEFAULTS),
    /^presence_penalty must be between -2 and 2/,
  );
  fails(
    () => parseGenerationParams({ seed: 1.5 }, "chat", VOCAB, DEFAULTS),
    /^seed must be an integer/,
  );
});

Deno.test("parseGenerationParams() turns response_format and json_schema into a grammar", () => {
  assert.equal(
    parseGenerationParams({ response_format: { type: "json_object" } }, "chat", VOCAB, DEFAULTS)
      .sampling.grammar,
    JSON_GRAMMAR,
  );
  assert.equal(
    parseGenerationParams({ response_format: { type: "text" } }, "chat", VOCAB, DEFAULTS).sampling
      .grammar,
    undefined,
  );
  const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
  const viaFormat = parseGenerationParams(
    { response_format: { type: "json_schema", json_schema: { name: "x", schema } } },
    "chat",
    VOCAB,
    DEFAULTS,
  ).sampling.grammar!;
  assert.match(viaFormat, /^root ::= /m);
  assert.equal(
    parseGenerationParams({ json_schema: schema }, "native", VOCAB, DEFAULTS).sampling.grammar,
    viaFormat,
  );
  fails(
    () => parseGenerationParams({ response_format: { type: "yaml" } }, "chat", VOCAB, DEFAULTS),
    /response_format.type must be/,
  );
  fails(
    () =>
      parseGenerationParams(
        { json_schema: schema, grammar: 'root ::= "a"' },
        "native",
        VOCAB,
        DEFAULTS,
      ),
    /cannot be combined/,
  );
  fails(
    () => parseGenerationParams({ json_schema: { $ref: "#/nowhere" } }, "native", VOCAB, DEFAULTS),
    /unusable schema/,
    "json_schema",
  );
});

Deno.test("parseGenerationParams() reads each API's log-probability fields", () => {
  const chat = parseGenerationParams({ logprobs: true, top_logprobs: 3 }, "chat", VOCAB, DEFAULTS);
  assert.deepEqual([chat.logprobs, chat.topLogprobs], [true, 3]);
  fails(
    () => parseGenerationParams({ top_logprobs: 3 }, "chat", VOCAB, DEFAULTS),
    /requires logprobs/,
  );
  const legacy = parseGenerationParams({ logprobs: 2 }, "completions", VOCAB, DEFAULTS);
  assert.deepEqual([legacy.logprobs, legacy.topLogprobs], [true, 2]);
  const native = parseGenerationParams({ n_probs: 4 }, "native", VOCAB, DEFAULTS);
  assert.deepEqual([native.logprobs, native.topLogprobs], [true, 4]);
  fails(
    () => parseGenerationParams({ top_logprobs: 21, logprobs: true }, "chat", VOCAB, DEFAULTS),
    /between 0 and 20/,
  );
});

Deno.test("parseGenerationParams() reads stream_options.include_usage and logit_bias", () => {
  const p = parseGenerationParams(
    { stream: true, stream_options: { include_usage: true }, logit_bias: { "5": -100 } },
    "chat",
    VOCAB,
    { ...DEFAULTS, logitBias: [{ token: 1, bias: 2 }] },
  );
  assert.equal(p.stream, true);
  assert.equal(p.includeUsage, true);
  assert.deepEqual(p.sampling.logitBias, [{ token: 1, bias: 2 }, { token: 5, bias: -100 }]);
  fails(
    () => parseGenerationParams({ stream_options: { include_usage: 1 } }, "chat", VOCAB, DEFAULTS),
    /include_usage must be a boolean/,
  );
});
