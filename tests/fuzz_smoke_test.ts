/**
 * A short run of `deno task fuzz` and `deno task soak` with fixed seeds, so that CI keeps the
 * property the long runs measure: no input crashes the program, prints a stack trace, hangs,
 * answers 5xx or leaves the server unhealthy. The long figures (10,000 cases per target, a
 * 20-minute soak) are in the README; these cases are the first ones of those runs.
 */
import assert from "node:assert/strict";
import { summaryLine } from "../fuzz/counts.ts";
import { fuzz } from "../fuzz/run.ts";
import { formatSoak, soak } from "../fuzz/soak.ts";
import type { TargetName } from "../fuzz/targets.ts";

const CASES: Record<TargetName, number> = {
  gguf: 300,
  llamafile: 200,
  grammar: 200,
  schema: 200,
  http: 300,
  image: 100,
  projector: 100,
  lora: 100,
};

for (const [target, cases] of Object.entries(CASES) as [TargetName, number][]) {
  Deno.test(`fuzz ${target}: ${cases} seeded cases, no crash, stack trace, hang or 5xx`, async () => {
    const out = await Deno.makeTempDir({ prefix: `fuzz_smoke_${target}_` });
    try {
      const results = await fuzz({
        targets: [target],
        cases,
        seed: 1,
        jobs: 2,
        timeoutMs: 60_000,
        out,
        verbose: true,
      });
      const counts = results.get(target)!;
      const line = summaryLine(target, counts);
      assert.equal(counts.cases, cases, line);
      assert.equal(counts.outcomes.stack, 0, line);
      assert.equal(counts.outcomes.crash, 0, line);
      assert.equal(counts.outcomes.hang, 0, line);
      assert.equal(counts.serverErrors, 0, line);
      assert.equal(counts.unhealthy, 0, line);
      // The mutations reach past the first check: some cases are refused, some run.
      assert.ok(counts.outcomes.clean > 0, line);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("soak: one minute of 8 clients on -np 4, every request finished, no 5xx, /health always up", async () => {
  const report = await soak({ minutes: 1, streams: 8, seed: 1, log: () => {} });
  const lines = formatSoak(report).join("\n");
  console.log(lines);
  assert.ok(report.serverAlive, lines);
  assert.ok(report.completed > 0, lines);
  assert.ok(report.abandoned > 0, lines);
  assert.equal(report.neverFinished, 0, lines);
  assert.equal(report.unexpected5xx, 0, lines);
  assert.equal(report.healthFailures, 0, lines);
  assert.equal(report.failed["0"] ?? 0, 0, `connection failures\n${lines}`);
  assert.equal(report.failed["-1"] ?? 0, 0, `incomplete answers\n${lines}`);
});
