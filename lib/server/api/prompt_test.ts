import assert from "node:assert/strict";
import { ApiError } from "./errors.ts";
import {
  OFF_THREAD_BYTES,
  promptList,
  promptTokens,
  promptTokensAsync,
  type PromptVocab,
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

Deno.test("promptList() reads one prompt or a batch, as llama.cpp's tokenize_input_prompts", () => {
  assert.deepEqual(promptList("a", VOCAB), [[1, 97]]);
  assert.deepEqual(promptList(["a"], VOCAB), [[1, 97]]);
  assert.deepEqual(promptList([[1, 2]], VOCAB), [[1, 2]]);
  assert.deepEqual(promptList(["a", 3, "b"], VOCAB), [[1, 97, 3, 98]]);
  assert.deepEqual(promptList(["a", "b"], VOCAB), [[1, 97], [1, 98]]);
  assert.deepEqual(promptList([[1], [2]], VOCAB), [[1], [2]]);
  assert.deepEqual(promptList({ prompt_string: "a" }, VOCAB), [[1, 97]]);
  assert.throws(() => promptList([], VOCAB), (e: ApiError) => /must not be empty/.test(e.message));
  assert.throws(
    () => promptList({ prompt_string: "a", multimodal_data: ["x"] }, VOCAB),
    (e: ApiError) => /no projector/.test(e.message),
  );
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
