/**
 * llama.cpp's server endpoints and behaviours on the app (no socket): slot actions with slot
 * files, infill, rerank, embeddings, apply-template, LoRA adapters, batches and choices, prompt
 * progress, post-sampling probabilities, continued assistant messages, context shift, a split
 * GGUF; and hostile input on the new endpoints (a `../` file name, an unknown slot, a rerank
 * without documents, an infill on a model without FIM tokens): a 4xx in llama.cpp's error
 * shape, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { createApp } from "../lib/server/app.ts";
import { DirectSlotFiles } from "../lib/server/api/slot_files.ts";
import { createEngine, IdleSleeper, ServerState } from "../lib/server/api/server_state.ts";
import { closeEngine } from "../lib/server/api/server_state.ts";
import { loadModel } from "../lib/engine/model.ts";
import { writeStoriesInfill, writeStoriesLora, writeStoriesSplit } from "../conformance/models.ts";
import { DEFAULTS, parseSse, post, testEngine } from "./server_helpers.ts";

const STORIES = new URL("../../shared/models/stories260K.gguf", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type Json = any;

async function json(response: Response): Promise<Json> {
  return await response.json();
}

/** An app on stories260K itself (no chat template), with `setup` applied to its state. */
async function storiesApp(
  options: Parameters<typeof createEngine>[1] extends infer O ? Partial<O> : never = {},
  modelPath = STORIES,
) {
  const model = await loadModel(modelPath);
  const engine = await createEngine(model, {
    contextSize: 512,
    parallel: 2,
    threads: 1,
    ...options,
  });
  const state = new ServerState({ modelName: "stories", defaults: DEFAULTS, startedAt: 1 });
  state.ready(engine);
  return {
    state,
    engine,
    async [Symbol.asyncDispose]() {
      await closeEngine(engine);
      model.close();
    },
  };
}

async function expectStatus(response: Response, status: number, message: RegExp) {
  const body = await json(response);
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, status);
  assert.match(body.error.message, message);
}

Deno.test("POST /slots/ID?action=save|restore|erase moves a slot's cache through a llama.cpp slot file", async () => {
  await using t = await testEngine();
  const dir = await Deno.makeTempDir();
  try {
    t.state.config.slotFiles = new DirectSlotFiles(dir);
    const app = createApp({ state: t.state });
    const prompt = "What is the capital of France?";
    const first = await json(
      await app.request("/completion", post({ prompt, id_slot: 1, n_predict: 8, temperature: 0 })),
    );
    assert.equal(first.timings.cache_n, 0);
    const saved = await json(
      await app.request("/slots/1?action=save", post({ filename: "slot1.bin" })),
    );
    // The prompt and the generated tokens but the last (not yet in the cache).
    assert.equal(saved.n_saved, first.tokens_evaluated + 7);
    const file = await Deno.readFile(`${dir}/slot1.bin`);
    assert.equal(saved.n_written, file.length);
    assert.equal(new TextDecoder().decode(file.subarray(0, 4)), "qsgg"); // 'ggsq', little-endian
    const restored = await json(
      await app.request("/slots/0?action=restore", post({ filename: "slot1.bin" })),
    );
    assert.equal(restored.n_restored, saved.n_saved);
    const again = await json(
      await app.request("/completion", post({ prompt, id_slot: 0, n_predict: 8, temperature: 0 })),
    );
    assert.equal(again.timings.prompt_n, 1, "all but the last prompt token came from the file");
    assert.equal(again.content, first.content);
    const erased = await json(await app.request("/slots/0?action=erase", { method: "POST" }));
    assert.equal(erased.n_erased, saved.n_saved);
    const cold = await json(
      await app.request("/completion", post({ prompt, id_slot: 0, n_predict: 1, temperature: 0 })),
    );
    assert.equal(cold.timings.cache_n, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /slots refuses path traversal, unknown slots and actions, and keeps serving", async () => {
  await using t = await testEngine();
  const dir = await Deno.makeTempDir();
  try {
    const app = createApp({ state: t.state });
    await expectStatus(
      await app.request("/slots/0?action=save", post({ filename: "x.bin" })),
      501,
      /--slot-save-path/,
    );
    t.state.config.slotFiles = new DirectSlotFiles(dir);
    for (const filename of ["../escape.bin", "a/b.bin", "..", "/etc/passwd", ".hidden "]) {
      await expectStatus(
        await app.request("/slots/0?action=save", post({ filename })),
        400,
        /Invalid filename/,
      );
    }
    await expectStatus(
      await app.request("/slots/0?action=restore", post({ filename: "missing.bin" })),
      400,
      /no slot file "missing.bin"/,
    );
    await Deno.writeTextFile(`${dir}/junk.bin`, "not a slot file");
    await expectStatus(
      await app.request("/slots/0?action=restore", post({ filename: "junk.bin" })),
      400,
      /Unable to restore slot/,
    );
    await expectStatus(await app.request("/slots/9?action=erase", { method: "POST" }), 400, /slot/);
    await expectStatus(await app.request("/slots/x?action=erase", { method: "POST" }), 400, /slot/);
    await expectStatus(await app.request("/slots/0?action=drop", post({})), 400, /Invalid action/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["junk.bin"]);
    assert.equal((await app.request("/health")).status, 200);
    const ok = await app.request("/completion", post({ prompt: "Once", n_predict: 2 }));
    assert.equal(ok.status, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /infill fills the middle with the model's FIM tokens, and answers 501 without them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using plain = await storiesApp();
    const none = createApp({ state: plain.state });
    const request = { input_prefix: "Once upon", input_suffix: "The end.", n_predict: 8 };
    await expectStatus(await none.request("/infill", post(request)), 501, /no FIM prefix/);
    await writeStoriesInfill(`${dir}/infill.gguf`);
    await using fim = await storiesApp({}, `${dir}/infill.gguf`);
    const app = createApp({ state: fim.state });
    const answer = await json(await app.request("/infill", post({ ...request, temperature: 0 })));
    assert.equal(answer.tokens_predicted, 8);
    assert.equal(typeof answer.content, "string");
    // [BOS] [FIM_PRE] prefix [FIM_SUF] suffix [FIM_MID]
    assert.equal(answer.prompt, "<s>\x00 Once upon\x01 The end.\x02");
    const bad = await app.request("/infill", post({ ...request, input_extra: [{ filename: 1 }] }));
    assert.equal(bad.status, 400);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a split GGUF (-00001-of-00003.gguf) loads and answers as the whole file does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await writeStoriesSplit(dir);
    assert.match(first, /-00001-of-00003\.gguf$/);
    await using split = await storiesApp({}, first);
    await using whole = await storiesApp();
    const ask = async (state: ServerState) =>
      (await json(
        await createApp({ state }).request(
          "/completion",
          post({ prompt: "Once upon a time", n_predict: 12, temperature: 0 }),
        ),
      )).content;
    assert.equal(await ask(split.state), await ask(whole.state));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /rerank needs --reranking and documents, and answers 4xx in llama.cpp's shape", async () => {
  await using t = await storiesApp();
  const app = createApp({ state: t.state });
  for (const path of ["/rerank", "/reranking", "/v1/rerank", "/v1/reranking"]) {
    await expectStatus(
      await app.request(path, post({ query: "q", documents: ["a"] })),
      501,
      /--reranking/,
    );
  }
  await using r = await storiesApp({ reranking: true });
  const rerank = createApp({ state: r.state });
  for (const documents of [[], null, 123, [1, 2, 3]]) {
    const response = await rerank.request("/rerank", post({ query: "q", documents }));
    assert.equal(response.status, 400);
    assert.ok((await json(response)).error.message);
  }
  assert.equal((await rerank.request("/health")).status, 200);
});

Deno.test("POST /embeddings (native) gives one vector per token with pooling none, /v1/embeddings refuses it", async () => {
  await using t = await storiesApp({ pooling: 0 });
  const app = createApp({ state: t.state });
  const tokens = await json(
    await app.request("/tokenize", post({ content: "hello hello", add_special: true })),
  );
  const native = await json(await app.request("/embeddings", post({ content: "hello hello" })));
  assert.equal(native[0].embedding.length, tokens.tokens.length);
  assert.equal(native[0].embedding[0].length, t.engine.model.embeddingSize);
  const oai = await app.request("/v1/embeddings", post({ input: "hello" }));
  assert.equal(oai.status, 400);
  const batch = await json(await app.request("/embedding", post({ input: ["a", [1, 2, 3]] })));
  assert.equal(batch.length, 2);
});

Deno.test("POST /completion takes token arrays, mixed prompts and batches, and refuses media", async () => {
  await using t = await storiesApp();
  const app = createApp({ state: t.state });
  const ask = async (prompt: unknown) =>
    await json(await app.request("/completion", post({ prompt, n_predict: 6, temperature: 0 })));
  const text = await ask("Once upon a time");
  const ids = (await json(
    await app.request("/tokenize", post({ content: "Once upon a time", add_special: true })),
  )).tokens;
  assert.equal((await ask(ids)).content, text.content);
  assert.equal((await ask({ prompt_string: "Once upon a time" })).content, text.content);
  const batch = await ask([ids, "Once upon a time", { prompt_string: "Once upon a time" }]);
  assert.equal(batch.length, 3);
  for (const [i, answer] of batch.entries()) {
    assert.equal(answer.index, i);
    assert.equal(answer.content, text.content);
  }
  assert.equal(typeof (await ask([1, 2, "Once", 3])).content, "string");
  const media = await app.request(
    "/completion",
    post({ prompt: { prompt_string: "x <__media__>", multimodal_data: ["AAAA"] } }),
  );
  assert.equal(media.status, 400);
});

Deno.test("an id_slot past the last slot wraps around, as llama-server's does (id % slots)", async () => {
  await using t = await testEngine(); // 2 slots
  const app = createApp({ state: t.state });
  const completion = await app.request(
    "/completion",
    post({ prompt: "Once", n_predict: 2, temperature: 0, id_slot: 5 }),
  );
  const body = await json(completion);
  assert.equal(completion.status, 200, JSON.stringify(body));
  assert.equal(body.id_slot, 1);
  const messages = [{ role: "user", content: "Hi" }];
  for (
    const [path, request] of [
      ["/v1/chat/completions", { messages, max_tokens: 2, id_slot: 2 }],
      ["/v1/responses", { input: "Hi", max_output_tokens: 2, id_slot: 2 }],
    ] as const
  ) {
    const response = await app.request(path, post(request));
    const answer = await json(response);
    assert.equal(response.status, 200, `${path}: ${JSON.stringify(answer)}`);
  }
});

Deno.test("POST /v1/chat/completions answers n choices, and a continued assistant message", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const messages = [{ role: "user", content: "Tell me a story" }];
  const two = await json(
    await app.request("/v1/chat/completions", post({ messages, n: 2, max_tokens: 4 })),
  );
  assert.deepEqual(two.choices.map((c: Json) => c.index), [0, 1]);
  const prefill = await json(
    await app.request(
      "/apply-template",
      post({ messages: [...messages, { role: "assistant", content: "Once" }] }),
    ),
  );
  assert.match(prefill.prompt, /<\|im_start\|>assistant\nOnce$/);
  const both = await app.request(
    "/v1/chat/completions",
    post({
      messages: [...messages, { role: "assistant", content: "Once" }],
      add_generation_prompt: true,
      continue_final_message: true,
    }),
  );
  assert.equal(both.status, 400);
  const count = await json(
    await app.request("/chat/completions/input_tokens", post({ messages })),
  );
  assert.ok(count.input_tokens > 5);
});

Deno.test("streamed completions report prompt progress and post-sampling probabilities", async () => {
  await using t = await storiesApp({ batchSize: 16 });
  const app = createApp({ state: t.state });
  const response = await app.request(
    "/completion",
    post({
      prompt: "the quick brown fox jumps over the lazy dog ".repeat(4),
      n_predict: 3,
      stream: true,
      return_progress: true,
      timings_per_token: true,
      n_probs: 5,
      post_sampling_probs: true,
      temperature: 1,
    }),
  );
  const events = parseSse(await response.text()) as Json[];
  const progress = events.filter((e) => e.prompt_progress !== undefined);
  assert.ok(progress.length > 2, "one report before the prompt and one per batch");
  assert.equal(progress[0].prompt_progress.processed, progress[0].prompt_progress.cache);
  assert.equal(progress.at(-1).prompt_progress.processed, progress.at(-1).prompt_progress.total);
  const tokens = events.filter((e) => e.completion_probabilities !== undefined);
  assert.equal(tokens.length, 3);
  for (const e of tokens) {
    const p = e.completion_probabilities[0];
    assert.ok(p.prob > 0 && p.prob <= 1);
    assert.ok(p.top_probs.every((x: Json) => x.prob > 0 && x.prob <= 1));
  }
});

Deno.test("a full slot stops with truncated, or shifts its context with --context-shift", async () => {
  await using fixed = await storiesApp({ contextSize: 256, parallel: 1 });
  const stop = await json(
    await createApp({ state: fixed.state }).request(
      "/completion",
      post({ prompt: "Once", n_predict: -1, ignore_eos: true, temperature: 0 }),
    ),
  );
  assert.equal(stop.truncated, true);
  assert.equal(stop.stop_type, "limit");
  assert.equal(stop.tokens_evaluated + stop.tokens_predicted, 256);
  await using shift = await storiesApp({ contextSize: 256, parallel: 1, contextShift: true });
  const long = await json(
    await createApp({ state: shift.state }).request(
      "/completion",
      post({ prompt: "Once", n_predict: 300, ignore_eos: true, temperature: 0 }),
    ),
  );
  assert.equal(long.tokens_predicted, 300);
  assert.equal(long.truncated, true);
});

Deno.test("GET /v1/models reports --alias names and --tags; --no-slots and --metrics switch endpoints", async () => {
  await using t = await testEngine();
  t.state.config.modelName = "code";
  t.state.config.aliases = ["code", "fim", "tinyllama-2"];
  t.state.config.tags = ["chat", "small"];
  const app = createApp({ state: t.state, options: { endpoints: { slots: false } } });
  const models = await json(await app.request("/v1/models"));
  assert.equal(models.data[0].id, "code");
  assert.deepEqual(models.data[0].aliases, ["code", "fim", "tinyllama-2"]);
  assert.deepEqual(models.data[0].tags, ["chat", "small"]);
  await expectStatus(await app.request("/slots"), 501, /--slots/);
  await expectStatus(await app.request("/metrics"), 501, /--metrics/);
  const props = await json(await app.request("/props"));
  assert.equal(props.endpoint_slots, false);
  assert.equal(props.endpoint_metrics, false);
});

Deno.test("--lora: GET/POST /lora-adapters and a request's lora scale change the answer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeStoriesLora(`${dir}/lora.gguf`);
    await using base = await storiesApp({ parallel: 2 });
    await using t = await storiesApp({
      parallel: 2,
      lora: [{ path: `${dir}/lora.gguf`, scale: 1 }],
      loraInitWithoutApply: true,
    });
    const app = createApp({ state: t.state });
    const listed = await json(await app.request("/lora-adapters"));
    assert.deepEqual(listed.map((a: Json) => [a.id, a.scale]), [[0, 0]]);
    const ask = async (app: ReturnType<typeof createApp>, lora?: unknown) =>
      (await json(
        await app.request(
          "/completion",
          post({
            prompt: "Once upon a time",
            n_predict: 16,
            temperature: 0,
            cache_prompt: false,
            lora,
          }),
        ),
      )).content;
    const plain = await ask(createApp({ state: base.state }));
    assert.equal(await ask(app), plain, "scale 0 (--lora-init-without-apply) is the base model");
    const scaled = await ask(app, [{ id: 0, scale: 1 }]);
    assert.notEqual(scaled, plain);
    // Both at once on two slots: each request gets its own scales.
    const [a, b] = await Promise.all([ask(app, [{ id: 0, scale: 1 }]), ask(app)]);
    assert.equal(a, scaled);
    assert.equal(b, plain);
    const set = await app.request("/lora-adapters", post([{ id: 0, scale: 1 }]));
    assert.equal(set.status, 200);
    assert.equal(await ask(app), scaled);
    const bad = await app.request("/lora-adapters", post([{ id: 3, scale: 1 }]));
    assert.equal(bad.status, 400);
    const notArray = await app.request("/lora-adapters", post({ id: 0 }));
    assert.equal(notArray.status, 400);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--sleep-idle-seconds frees the contexts when idle and the next request rebuilds them", async () => {
  await using t = await storiesApp({ parallel: 1 });
  const logs: string[] = [];
  t.state.sleeper = new IdleSleeper(
    t.state,
    0.2,
    (asleep) =>
      createEngine(t.engine.model, {
        contextSize: 512,
        parallel: 1,
        threads: 1,
        loraAdapters: asleep.lora,
      }),
    (line) => logs.push(line),
  );
  try {
    const app = createApp({ state: t.state });
    const ask = async () =>
      (await json(
        await app.request("/completion", post({ prompt: "Once", n_predict: 6, temperature: 0 })),
      )).content;
    const before = await ask();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(t.state.sleeping, true);
    assert.equal((await json(await app.request("/props"))).is_sleeping, true);
    assert.equal((await app.request("/health")).status, 200);
    assert.equal(t.state.sleeping, true, "/health does not wake it");
    assert.equal(await ask(), before);
    assert.equal(t.state.sleeping, false);
    assert.match(logs.join("\n"), /contexts freed[\s\S]*contexts rebuilt/);
  } finally {
    t.state.sleeper.close();
    // the rebuilt engine is the state's now: free it too
    const last = t.state.lastEngine!;
    if (last !== t.engine) await closeEngine(last);
  }
});
