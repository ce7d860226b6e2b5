import assert from "node:assert/strict";
import { openLibrary } from "../ffi/library.ts";
import { AbiMismatchError, assertAbi, CONTEXT_PARAMS, MODEL_PARAMS } from "../ffi/structs.ts";
import { createContext } from "../lib/engine/context.ts";
import { ContextFullError, GrammarError, ModelLoadError } from "../lib/engine/errors.ts";
import { generate } from "../lib/engine/generate.ts";
import { type LlamaModel, loadModel } from "../lib/engine/model.ts";
import { Sampler } from "../lib/engine/sampler.ts";
import { STORIES, STORIES_GREEDY } from "./helpers.ts";

async function complete(model: LlamaModel, prompt: string, maxTokens: number): Promise<string> {
  const context = await createContext(model, { threads: 1, contextSize: 256 });
  try {
    let text = "";
    for await (const piece of generate(context, prompt, { temperature: 0, maxTokens })) {
      text += piece;
    }
    return text;
  } finally {
    await context.close();
  }
}

Deno.test("assertAbi() accepts the loaded library's default structs", () => {
  const lib = openLibrary();
  assertAbi(lib.modelDefaults(), lib.contextDefaults());
  assert.equal(lib.modelDefaults().byteLength, MODEL_PARAMS.size);
  assert.equal(lib.contextDefaults().byteLength, CONTEXT_PARAMS.size);
});

Deno.test("assertAbi() refuses a struct whose fields moved or whose size changed", () => {
  const lib = openLibrary();
  const model = lib.modelDefaults();
  model[MODEL_PARAMS.use_extra_bufts] = 0;
  assert.throws(() => assertAbi(model, lib.contextDefaults()), AbiMismatchError);
  const context = lib.contextDefaults();
  new DataView(context.buffer).setUint32(CONTEXT_PARAMS.n_batch, 1234, true);
  assert.throws(
    () => assertAbi(lib.modelDefaults(), context),
    /n_batch at byte 4 is 1234, expected 2048/,
  );
  assert.throws(
    () => assertAbi(new Uint8Array(72), lib.contextDefaults()),
    /is 72 bytes, expected 80/,
  );
});

Deno.test("loadModel() reads stories260K's metadata and vocabulary", async () => {
  using model = await loadModel(STORIES);
  assert.equal(model.vocabSize, 512);
  assert.equal(model.bos, 1);
  assert.equal(model.eos, 2);
  assert.equal(model.layerCount, 5);
  assert.equal(model.embeddingSize, 64);
  assert.equal(model.trainedContext, 2048);
  assert.equal(model.parameterCount, 292_800);
  assert.equal(model.meta("general.architecture"), "llama");
  assert.equal(model.meta("no.such.key"), null);
  assert.equal(model.chatTemplate, null);
});

Deno.test("LlamaModel tokenizes and detokenizes round trip", async () => {
  using model = await loadModel(STORIES);
  const tokens = model.tokenize("Once upon a time");
  assert.equal(tokens[0], model.bos);
  // SPM vocabularies detokenize with the space prefix they tokenize with.
  assert.equal(model.detokenize(tokens, { removeSpecial: true }), " Once upon a time");
  assert.equal(model.tokenize("Once upon a time", { addSpecial: false }).length, tokens.length - 1);
  assert.throws(() => model.detokenize([9999]), RangeError);
  assert.throws(() => model.tokenBytes(-1), /outside the vocabulary/);
});

Deno.test("tokenizeAsync() gives tokenize()'s tokens off the JS thread; close() waits for it", async () => {
  const model = await loadModel(STORIES);
  const text = "Once upon a time, there was a little girl. ".repeat(20_000);
  const expected = model.tokenize(text, { parseSpecial: true });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const pending = model.tokenizeAsync(text, { parseSpecial: true });
  // Closed while the tokenization runs: the weights are freed once it ends.
  model.close();
  assert.ok(model.closed);
  assert.throws(() => model.tokenize("x"), /closed/);
  const tokens = await pending;
  clearInterval(timer);
  assert.deepEqual(tokens, expected);
  assert.ok(ticks > 0, "the event loop ran while it tokenized");
  await assert.rejects(() => model.tokenizeAsync("x"), /closed/);
  model.close();
});

Deno.test("generate() is greedy and deterministic at temperature 0", async () => {
  using model = await loadModel(STORIES);
  assert.equal(await complete(model, "Once upon a time", 40), STORIES_GREEDY);
});

Deno.test("loadModel() reads weights in place at a 64 KiB offset with byte-identical output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gguf = await Deno.readFile(STORIES);
    const offset = 65536;
    const big = new Uint8Array(offset + gguf.length + 12345);
    big.fill(0x5a, 0, offset);
    big.set(gguf, offset);
    await Deno.writeFile(`${dir}/bundle.bin`, big);
    using plain = await loadModel(STORIES);
    using inner = await loadModel(`${dir}/bundle.bin`, { offset });
    assert.equal(inner.parameterCount, plain.parameterCount);
    assert.equal(
      await complete(inner, "Once upon a time", 40),
      await complete(plain, "Once upon a time", 40),
    );
    await assert.rejects(loadModel(`${dir}/bundle.bin`, { offset: 100 }), /bad GGUF magic/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() honours an aborted signal", async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(loadModel(STORIES, { signal: controller.signal }));
});

Deno.test("loadModel() rejects a missing file with ModelLoadError", async () => {
  await assert.rejects(loadModel("/nonexistent/x.gguf"), ModelLoadError);
});

Deno.test("Sampler rejects an invalid grammar with GrammarError", async () => {
  using model = await loadModel(STORIES);
  assert.throws(() => new Sampler(model, { grammar: "root ::= (" }), GrammarError);
  assert.throws(
    () => new Sampler(model, { logitBias: [{ token: 100000, bias: 1 }] }),
    /outside the vocabulary/,
  );
});

Deno.test("generate() refuses a prompt longer than the context", async () => {
  using model = await loadModel(STORIES);
  const context = await createContext(model, { threads: 1, contextSize: 256 });
  try {
    assert.equal(context.size, 256);
    const run = generate(context, "Once upon a time there was a girl. ".repeat(40), {});
    await assert.rejects(run.next(), ContextFullError);
  } finally {
    await context.close();
  }
});

Deno.test("generate() ends with finishReason context when the context fills up", async () => {
  using model = await loadModel(STORIES);
  const context = await createContext(model, { threads: 1, contextSize: 256 });
  try {
    const run = generate(context, "Once", { temperature: 0, ignoreEos: true });
    let step = await run.next();
    while (!step.done) step = await run.next();
    assert.equal(step.value.finishReason, "context");
    // As llama.cpp's: generation stops once the next token would leave no room for another, so
    // prompt and answer fill the context exactly (the last token is emitted, not decoded).
    assert.equal(step.value.promptTokens + step.value.completionTokens, context.size);
  } finally {
    await context.close();
  }
});

Deno.test("generate() stops on an AbortSignal", async () => {
  using model = await loadModel(STORIES);
  const context = await createContext(model, { threads: 1, contextSize: 512 });
  try {
    const controller = new AbortController();
    const run = generate(context, "Once", {
      temperature: 0,
      ignoreEos: true,
      signal: controller.signal,
    });
    await run.next();
    controller.abort();
    let step = await run.next();
    while (!step.done) step = await run.next();
    assert.equal(step.value.finishReason, "abort");
  } finally {
    await context.close();
  }
});

Deno.test("Sampler reports the grammar parser's reason and keeps it off stderr", async () => {
  using model = await loadModel(STORIES);
  assert.throws(
    () => new Sampler(model, { grammar: 'root ::= "a" (' }),
    /Cannot parse grammar: expecting '\)'/,
  );
  assert.throws(
    () => new Sampler(model, { grammar: "root ::= undefined-rule" }),
    /Cannot parse grammar: /,
  );
  using ok = new Sampler(model, { grammar: 'root ::= "yes" | "no"' });
  assert.ok(ok.handle);
});
