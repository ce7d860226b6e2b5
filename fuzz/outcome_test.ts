import assert from "node:assert/strict";
import { classifyCli } from "./outcome.ts";

const run = (code: number, stderr: string, extra = {}) => ({
  code,
  signal: null,
  stderr,
  timedOut: false,
  ...extra,
});

Deno.test("classifyCli() tells ok, clean errors, stack traces, crashes and hangs apart", () => {
  assert.equal(classifyCli(run(0, "llamafile: prompt 4 tokens ...\n")), "ok");
  assert.equal(classifyCli(run(1, 'llamafile: Cannot load model "x": bad GGUF magic\n')), "clean");
  assert.equal(
    classifyCli(run(1, "llamafile: warning: something\nllamafile: Cannot load model\n")),
    "clean",
  );
  assert.equal(classifyCli(run(1, "llamafile: a\nllamafile: b\n")), "stack", "two errors");
  assert.equal(
    classifyCli(
      run(2, "llamafile: Unknown option \"-x\"\nTry 'llamafile --help' for more information.\n"),
    ),
    "clean",
    "a usage error and its hint",
  );
  assert.equal(
    classifyCli(run(1, "error: Uncaught TypeError: x\n    at f (file.ts:1:1)\n")),
    "stack",
  );
  assert.equal(classifyCli(run(1, "src/llama.cpp:1: GGML_ASSERT(x) failed\n")), "stack");
  assert.equal(classifyCli(run(134, "")), "crash");
  assert.equal(
    classifyCli(
      run(1, 'llamafile: Cannot load model "x": ... (libllama aborted): GGML_ASSERT(y)\n'),
    ),
    "crash",
    "a contained abort is still a crash of native code",
  );
  assert.equal(classifyCli(run(0, "", { signal: "SIGSEGV" })), "crash");
  assert.equal(classifyCli(run(0, "", { timedOut: true })), "hang");
});
