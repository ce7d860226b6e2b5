import assert from "node:assert/strict";
import { createContext } from "../lib/engine/context.ts";
import { loadModel } from "../lib/engine/model.ts";
import { QueueFullError, SlotScheduler } from "../lib/engine/slots.ts";
import { STORIES, STORIES_GREEDY } from "./helpers.ts";

async function collect(stream: AsyncIterable<{ text: string }>): Promise<string> {
  let text = "";
  for await (const event of stream) text += event.text;
  return text;
}

Deno.test("SlotScheduler runs concurrent requests with the same greedy output as one alone", async () => {
  using model = await loadModel(STORIES);
  await using context = await createContext(model, { threads: 1, contextSize: 1024, sequences: 4 });
  const scheduler = new SlotScheduler(context);
  try {
    const tokens = model.tokenize("Once upon a time");
    const runs = Array.from(
      { length: 6 },
      () => scheduler.submit({ tokens, sampling: { temperature: 0 }, maxTokens: 40 }),
    );
    const texts = await Promise.all(runs.map(collect));
    for (const text of texts) assert.equal(text, STORIES_GREEDY);
    const results = await Promise.all(runs.map((r) => r.result));
    assert.ok(
      results.some((r) => r.cachedTokens > 0),
      "a later request reuses a slot's cached prefix",
    );
    assert.ok(scheduler.stats().decodeCalls < 6 * 41, "tokens of several slots share decodes");
  } finally {
    await scheduler.close();
  }
});

Deno.test("SlotScheduler frees a slot when its request is aborted", async () => {
  using model = await loadModel(STORIES);
  await using context = await createContext(model, { threads: 1, contextSize: 1024, sequences: 1 });
  const scheduler = new SlotScheduler(context);
  try {
    const controller = new AbortController();
    const stream = scheduler.submit({
      tokens: model.tokenize("Once"),
      sampling: { temperature: 0, ignoreEos: true },
      maxTokens: -1,
      signal: controller.signal,
    });
    let n = 0;
    for await (const _ of stream) if (++n === 5) controller.abort();
    const result = await stream.result;
    assert.equal(result.finishReason, "abort");
    assert.ok(
      result.completionTokens <= 6,
      `stopped within one token, got ${result.completionTokens}`,
    );
    assert.equal(scheduler.stats().busy, 0);
  } finally {
    await scheduler.close();
  }
});

Deno.test("SlotScheduler answers maxTokens 0 with no tokens and refuses when the queue is full", async () => {
  using model = await loadModel(STORIES);
  await using context = await createContext(model, { threads: 1, contextSize: 512, sequences: 1 });
  const scheduler = new SlotScheduler(context, { queueLimit: 1 });
  try {
    const tokens = model.tokenize("Once");
    const zero = scheduler.submit({ tokens, sampling: { temperature: 0 }, maxTokens: 0 });
    assert.equal(await collect(zero), "");
    assert.equal((await zero.result).completionTokens, 0);
    const busy = scheduler.submit({
      tokens,
      sampling: { temperature: 0, ignoreEos: true },
      maxTokens: 50,
    });
    const queued = scheduler.submit({ tokens, sampling: { temperature: 0 }, maxTokens: 1 });
    assert.throws(() => scheduler.submit({ tokens, sampling: {}, maxTokens: 1 }), QueueFullError);
    await Promise.all([collect(busy), collect(queued)]);
  } finally {
    await scheduler.close();
  }
});

Deno.test("SlotScheduler.close() aborts running requests", async () => {
  using model = await loadModel(STORIES);
  await using context = await createContext(model, { threads: 1, contextSize: 4096, sequences: 1 });
  const scheduler = new SlotScheduler(context);
  const stream = scheduler.submit({
    tokens: model.tokenize("Once"),
    sampling: { ignoreEos: true },
    maxTokens: -1,
  });
  const reading = collect(stream);
  await new Promise((r) => setTimeout(r, 20));
  await scheduler.close();
  await reading;
  assert.equal((await stream.result).finishReason, "abort");
});
