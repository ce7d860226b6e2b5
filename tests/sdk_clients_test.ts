/**
 * The official clients against a packed llamafile's server, run as a user runs it
 * (`./model.llamafile --server ...`, sandboxed, with `--api-key`): `@anthropic-ai/sdk` for the
 * Messages API (plain, streamed, a tool, token counting) and `openai` for the Responses API
 * (plain, streamed, a function tool, a three-turn conversation through `previous_response_id`,
 * retrieve, delete, input token counts), and bad input answered in each API's error shape while
 * the server keeps serving.
 */
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { MODELS, taskArgs } from "./helpers.ts";
import { TOOLS_TEMPLATE } from "./server_helpers.ts";

const CHATML = `${MODELS}/stories260K-chatml-test.gguf`;
const KEY = "sk-llamafile-test";
const decoder = new TextDecoder();

const dir = await Deno.makeTempDir({ prefix: "sdk_clients_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let packed: Promise<string> | null = null;

/** Packs the ChatML test model once for this file (through `deno task llamafile pack`). */
function llamafile(): Promise<string> {
  packed ??= (async () => {
    const path = `${dir}/chat.llamafile`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: taskArgs(["pack", "-m", CHATML, "-o", path]),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    return path;
  })();
  return packed;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Runs the packed llamafile's server for `body`, then stops it. */
async function withServer(body: (base: string) => Promise<void>): Promise<void> {
  const path = await llamafile();
  const port = freePort();
  const child = new Deno.Command(path, {
    args: [
      "--server",
      "--nobrowser",
      "--port",
      String(port),
      "--api-key",
      KEY,
      "-t",
      "1",
      "-np",
      "2",
      "-c",
      "4096",
      "--chat-template",
      TOOLS_TEMPLATE,
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { XDG_CACHE_HOME: `${dir}/cache`, NO_COLOR: "1" },
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`${base}/health`);
        const status = (await r.json()).status;
        if (r.ok && status === "ok") break;
      } catch {
        // not listening yet
      }
      if (i > 600) throw new Error("the packed llamafile's server did not become healthy");
      await new Promise((r) => setTimeout(r, 50));
    }
    // The launcher execs deno: the server is the child's own pid, sandboxed on every thread.
    const modes = [...Deno.readDirSync(`/proc/${child.pid}/task`)].map((task) =>
      /^Seccomp:\s*(\d)/m.exec(
        Deno.readTextFileSync(`/proc/${child.pid}/task/${task.name}/status`),
      )?.[1]
    );
    assert.deepEqual([...new Set(modes)], ["2"]);
    await body(base);
  } finally {
    child.kill("SIGTERM");
    const stderr = decoder.decode((await child.output()).stderr);
    assert.doesNotMatch(stderr, /request [0-9a-f]+ failed/, "no request failed with a 500");
  }
}

const WEATHER_SCHEMA = {
  type: "object" as const,
  properties: { city: { type: "string", enum: ["Paris", "Oslo"] } },
  required: ["city"],
};

Deno.test("@anthropic-ai/sdk against a packed llamafile: messages.create plain, streamed, with a tool, and countTokens", async () => {
  await withServer(async (base) => {
    const client = new Anthropic({ baseURL: base, apiKey: KEY, maxRetries: 0 });
    const ask = {
      model: "claude-local",
      max_tokens: 16,
      temperature: 0,
      system: "You tell stories.",
      messages: [{ role: "user" as const, content: "Tell me a story about a cat." }],
    };
    const message = await client.messages.create(ask);
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.stop_reason, "max_tokens");
    const first = message.content[0]!;
    assert.equal(first.type, "text");
    const text = first.type === "text" ? first.text : "";
    assert.ok(text.length > 0);
    assert.equal(message.usage.output_tokens, 16);

    // Streamed: every event type, in order, with the text of the plain answer.
    const stream = await client.messages.create({ ...ask, stream: true });
    const types: string[] = [];
    let streamed = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
        streamed += event.delta.text;
      }
    }
    assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"]);
    assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    assert.ok(types.slice(2, -3).every((t) => t === "content_block_delta"), types.join(" "));
    assert.equal(streamed, text);
    // The helper that accumulates the events into a message.
    const final = await client.messages.stream(ask).finalMessage();
    assert.deepEqual(final.content, message.content);
    assert.equal(final.usage.output_tokens, 16);

    // A tool: tool_use, then a tool_result turn.
    const tools = [{
      name: "get_weather",
      description: "The weather",
      input_schema: WEATHER_SCHEMA,
    }];
    const question = { role: "user" as const, content: "What is the weather in Oslo?" };
    const call = await client.messages.create({
      ...ask,
      max_tokens: 200,
      messages: [question],
      tools,
      tool_choice: { type: "tool", name: "get_weather" },
    });
    assert.equal(call.stop_reason, "tool_use");
    const use = call.content.find((b) => b.type === "tool_use");
    assert.ok(use !== undefined && use.type === "tool_use", JSON.stringify(call.content));
    assert.equal(use.name, "get_weather");
    assert.ok(["Paris", "Oslo"].includes((use.input as { city: string }).city));
    const after = await client.messages.create({
      ...ask,
      tools,
      messages: [
        question,
        { role: "assistant", content: call.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: use.id, content: "-3 C and snow" }],
        },
      ],
    });
    assert.equal(after.content[0]!.type, "text");
    assert.ok((after.usage.cache_read_input_tokens ?? 0) > 0);

    // Token counting counts what the message evaluated.
    const counted = await client.messages.countTokens({
      model: ask.model,
      system: ask.system,
      messages: ask.messages,
    });
    assert.equal(
      counted.input_tokens,
      message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0),
    );
  });
});

Deno.test("openai responses against a packed llamafile: plain, streamed, a function tool, three turns through previous_response_id", async () => {
  await withServer(async (base) => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
    const ask = { model: "gpt-local", max_output_tokens: 16, temperature: 0 };
    const plain = await client.responses.create({
      ...ask,
      instructions: "You tell stories.",
      input: "Tell me a story about a cat.",
    });
    assert.equal(plain.object, "response");
    assert.equal(plain.status, "incomplete");
    assert.ok(plain.output_text.length > 0);
    assert.equal(plain.usage?.output_tokens, 16);

    // Streamed, with the text of the plain answer.
    const stream = await client.responses.create({
      ...ask,
      instructions: "You tell stories.",
      input: "Tell me a story about a cat.",
      stream: true,
    });
    const types: string[] = [];
    let streamed = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") streamed += event.delta;
    }
    assert.deepEqual(types.slice(0, 4), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    assert.equal(types.at(-1), "response.incomplete");
    assert.equal(streamed, plain.output_text);

    // A function tool: the call, then its output.
    const tools = [{
      type: "function" as const,
      name: "get_weather",
      description: "The weather",
      parameters: WEATHER_SCHEMA,
      strict: true,
    }];
    const call = await client.responses.create({
      ...ask,
      max_output_tokens: 200,
      input: "What is the weather in Oslo?",
      tools,
      // The tool by name: the call comes at once ("required", as llama.cpp's, lets text come
      // before the call, and this tiny story model writes text).
      tool_choice: { type: "function", name: "get_weather" },
    });
    const fc = call.output.find((item) => item.type === "function_call");
    assert.ok(fc !== undefined && fc.type === "function_call", JSON.stringify(call.output));
    assert.equal(fc.name, "get_weather");
    assert.ok(["Paris", "Oslo"].includes(JSON.parse(fc.arguments).city));
    const after = await client.responses.create({
      ...ask,
      previous_response_id: call.id,
      input: [{ type: "function_call_output", call_id: fc.call_id, output: "-3 C and snow" }],
      tools,
    });
    assert.equal(after.output[0]!.type, "message");

    // Three turns, each continuing the one before.
    const turns = ["Tell me a story.", "What happened next?", "How did it end?"];
    const made: OpenAI.Responses.Response[] = [];
    for (const input of turns) {
      const previous = made.at(-1);
      made.push(
        await client.responses.create({
          ...ask,
          input,
          ...(previous && { previous_response_id: previous.id }),
        }),
      );
    }
    for (let i = 1; i < 3; i++) {
      assert.equal(made[i]!.previous_response_id, made[i - 1]!.id);
      const cached = made[i]!.usage!.input_tokens_details.cached_tokens;
      assert.ok(cached >= made[i - 1]!.usage!.input_tokens, `turn ${i + 1}: cached ${cached}`);
    }
    const counted = await client.responses.inputTokens.count({
      previous_response_id: made[1]!.id,
      input: turns[2]!,
    });
    assert.equal(counted.input_tokens, made[2]!.usage!.input_tokens);

    // Retrieve and delete.
    const retrieved = await client.responses.retrieve(made[2]!.id);
    assert.equal(retrieved.output_text, made[2]!.output_text);
    await client.responses.delete(made[2]!.id);
    await assert.rejects(
      client.responses.retrieve(made[2]!.id),
      (error: unknown) => error instanceof OpenAI.NotFoundError,
    );
  });
});

Deno.test("bad input through both clients answers a 4xx in each API's error shape, and the packed server keeps serving", async () => {
  await withServer(async (base) => {
    const anthropic = new Anthropic({ baseURL: base, apiKey: KEY, maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "Hi" }];
    const anthropicFails = async (request: unknown, message: RegExp) => {
      await assert.rejects(
        anthropic.messages.create(request as Anthropic.MessageCreateParamsNonStreaming),
        (error: unknown) => {
          assert.ok(error instanceof Anthropic.BadRequestError, String(error));
          const body = error.error as { type: string; error: { type: string; message: string } };
          assert.equal(body.type, "error");
          assert.equal(body.error.type, "invalid_request_error");
          assert.match(body.error.message, message);
          return true;
        },
      );
    };
    await anthropicFails({ model: "m", messages }, /^max_tokens is required$/);
    await anthropicFails(
      { model: "m", max_tokens: 4, system: 42, messages },
      /^system must be a string or an array of text blocks, got a number$/,
    );
    await anthropicFails(
      { model: "m", max_tokens: 4, messages: [{ role: "user", content: [{ type: "hologram" }] }] },
      /"hologram" is not a content block type/,
    );
    const wrongKey = new Anthropic({ baseURL: base, apiKey: "nope", maxRetries: 0 });
    await assert.rejects(
      wrongKey.messages.create({ model: "m", max_tokens: 4, messages }),
      (error: unknown) => error instanceof Anthropic.AuthenticationError,
    );
    const openaiFails = async (request: unknown, message: RegExp, param: string) => {
      await assert.rejects(
        openai.responses.create(request as OpenAI.Responses.ResponseCreateParamsNonStreaming),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.BadRequestError, String(error));
          assert.equal(error.type, "invalid_request_error");
          assert.equal(error.param, param);
          assert.match(error.message, message);
          return true;
        },
      );
    };
    await openaiFails(
      { model: "m", input: "Hi", previous_response_id: "resp_unknown" },
      /Previous response with id "resp_unknown" not found/,
      "previous_response_id",
    );
    const made = await openai.responses.create({ model: "m", input: "Hi", max_output_tokens: 2 });
    await openai.responses.delete(made.id);
    await openaiFails(
      { model: "m", input: "Hi", previous_response_id: made.id },
      /was deleted, or was evicted/,
      "previous_response_id",
    );
    await openaiFails(
      { model: "m", input: "Hi", max_output_tokens: 1e12 },
      /max_output_tokens must be an integer between 1 and 2147483647, got 1000000000000/,
      "max_output_tokens",
    );
    // Still serving.
    const health = await fetch(`${base}/health`);
    assert.equal((await health.json()).status, "ok");
    const ok = await anthropic.messages.create({ model: "m", max_tokens: 2, messages });
    assert.equal(ok.usage.output_tokens, 2);
  });
});
