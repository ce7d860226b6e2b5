import assert from "node:assert/strict";
import { failureLine, formatReport, summarize, type TestRecord } from "./report.ts";

const record = (test: string, outcome: TestRecord["outcome"], extra: Partial<TestRecord> = {}) => ({
  test,
  outcome,
  when: "call" as const,
  category: null,
  message: "",
  ...extra,
});

Deno.test("summarize() counts client and model unavailability apart from failures", () => {
  const result = summarize("test_x.py", [
    record("unit/test_x.py::a", "passed"),
    record("unit/test_x.py::b", "failed", { message: "x\nE   assert 1 == 2\nE   more" }),
    record("unit/test_x.py::c", "failed", { category: "client unavailable" }),
    record("unit/test_x.py::d", "failed", { message: "E   RuntimeError: died" }),
    record("unit/test_x.py::e", "skipped"),
  ], [{ test: "unit/test_x.py::d", reason: "no such model here" }]);
  assert.equal(result.passed, 1);
  assert.equal(result.skipped, 1);
  assert.deepEqual(result.failed, [{ test: "unit/test_x.py::b", reason: "assert 1 == 2" }]);
  assert.equal(result.clientUnavailable.length, 1);
  assert.deepEqual(result.modelUnavailable, [{
    test: "unit/test_x.py::d",
    reason: "no such model here",
  }]);
});

Deno.test("failureLine() adds what the server said when it died", () => {
  const text = "E   RuntimeError: Server process died with return code 2\n" +
    'E   server said: llamafile: Unknown option "--x"';
  assert.equal(
    failureLine(text),
    'RuntimeError: Server process died with return code 2; server said: llamafile: Unknown option "--x"',
  );
});

Deno.test("formatReport() prints a row per file and a total", () => {
  const text = formatReport([
    summarize("test_a.py", [record("unit/test_a.py::x", "passed")], []),
    summarize("test_b.py", [record("unit/test_b.py::y", "failed", { message: "E   boom" })], []),
  ]);
  assert.match(text, /\| test_a\.py \|\s+1 \|\s+1 \|\s+0 \|/);
  assert.match(text, /\| total\s+\|\s+2 \|\s+1 \|\s+1 \|/);
  assert.match(text, /test_b\.py::y: boom/);
});
