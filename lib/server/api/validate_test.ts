import assert from "node:assert/strict";
import * as z from "zod/mini";
import { ApiError } from "./errors.ts";
import {
  type Body,
  boolean,
  logitBiasField,
  number,
  type NumberRule,
  optional,
  parseField,
  parseJsonBody,
  parseRequest,
  stopStrings as stopField,
  string,
  tokenId,
  tokenIds,
  toLogitBias,
} from "./validate.ts";

// The checks these tests were first written against, now run through the declared field
// schemas and the entry points the endpoints use.
function optionalNumber(body: Body, name: string, rule: NumberRule = {}) {
  return parseRequest(z.object({ [name]: optional(number(rule)) }), body)[name];
}
function optionalBoolean(body: Body, name: string) {
  return parseRequest(z.object({ [name]: optional(boolean()) }), body)[name];
}
function optionalString(body: Body, name: string) {
  return parseRequest(z.object({ [name]: optional(string()) }), body)[name];
}
function stopStrings(body: Body) {
  return parseRequest(z.object({ stop: optional(stopField()) }), body).stop ?? [];
}
function checkToken(value: unknown, name: string, vocabSize: number) {
  return parseField(tokenId(vocabSize), value, name);
}
function tokenArray(value: unknown, name: string, vocabSize: number) {
  return parseField(tokenIds(vocabSize), value, name);
}
function logitBias(
  body: Body,
  vocabSize: number,
  tokenize: (text: string) => ArrayLike<number>,
  options: { limit?: number } = {},
) {
  const field = parseRequest(
    z.object({ logit_bias: optional(logitBiasField(options.limit)) }),
    body,
  );
  return toLogitBias(field.logit_bias, vocabSize, tokenize);
}

function fails(fn: () => unknown, message: RegExp, param?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, message);
    if (param !== undefined) assert.equal(error.param, param);
    return true;
  });
}

Deno.test("parseJsonBody() wants a JSON object", () => {
  assert.deepEqual(parseJsonBody('{"a":1}'), { a: 1 });
  fails(() => parseJsonBody(""), /body is empty/);
  fails(() => parseJsonBody("{oops"), /^Cannot parse the request body as JSON: /);
  fails(() => parseJsonBody("[1]"), /must be a JSON object, got an array/);
  fails(() => parseJsonBody("null"), /must be a JSON object, got null/);
});

Deno.test("optionalNumber() names the field and the range", () => {
  assert.equal(optionalNumber({}, "temperature", { min: 0, max: 2 }), undefined);
  assert.equal(optionalNumber({ temperature: null }, "temperature", { min: 0, max: 2 }), undefined);
  assert.equal(optionalNumber({ temperature: 0.5 }, "temperature", { min: 0, max: 2 }), 0.5);
  fails(
    () => optionalNumber({ temperature: 3 }, "temperature", { min: 0, max: 2 }),
    /^temperature must be between 0 and 2, got 3$/,
    "temperature",
  );
  fails(
    () => optionalNumber({ temperature: "hot" }, "temperature", { min: 0, max: 2 }),
    /got a string$/,
  );
  fails(
    () => optionalNumber({ top_k: 1.5 }, "top_k", { integer: true, min: 0 }),
    /^top_k must be an integer of at least 0, got 1.5$/,
  );
  fails(
    () => optionalNumber({ n: -1 }, "n", { integer: true, min: 1, max: 8 }),
    /^n must be an integer between 1 and 8, got -1$/,
  );
});

Deno.test("optionalBoolean() and optionalString() check types", () => {
  assert.equal(optionalBoolean({ stream: true }, "stream"), true);
  fails(
    () => optionalBoolean({ stream: "yes" }, "stream"),
    /^stream must be a boolean, got a string$/,
    "stream",
  );
  assert.equal(optionalString({ grammar: "x" }, "grammar"), "x");
  fails(
    () => optionalString({ grammar: 1 }, "grammar"),
    /^grammar must be a string, got a number$/,
  );
});

Deno.test("stopStrings() takes a string or an array of strings", () => {
  assert.deepEqual(stopStrings({}), []);
  assert.deepEqual(stopStrings({ stop: "\n" }), ["\n"]);
  assert.deepEqual(stopStrings({ stop: ["a", "", "b"] }), ["a", "b"]);
  fails(() => stopStrings({ stop: [1] }), /^stop\[0\] must be a string/);
  fails(() => stopStrings({ stop: 5 }), /^stop must be a string or an array of strings/);
});

Deno.test("checkToken() and tokenArray() refuse ids outside the vocabulary", () => {
  assert.equal(checkToken(5, "t", 10), 5);
  fails(
    () => checkToken(10, "prompt[2]", 10),
    /^prompt\[2\] is token 10, outside the vocabulary \(0\.\.9\)$/,
    "prompt",
  );
  fails(() => checkToken(-1, "x", 10), /outside the vocabulary/);
  fails(() => checkToken(1.5, "x", 10), /must be an integer token id/);
  assert.deepEqual(tokenArray([1, 2], "tokens", 10), [1, 2]);
  fails(() => tokenArray("1 2", "tokens", 10), /must be an array of token ids/);
});

Deno.test("logitBias() reads OpenAI and llama.cpp shapes", () => {
  const tokenize = (text: string) => Array.from(text, (c) => c.charCodeAt(0) % 10);
  assert.deepEqual(logitBias({}, 10, tokenize), []);
  assert.deepEqual(logitBias({ logit_bias: { "3": -100, "4": 5 } }, 10, tokenize, { limit: 100 }), [
    { token: 3, bias: -100 },
    { token: 4, bias: 5 },
  ]);
  assert.deepEqual(logitBias({ logit_bias: [[2, false], ["a", 1]] }, 10, tokenize), [
    { token: 2, bias: -Infinity },
    { token: 7, bias: 1 },
  ]);
  fails(
    () => logitBias({ logit_bias: { "10": 1 } }, 10, tokenize),
    /outside the vocabulary/,
    "logit_bias",
  );
  fails(
    () => logitBias({ logit_bias: { "1": 101 } }, 10, tokenize, { limit: 100 }),
    /between -100 and 100/,
  );
  fails(() => logitBias({ logit_bias: { "1": "x" } }, 10, tokenize), /must be a number or false/);
  fails(() => logitBias({ logit_bias: [[1]] }, 10, tokenize), /\[token, bias\] pair/);
  fails(() => logitBias({ logit_bias: 3 }, 10, tokenize), /must be an object/);
});
