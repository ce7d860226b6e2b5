// A synthetic model must load in libllama and generate: the benchmarks rely on it. Greedy
// decoding by hand (TokenBatch, decode, argmax over the logits) so every step's logits are
// checked, not only the sampled token.
import assert from "node:assert/strict";
import { TokenBatch } from "../ffi/batch.ts";
import { assertAbi } from "../ffi/structs.ts";
import { createContext } from "../lib/engine/context.ts";
import { ggufSummary, readGguf } from "../lib/engine/gguf_reader.ts";
import { generate as generateText } from "../lib/engine/generate.ts";
import { loadModel, SMALL_MODEL_BYTES } from "../lib/engine/model.ts";
import { ensureSynthModel, isSynthModel, synthSpec, type SynthType } from "../bench/synth_model.ts";

const SMALL = { layers: 2, embd: 256, ff: 512, heads: 4, kvHeads: 2 } as const;

/** Loads `path`, greedily generates `n` tokens after a prompt, returns them and facts. */
async function generate(path: string, n: number) {
  using model = await loadModel(path);
  // the ABI checks: the default params are where ffi/structs.ts says
  assertAbi(model.library.modelDefaults(), model.library.contextDefaults());
  await using context = await createContext(model, { threads: 1, contextSize: 256 });
  assert.equal(context.batchSize, 256);
  const nVocab = model.vocabSize;
  const prompt = model.tokenize("Once upon a time");
  assert.ok(prompt.length > 1, `tokenize returned ${prompt.length}`);
  const batch = new TokenBatch(prompt.length);
  let pos = 0;
  let row = 0;
  for (const token of prompt) {
    row = batch.add(token, pos, 0, pos === prompt.length - 1);
    pos++;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    await context.decode(batch);
    const logits = context.logits(row);
    assert.equal(logits.length, nVocab);
    let best = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let t = 0; t < nVocab; t++) {
      const v = logits[t]!;
      assert.ok(Number.isFinite(v), `logit ${t} is ${v}`);
      if (v > logits[best]!) best = t;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.ok(max - min > 1e-3, `logits are all the same (${min}..${max})`);
    out.push(best);
    batch.clear();
    row = batch.add(best, pos++, 0, true);
  }
  return {
    tokens: out,
    nVocab,
    nParams: model.parameterCount,
    nLayer: model.layerCount,
    nEmbd: model.embeddingSize,
  };
}

Deno.test("ensureSynthModel() makes small llama GGUFs that libllama loads and runs", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "synth_model_test_" });
  try {
    for (const type of ["q8_0", "q4_0"] as SynthType[]) {
      await t.step(type, async () => {
        const path = `${dir}/small-${type}.gguf`;
        assert.equal(await ensureSynthModel({ ...SMALL, type }, { path }), path);
        assert.ok(await isSynthModel(path, synthSpec({ ...SMALL, type })));
        assert.equal(await isSynthModel(path, synthSpec({ ...SMALL, type, seed: 2 })), false);

        const summary = ggufSummary(await readGguf(path));
        assert.equal(summary.fileTypeName, type.toUpperCase());
        assert.equal(summary.vocabSize, 32000);
        assert.equal(summary.blockCount, 2);

        const first = await generate(path, 4);
        assert.equal(first.nVocab, 32000);
        assert.equal(first.nLayer, 2);
        assert.equal(first.nEmbd, 256);
        assert.equal(first.nParams, summary.parameterCount);
        // A valid model is reused; a remade one has the same bytes, so the same greedy tokens.
        const before = await Deno.readFile(path);
        const { mtime } = await Deno.stat(path);
        await ensureSynthModel({ ...SMALL, type }, { path });
        assert.deepEqual((await Deno.stat(path)).mtime, mtime);
        await Deno.remove(path);
        await ensureSynthModel({ ...SMALL, type }, { path });
        assert.deepEqual(await Deno.readFile(path), before);
        assert.deepEqual((await generate(path, 4)).tokens, first.tokens);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate() with syncDecode (the CLI's) gives the nonblocking decodes' greedy tokens on a model over SMALL_MODEL_BYTES, and stops on an AbortSignal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "synth_model_test_" });
  try {
    const path = await ensureSynthModel({ ...SMALL, type: "q8_0" }, { path: `${dir}/m.gguf` });
    using model = await loadModel(path);
    assert.ok((await Deno.stat(path)).size > SMALL_MODEL_BYTES);
    assert.equal(model.small, false, "decoded off the JS thread unless syncDecode says so");
    await using context = await createContext(model, { threads: 1, contextSize: 256 });
    const run = async (options: { syncDecode?: boolean; signal?: AbortSignal }) => {
      const pieces: string[] = [];
      const it = generateText(context, "Once upon a time", {
        temperature: 0,
        maxTokens: 24,
        ignoreEos: true,
        ...options,
      });
      let step = await it.next();
      while (!step.done) {
        pieces.push(step.value);
        step = await it.next();
      }
      return { text: pieces.join(""), result: step.value };
    };
    const nonblocking = await run({});
    const sync = await run({ syncDecode: true });
    assert.equal(sync.result.completionTokens, 24);
    assert.deepEqual(sync.result.tokens, nonblocking.result.tokens);
    assert.equal(sync.text, nonblocking.text);
    // A signal raised from a timer during generation is seen: the event loop still turns.
    const abort = new AbortController();
    await using long = await createContext(model, { threads: 1, contextSize: 4096 });
    const stopped = await generateTextUntilAbort(long, abort);
    assert.equal(stopped, "abort");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Generates with syncDecode until `abort`, 1 ms after the first token, stops it. */
async function generateTextUntilAbort(
  context: Awaited<ReturnType<typeof createContext>>,
  abort: AbortController,
): Promise<string> {
  const it = generateText(context, "Once", {
    temperature: 0,
    maxTokens: 100_000,
    ignoreEos: true,
    syncDecode: true,
    signal: abort.signal,
  });
  let step = await it.next();
  setTimeout(() => abort.abort(), 1);
  while (!step.done) step = await it.next();
  return step.value.finishReason;
}
