import assert from "node:assert/strict";
import { ApiError } from "./errors.ts";
import {
  OFF_THREAD_BYTES,
  promptTokens,
  promptTokensAsync,
  type PromptVocab,
  singlePrompt,
} from "./prompt.ts";

const VOCAB: PromptVocab = {
  vocabSize: 300,
  tokenize: (
    text,
    { addSpecial },
  ) => [...(addSpecial ? [1] : []), ...Array.from(text, (c) => c.charCodeAt(0))],
};

Deno.test("promptTokens() tokenizes text with BOS, takes token ids as they are, and mixes both", () => {
  assert.deepEqual(promptTokens("ab", VOCAB), [1, 97, 98]);
  assert.deepEqual(promptTokens([5, 6], VOCAB), [5, 6]);
  assert.deepEqual(promptTokens(["a", 5, "b"], VOCAB), [1, 97, 5, 98]);
  assert.deepEqual(promptTokens([5, "a"], VOCAB), [5, 97]);
  assert.deepEqual(promptTokens("a", VOCAB, { addSpecial: false }), [97]);
});

Deno.test("promptTokens() refuses missing prompts, odd items and ids outside the vocabulary", () => {
  assert.throws(
    () => promptTokens(undefined, VOCAB),
    (e: ApiError) => e.status === 400 && /prompt is required/.test(e.message),
  );
  assert.throws(
    () => promptTokens({}, VOCAB),
    (e: ApiError) => /must be a string or an array/.test(e.message),
  );
  assert.throws(
    () => promptTokens([true], VOCAB),
    (e: ApiError) => /prompt\[0\] must be a string or a token id/.test(e.message),
  );
  assert.throws(
    () => promptTokens([300], VOCAB),
    (e: ApiError) => /prompt\[0\] is token 300, outside the vocabulary/.test(e.message),
  );
});

Deno.test("singlePrompt() accepts one prompt and refuses batches", () => {
  assert.equal(singlePrompt("a"), "a");
  assert.deepEqual(singlePrompt(["a"]), ["a"]);
  assert.deepEqual(singlePrompt([[1, 2]]), [1, 2]);
  assert.deepEqual(singlePrompt(["a", 3, "b"]), ["a", 3, "b"]);
  assert.throws(() => singlePrompt(["a", "b"]), (e: ApiError) => /holds 2 prompts/.test(e.message));
  assert.throws(() => singlePrompt([[1], [2]]), (e: ApiError) => /holds 2 prompts/.test(e.message));
});

Deno.test("promptTokensAsync() tokenizes long strings through tokenizeAsync, short ones as promptTokens does", async () => {
  const asked: { length: number; addSpecial: boolean }[] = [];
  const vocab = {
    ...VOCAB,
    tokenizeAsync: (text: string, options: { addSpecial: boolean; parseSpecial: boolean }) => {
      asked.push({ length: text.length, addSpecial: options.addSpecial });
      return Promise.resolve(VOCAB.tokenize(text, options));
    },
  };
  const long = "a".repeat(OFF_THREAD_BYTES);
  assert.deepEqual(
    await promptTokensAsync(["b", 5, "c"], vocab),
    promptTokens(["b", 5, "c"], VOCAB),
  );
  assert.deepEqual(asked, []);
  assert.deepEqual(await promptTokensAsync(long, vocab), promptTokens(long, VOCAB));
  assert.deepEqual(
    await promptTokensAsync([long, 5, long], vocab),
    promptTokens([long, 5, long], VOCAB),
  );
  assert.deepEqual(asked, [
    { length: OFF_THREAD_BYTES, addSpecial: true },
    { length: OFF_THREAD_BYTES, addSpecial: true },
    { length: OFF_THREAD_BYTES, addSpecial: false },
  ]);
  await assert.rejects(() => promptTokensAsync([true], vocab), ApiError);
});
