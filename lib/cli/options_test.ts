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
