import assert from "node:assert/strict";
import { mapServerArgs, shellQuote } from "./stand_in.ts";
import type { ModelPaths } from "./models.ts";

const MODELS: ModelPaths = {
  stories: "/m/stories260K.gguf",
  "stories-infill": "/m/infill.gguf",
  "stories-split": "/m/split-00001-of-00003.gguf",
  "bert-embedding": "/m/bert.gguf",
  "bert-reranker": "/m/rerank.gguf",
};

Deno.test("mapServerArgs() replaces a preset's --hf-repo/--hf-file with -m and keeps the rest", () => {
  const mapped = mapServerArgs([
    "--port",
    "8080",
    "--hf-repo",
    "ggml-org/models",
    "--hf-file",
    "bert-bge-small/ggml-model-f16.gguf",
    "--embedding",
    "--no-slots",
  ], MODELS);
  assert.deepEqual(mapped, {
    kind: "run",
    args: [
      "--server",
      "--nobrowser",
      "-m",
      "/m/bert.gguf",
      "--port",
      "8080",
      "--embedding",
      "--no-slots",
    ],
  });
});

Deno.test("mapServerArgs() maps a repo without a file and drops a :QUANT tag", () => {
  const a = mapServerArgs(["-hf", "ggml-org/test-model-stories260K-infill"], MODELS);
  assert.deepEqual(a, { kind: "run", args: ["--server", "--nobrowser", "-m", "/m/infill.gguf"] });
  const b = mapServerArgs(["--hf-repo=ggml-org/test-model-stories260K:Q8_0"], MODELS);
  assert.deepEqual(b, {
    kind: "run",
    args: ["--server", "--nobrowser", "-m", "/m/stories260K.gguf"],
  });
});

Deno.test("mapServerArgs() says a trained model that cannot be fetched is unavailable", () => {
  const mapped = mapServerArgs(["--hf-repo", "bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M"], MODELS);
  assert.equal(mapped.kind, "unavailable");
  assert.match((mapped as { reason: string }).reason, /cannot be fetched here/);
});

Deno.test("mapServerArgs() passes a command line without a preset through unchanged", () => {
  const mapped = mapServerArgs(["-m", "/x.gguf", "--jinja"], MODELS);
  assert.deepEqual(mapped, {
    kind: "run",
    args: ["--server", "--nobrowser", "-m", "/x.gguf", "--jinja"],
  });
});

Deno.test("shellQuote() quotes what a shell would split or expand", () => {
  assert.equal(shellQuote("--port"), "--port");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
  assert.equal(shellQuote(""), "''");
});
