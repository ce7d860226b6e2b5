import assert from "node:assert/strict";
import {
  defaultOptions,
  helpText,
  OPTION_TABLE,
  parseCliArgs,
  parseLogitBias,
  UsageError,
} from "./options.ts";

Deno.test("parseCliArgs() keeps llama.cpp's defaults", () => {
  const o = parseCliArgs([]);
  assert.equal(o.temperature, 0.8);
  assert.equal(o.topK, 40);
  assert.equal(o.topP, 0.95);
  assert.equal(o.minP, 0.05);
  assert.equal(o.nPredict, -1);
  assert.equal(o.escape, true);
  assert.equal(o.displayPrompt, true);
});

Deno.test("parseCliArgs() reads short, long and multi-letter single-dash flags", () => {
  const o = parseCliArgs([
    "-m",
    "a.gguf",
    "-ngl",
    "99",
    "--temp",
    "0",
    "-n",
    "5",
    "-c",
    "0",
    "-t",
    "1",
    "-np",
    "4",
  ]);
  assert.equal(o.model, "a.gguf");
  assert.equal(o.gpuLayers, 99);
  assert.equal(o.temperature, 0);
  assert.equal(o.nPredict, 5);
  assert.equal(o.contextSize, 0);
  assert.equal(o.threads, 1);
  assert.equal(o.parallel, 4);
});

Deno.test("parseCliArgs() lets the last occurrence win", () => {
  const o = parseCliArgs(["-n", "5", "--n-predict", "7", "--temp=0.5", "--temp", "0.1"]);
  assert.equal(o.nPredict, 7);
  assert.equal(o.temperature, 0.1);
});

Deno.test("parseCliArgs() accumulates repeatable options", () => {
  const o = parseCliArgs([
    "-r",
    "User:",
    "--reverse-prompt",
    "\n\n",
    "-l",
    "15+1",
    "--cors-origins",
    "http://a,http://b",
  ]);
  assert.deepEqual(o.reversePrompt, ["User:", "\n\n"]);
  assert.deepEqual(o.logitBias, [{ token: 15, bias: 1 }]);
  assert.deepEqual(o.corsOrigins, ["http://a", "http://b"]);
});

Deno.test("parseCliArgs() handles negative flags and aliases", () => {
  const o = parseCliArgs(["--no-display-prompt", "--no-mmap", "--no-repack", "--no-escape"]);
  assert.equal(o.displayPrompt, false);
  assert.equal(o.mmap, false);
  assert.equal(o.repack, false);
  assert.equal(o.escape, false);
  assert.equal(parseCliArgs(["--silent-prompt"]).displayPrompt, false);
});

Deno.test("parseCliArgs() rejects unknown options, bad numbers and missing values", () => {
  assert.throws(() => parseCliArgs(["--bogus"]), UsageError);
  assert.throws(
    () => parseCliArgs(["-n", "abc"]),
    /Invalid value "abc" for -n: expected an integer/,
  );
  assert.throws(() => parseCliArgs(["--temp", "hot"]), /expected a number/);
  assert.throws(() => parseCliArgs(["--top-p", "1.5"]), /at most 1/);
  assert.throws(() => parseCliArgs(["--mirostat", "3"]), /one of 0, 1, 2/);
  assert.throws(() => parseCliArgs(["-m"]), /needs a value/);
  assert.throws(() => parseCliArgs(["stray"]), /Unexpected argument "stray"/);
  assert.throws(() => parseCliArgs(["--mlock=1"]), /takes no value/);
});

Deno.test("parseLogitBias() reads TOKEN(+|-)BIAS including -inf", () => {
  assert.deepEqual(parseLogitBias("15043+1"), { token: 15043, bias: 1 });
  assert.deepEqual(parseLogitBias("15043-0.5"), { token: 15043, bias: -0.5 });
  assert.deepEqual(parseLogitBias("2-inf"), { token: 2, bias: -Infinity });
  assert.throws(() => parseLogitBias("x+1"), UsageError);
});

Deno.test("helpText() documents every option in the table", () => {
  const text = helpText("test");
  for (const spec of OPTION_TABLE) {
    for (const name of spec.names) assert.ok(text.includes(name), name);
  }
  assert.match(text, /EXIT STATUS/);
});

Deno.test("OPTION_TABLE keys all exist in the defaults or are optional", () => {
  const defaults = defaultOptions() as unknown as Record<string, unknown>;
  const optional = new Set([
    "model",
    "prompt",
    "file",
    "systemPrompt",
    "systemPromptFile",
    "binaryFile",
    "chatTemplateKwargs",
    "reasoningEffort",
    "reasoningPreserve",
    "threads",
    "threadsBatch",
    "grammar",
    "grammarFile",
    "jsonSchema",
    "jsonSchemaFile",
    "gpuLayers",
    "splitMode",
    "tensorSplit",
    "mainGpu",
    "devices",
    "flashAttention",
    "apiKey",
    "chatTemplate",
    "alias",
    "mmproj",
    "promptCache",
    "chatTemplateFile",
    "apiKeyFile",
    "tags",
    "slotSavePath",
    "staticPath",
    "sslKeyFile",
    "sslCertFile",
    "flashAttention",
    "kvUnified",
    "pooling",
    "ignored",
  ]);
  for (const spec of OPTION_TABLE) {
    assert.ok(spec.key in defaults || optional.has(spec.key), spec.key);
  }
});

Deno.test("parseCliArgs() reads --rpc as a list of HOST:PORT workers, repeated or comma-separated", () => {
  assert.deepEqual(parseCliArgs([]).rpc, []);
  assert.deepEqual(parseCliArgs(["--rpc", "127.0.0.1:50052"]).rpc, ["127.0.0.1:50052"]);
  assert.deepEqual(
    parseCliArgs(["--rpc", "10.0.0.2:50052,gpu-box:50053", "--rpc=10.0.0.4:1"]).rpc,
    ["10.0.0.2:50052", "gpu-box:50053", "10.0.0.4:1"],
  );
  for (
    const bad of ["localhost", "host:", ":50052", "host:0", "host:65536", "[::1]:50052", "a b:1"]
  ) {
    assert.throws(
      () => parseCliArgs(["--rpc", bad]),
      (e: Error) =>
        e instanceof UsageError && e.message.startsWith(`Invalid value "${bad}" for --rpc`),
      bad,
    );
  }
});

Deno.test("parseCliArgs() reads LLAMA_ARG_* variables under the command line", () => {
  const env = { LLAMA_ARG_PORT: "9000", LLAMA_ARG_HOST: "192.0.2.1", LLAMA_ARG_CTX_SIZE: "512" };
  const o = parseCliArgs(["--host", "127.0.0.1"], env);
  assert.equal(o.port, 9000);
  assert.equal(o.host, "127.0.0.1");
  assert.equal(o.contextSize, 512);
  assert.equal(parseCliArgs([], { LLAMA_ARG_ENDPOINT_METRICS: "1" }).metrics, true);
  assert.equal(parseCliArgs([], { LLAMA_ARG_ENDPOINT_SLOTS: "off" }).slots, false);
  assert.equal(parseCliArgs([], { LLAMA_ARG_NO_ENDPOINT_SLOTS: "" }).slots, false);
  assert.equal(parseCliArgs([], { LLAMA_API_KEY: "k1,k2" }).apiKey, "k1,k2");
  assert.throws(() => parseCliArgs([], { LLAMA_ARG_PORT: "http" }), /for LLAMA_ARG_PORT/);
  assert.throws(() => parseCliArgs([], { LLAMA_ARG_JINJA: "maybe" }), /for LLAMA_ARG_JINJA/);
});

Deno.test("parseCliArgs() reads --long_name as --long-name, as llama.cpp does", () => {
  const o = parseCliArgs(["--ctx_size", "256", "--n_predict=3"]);
  assert.equal(o.contextSize, 256);
  assert.equal(o.nPredict, 3);
});

Deno.test("parseCliArgs() notes llama-server flags that do nothing here, once each", () => {
  const o = parseCliArgs(["-nocb", "--no-cont-batching", "-bs", "--threads-http", "4", "-cb"]);
  assert.deepEqual(o.notes, [
    "-nocb: continuous batching is always on here",
    "-bs: sampling runs on the CPU here; backend sampling is not implemented",
    "--threads-http: requests are served on one event loop, so it does nothing here",
  ]);
});

Deno.test("parseCliArgs() refuses llama-server features we lack in one line", () => {
  assert.throws(
    () => parseCliArgs(["--models-dir", "/m"]),
    (e: Error) =>
      e instanceof UsageError &&
      e.message.startsWith("Cannot use --models-dir: llama-server's model router"),
  );
  assert.throws(() => parseCliArgs(["-hf", "x/y"]), /downloads nothing: pass -m FILE/);
  assert.throws(() => parseCliArgs(["-md", "d.gguf"]), /speculative decoding is not available/);
  assert.throws(() => parseCliArgs([], { LLAMA_ARG_MODELS_DIR: "/m" }), /LLAMA_ARG_MODELS_DIR/);
});

Deno.test("parseCliArgs() reads the llama-server flags of the issue with llama.cpp's meaning", () => {
  const o = parseCliArgs([
    "--jinja",
    "--metrics",
    "--no-slots",
    "--slot-save-path",
    "/tmp",
    "-kvu",
    "--swa-full",
    "--context-shift",
    "--keep",
    "4",
    "--pooling",
    "cls",
    "--lora",
    "a.gguf,b.gguf",
    "--lora-scaled",
    "c.gguf:0.5",
    "-a",
    "x,y",
    "--tags",
    "t",
    "-ub",
    "64",
    "--no-ui",
    "-fa",
    "on",
    "-ctk",
    "q8_0",
    "--api-prefix",
    "/api",
  ]);
  assert.equal(o.jinja, true);
  assert.equal(o.metrics, true);
  assert.equal(o.slots, false);
  assert.equal(o.slotSavePath, "/tmp");
  assert.equal(o.kvUnified, true);
  assert.equal(o.swaFull, true);
  assert.equal(o.contextShift, true);
  assert.equal(o.keep, 4);
  assert.equal(o.pooling, 2);
  assert.deepEqual(o.lora, [
    { path: "a.gguf", scale: 1 },
    { path: "b.gguf", scale: 1 },
    { path: "c.gguf", scale: 0.5 },
  ]);
  assert.equal(o.alias, "x,y");
  assert.equal(o.ubatchSize, 64);
  assert.equal(o.ui, false);
  assert.equal(o.flashAttention, true);
  assert.equal(o.cacheTypeK, 8);
  assert.equal(o.apiPrefix, "/api");
  assert.throws(() => parseCliArgs(["--api-prefix", "api/"]), /leading slash/);
  assert.throws(() => parseCliArgs(["--pooling", "max"]), /expected a pooling type/);
});

Deno.test("llama.cpp's conversation flags: -cnv is --chat, -no-cnv is --cli, -sys/-sysf the system message", () => {
  assert.equal(parseCliArgs(["-cnv"]).chat, true);
  assert.equal(parseCliArgs(["--conversation"]).chat, true);
  assert.equal(parseCliArgs(["-no-cnv"]).cli, true);
  assert.equal(parseCliArgs(["--no-conversation"]).cli, true);
  assert.equal(parseCliArgs(["-sys", "Be brief."]).systemPrompt, "Be brief.");
  assert.equal(parseCliArgs(["--system-prompt=Be brief."]).systemPrompt, "Be brief.");
  assert.equal(parseCliArgs(["-sysf", "s.txt"]).systemPromptFile, "s.txt");
});

Deno.test("llama-server's chat flags: template kwargs, reasoning effort and preservation, pure content", () => {
  const o = parseCliArgs([
    "--chat-template-kwargs",
    '{"enable_thinking":false,"x":1}',
    "--reasoning-effort",
    "high",
    "--no-reasoning-preserve",
    "--skip-chat-parsing",
  ]);
  assert.deepEqual(o.chatTemplateKwargs, { enable_thinking: false, x: 1 });
  assert.equal(o.reasoningEffort, "high");
  assert.equal(o.reasoningPreserve, false);
  assert.equal(o.skipChatParsing, true);
  assert.throws(() => parseCliArgs(["--chat-template-kwargs", "[1]"]), /must be a JSON object/);
  assert.throws(() => parseCliArgs(["--chat-template-kwargs", "{x"]), /must be a JSON object/);
  assert.equal(
    parseCliArgs([], { LLAMA_ARG_CHAT_TEMPLATE_KWARGS: '{"a":"b"}' }).chatTemplateKwargs?.a,
    "b",
  );
});

Deno.test("--no-mmproj drops a projector given before it; -kvo is --kv-offload", () => {
  assert.equal(parseCliArgs(["--mmproj", "p.gguf", "--no-mmproj"]).mmproj, undefined);
  assert.equal(parseCliArgs(["--no-mmproj", "--mmproj", "p.gguf"]).mmproj, "p.gguf");
  assert.equal(parseCliArgs(["-nkvo", "-kvo"]).offloadKqv, true);
  assert.equal(parseCliArgs(["-kvo", "-nkvo"]).offloadKqv, false);
});
