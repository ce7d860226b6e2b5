/**
 * The server over a real socket: `runServer` on a free port with the ChatML test model
 * (1 thread, -np 4), driven by the official `openai` client, curl-style `fetch`es and
 * concurrent streams; plus an in-process `Deno.serve(createApp(...))` to watch the
 * scheduler while a client aborts mid-stream. Prints aggregate tokens/s for one stream
 * and for 8 streams on 4 slots.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { parseCliArgs } from "../lib/cli/options.ts";
import { type LlamaModel, loadModel } from "../lib/engine/model.ts";
import { createApp, runServer, type ServerExit } from "../server.ts";
import { CHAT_MODEL, parseSse, post, testEngine } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads an SSE chat stream; returns the text, the events and the wall time in ms. */
async function streamChat(
  base: string,
  body: Json,
): Promise<{ text: string; events: unknown[]; tokens: number }> {
  const response = await fetch(`${base}v1/chat/completions`, post({ ...body, stream: true }));
  assert.equal(response.status, 200);
  const events = parseSse(await response.text());
  const chunks = events.filter((e) => e !== "[DONE]") as Json[];
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  const finish = chunks.find((c) => c.choices[0]?.finish_reason);
  return { text, events, tokens: finish?.usage.completion_tokens ?? 0 };
}

async function expect400(
  response: Response,
  message: RegExp,
  type = "invalid_request_error",
): Promise<void> {
  assert.equal(response.status, 400, `${response.status} ${message}`);
  const body = await response.json();
  assert.equal(body.error.type, type);
  assert.equal(body.error.code, 400);
  assert.match(body.error.message, message);
  assert.ok("param" in body.error);
}

Deno.test("runServer() over a socket: openai client, curl, concurrency, errors, throughput", async (t) => {
  const options = parseCliArgs([
    "--server",
    "--nobrowser",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "-m",
    CHAT_MODEL,
    "-t",
    "1",
    "-np",
    "4",
    "-c",
    "2048",
    "--temp",
    "0",
    "--metrics",
  ]);
  const lines: string[] = [];
  let listening!: (url: string) => void;
  const urlKnown = new Promise<string>((resolve) => (listening = resolve));
  let provideModel!: (model: LlamaModel) => void;
  const modelPromise = new Promise<LlamaModel>((resolve) => (provideModel = resolve));
  const stop = new AbortController();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const running: Promise<ServerExit> = runServer(modelPromise, options, {
    signal: stop.signal,
    log: (line) => {
      lines.push(line);
      const match = /listening on (http:\S+)/.exec(line);
      if (match) listening(match[1]!);
    },
    onReady: () => ready(),
  });
  const base = await urlKnown;
  let model: LlamaModel | null = null;
  try {
    await t.step("/health is 503 while the model loads, then ok", async () => {
      const loading = await fetch(`${base}health`);
      assert.equal(loading.status, 503);
      assert.deepEqual(await loading.json(), { status: "loading model" });
      const chat = await fetch(
        `${base}v1/chat/completions`,
        post({ messages: [{ role: "user", content: "x" }] }),
      );
      assert.equal(chat.status, 503);
      assert.equal((await chat.json()).error.type, "unavailable_error");
      model = await loadModel(CHAT_MODEL);
      provideModel(model);
      await isReady;
      const ok = await fetch(`${base}health`);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).status, "ok");
    });

    const client = new OpenAI({ baseURL: `${base}v1`, apiKey: "no-key", maxRetries: 0 });

    await t.step(
      "openai client: chat, streaming chat, completions, embeddings, models",
      async () => {
        const chat = await client.chat.completions.create({
          model: "LLaMA_CPP",
          messages: [{ role: "user", content: "Tell me a story about a cat." }],
          max_tokens: 16,
          temperature: 0,
        });
        assert.equal(chat.object, "chat.completion");
        assert.equal(chat.choices[0]!.message.role, "assistant");
        const content = chat.choices[0]!.message.content ?? "";
        assert.ok(content.length > 0);
        assert.equal(chat.usage?.completion_tokens, 16);

        const stream = await client.chat.completions.create({
          model: "LLaMA_CPP",
          messages: [{ role: "user", content: "Tell me a story about a cat." }],
          max_tokens: 16,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        });
        let streamed = "";
        let finish: string | null = null;
        let usage = 0;
        for await (const chunk of stream) {
          streamed += chunk.choices[0]?.delta?.content ?? "";
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.choices.length === 0) usage = chunk.usage?.completion_tokens ?? 0;
        }
        assert.equal(streamed, content);
        assert.equal(finish, "length");
        assert.equal(usage, 16);

        const completion = await client.completions.create({
          model: "LLaMA_CPP",
          prompt: "Once upon a time",
          max_tokens: 8,
          temperature: 0,
        });
        assert.equal(completion.object, "text_completion");
        assert.equal(completion.choices[0]!.text, ", there was a little girl");

        const embeddings = await client.embeddings.create({
          model: "LLaMA_CPP",
          input: ["a cat", "a dog"],
        });
        assert.equal(embeddings.data.length, 2);
        assert.equal(embeddings.data[0]!.embedding.length, 64);
        const norm = Math.hypot(...embeddings.data[0]!.embedding);
        assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);

        const models = await client.models.list();
        assert.equal(models.data.length, 1);
        assert.equal(models.data[0]!.id, "stories260K-chatml-test.gguf");

        await assert.rejects(
          client.chat.completions.create({
            model: "x",
            messages: [{ role: "user", content: "x" }],
            temperature: 3,
          }),
          (error: Error) =>
            error instanceof OpenAI.BadRequestError &&
            /temperature must be between 0 and 2/.test(error.message),
        );
      },
    );

    await t.step("the README curl request returns a chat.completion", async () => {
      const response = await fetch(`${base}v1/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer no-key" },
        body: JSON.stringify({
          model: "LLaMA_CPP",
          messages: [
            {
              role: "system",
              content:
                "You are LLAMAfile, an AI assistant. Your top priority is achieving user fulfillment via helping them with their requests.",
            },
            { role: "user", content: "Write a limerick about python exceptions" },
          ],
          max_tokens: 32,
        }),
      });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.object, "chat.completion");
      assert.match(body.id, /^chatcmpl-/);
      assert.ok(Number.isInteger(body.created));
      assert.equal(body.choices.length, 1);
      assert.equal(typeof body.choices[0].message.content, "string");
      assert.ok(
        body.usage.prompt_tokens > 0 &&
          body.usage.total_tokens === body.usage.prompt_tokens + body.usage.completion_tokens,
      );
    });

    await t.step("-np 4 serves 8 concurrent streams to the end", async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        streamChat(base, {
          messages: [{ role: "user", content: `Story number ${i}` }],
          max_tokens: 24,
          temperature: 0.8,
          seed: i,
        })));
      for (const result of results) {
        assert.equal(result.events.at(-1), "[DONE]");
        assert.ok(result.tokens > 0 && result.tokens <= 24);
      }
      const metrics = await (await fetch(`${base}metrics`)).text();
      assert.match(metrics, /^llamacpp:requests_processing 0$/m);
      const slots = await (await fetch(`${base}slots`)).json() as Json[];
      assert.equal(slots.length, 4);
      assert.ok(slots.every((s) => !s.is_processing));
    });

    await t.step("bad inputs answer 400 with an OpenAI error body", async () => {
      const chat = (body: unknown) => fetch(`${base}v1/chat/completions`, post(body));
      const ok = { messages: [{ role: "user", content: "Hi" }], max_tokens: 4 };
      await expect400(await chat("{oops"), /Cannot parse the request body as JSON/);
      await expect400(await chat({ max_tokens: 4 }), /^messages is required$/);
      await expect400(
        await chat({ messages: [{ content: "no role" }] }),
        /messages\[0\]\.role must be one of/,
      );
      await expect400(
        await chat({ messages: [{ role: "user", content: 5 }] }),
        /content must be a string or an array/,
      );
      await expect400(
        await chat({ ...ok, temperature: 3 }),
        /^temperature must be between 0 and 2, got 3$/,
      );
      await expect400(await chat({ ...ok, n: 0 }), /^n must be an integer from 1 to \d+/);
      await expect400(await chat({ ...ok, grammar: "root ::= [" }), /grammar/i);
      await expect400(
        await chat({ ...ok, stream: true, grammar: "root ::= undefined-rule" }),
        /grammar/i,
      );
      await expect400(
        await chat({ ...ok, max_tokens: -5 }),
        /^max_tokens must be -1 \(no limit\) or a non-negative integer, got -5$/,
      );
      await expect400(
        await chat({ ...ok, logit_bias: { "512": -100 } }),
        /token 512, outside the vocabulary/,
      );
      await expect400(
        await fetch(`${base}completion`, post({ prompt: [1, 600, 2], n_predict: 2 })),
        /prompt\[1\] is token 600, outside the vocabulary \(0\.\.511\)/,
      );
      await expect400(
        await chat({
          messages: [{ role: "user", content: "The cat sat on the mat. ".repeat(200) }],
        }),
        /slot's context holds 512/,
        "exceed_context_size_error",
      );
      const unknown = await fetch(`${base}v1/nothing`);
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json()).error.type, "not_found_error");
    });

    await t.step("aggregate tokens/s: 8 streams on -np 4 vs one stream", async () => {
      const request = (i: number) => ({
        messages: [{ role: "user", content: `Tell story ${i}` }],
        max_tokens: 128,
        ignore_eos: true,
        temperature: 0.8,
        seed: i,
      });
      await streamChat(base, request(99)); // warm up
      let start = performance.now();
      const one = await streamChat(base, request(0));
      const oneRate = one.tokens / ((performance.now() - start) / 1000);
      start = performance.now();
      const eight = await Promise.all(
        Array.from({ length: 8 }, (_, i) => streamChat(base, request(i + 1))),
      );
      const total = eight.reduce((sum, r) => sum + r.tokens, 0);
      const eightRate = total / ((performance.now() - start) / 1000);
      assert.equal(one.tokens, 128);
      assert.equal(total, 8 * 128);
      console.log(
        `  aggregate decode: 1 stream ${oneRate.toFixed(0)} tok/s; 8 streams on -np 4 ${
          eightRate.toFixed(0)
        } tok/s (${(eightRate / oneRate).toFixed(2)}x)`,
      );
    });

    await t.step("shutdown aborts an in-flight stream and returns", async () => {
      const response = await fetch(
        `${base}completion`,
        post({ prompt: "Once", n_predict: 100000, ignore_eos: true, stream: true }),
      );
      const reader = response.body!.getReader();
      await reader.read();
      stop.abort();
      while (!(await reader.read()).done) {
        // drain what was sent before the abort
      }
      assert.deepEqual(await running, { reason: "abort" });
      assert.ok(
        lines.some((line) => /model loaded \(4 slots of 512 tokens\)/.test(line)),
        lines.join("\n"),
      );
    });
  } finally {
    stop.abort();
    await running.catch(() => {});
    (model as LlamaModel | null)?.close();
  }
});

Deno.test("a client that aborts mid-stream frees its slot within one token", async () => {
  await using engine = await testEngine({ parallel: 2, contextSize: 8192 });
  const scheduler = engine.engine.scheduler;
  const app = createApp({ state: engine.state });
  let atCancel: { decodes: number; generated: number } | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const response = await app.fetch(request);
    if (!response.body) return response;
    const inner = response.body.getReader();
    // Observe the moment the server learns the client is gone.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await inner.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        const slot = scheduler.slots().find((s) => s.busy);
        atCancel = { decodes: scheduler.stats().decodeCalls, generated: slot?.generated ?? -1 };
        return inner.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, headers: response.headers });
  });
  try {
    const controller = new AbortController();
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}/v1/chat/completions`,
      {
        ...post({
          messages: [{ role: "user", content: "Go" }],
          max_tokens: 6000,
          ignore_eos: true,
          stream: true,
        }),
        signal: controller.signal,
      },
    );
    const reader = response.body!.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    assert.equal(scheduler.stats().busy, 1);
    controller.abort();
    await reader.read().catch(() => {});
    const deadline = Date.now() + 5000;
    while (scheduler.stats().busy > 0 && Date.now() < deadline) await sleep(1);
    assert.equal(scheduler.stats().busy, 0, "the slot is still busy");
    assert.ok(atCancel !== null, "the server never saw the client go");
    const seen = atCancel as { decodes: number; generated: number };
    const after = scheduler.stats().decodeCalls - seen.decodes;
    assert.ok(after <= 1, `${after} decodes ran after the client went away`);
    const generated = scheduler.stats().generatedTokensTotal;
    assert.ok(
      seen.generated > 0 && generated - seen.generated <= 1,
      `generated ${generated} after ${seen.generated}`,
    );
    assert.ok(generated < 6000, "generation ran to the end");
  } finally {
    await server.shutdown();
  }
});
