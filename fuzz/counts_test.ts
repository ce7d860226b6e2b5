import assert from "node:assert/strict";
import { caseIndexes } from "./counts.ts";

const base = { cases: 3, seed: 1, jobs: 1, timeoutMs: 1000, out: "x", verbose: false };

Deno.test("caseIndexes() covers --cases from --first, or the one --case", () => {
  assert.deepEqual(caseIndexes(base), [0, 1, 2]);
  assert.deepEqual(caseIndexes({ ...base, first: 3000 }), [3000, 3001, 3002]);
  assert.deepEqual(caseIndexes({ ...base, first: 3000, only: 7 }), [7]);
});
