/**
 * A few files of llama.cpp's own server tests (`deno task conformance`), so CI keeps them
 * passing: the server's start with llama-server's flags, tokenize, ignore_eos, and slot
 * save/restore under the sandbox. Each must pass whole, but for the tests counted apart (a
 * model that cannot exist here). About 40 s on an idle 2-core machine.
 */
import assert from "node:assert/strict";
import { runConformance } from "../conformance/run.ts";

Deno.test({
  name: "llama.cpp's server tests test_basic, test_tokenize, test_ignore_eos, test_slot_save pass",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const lines: string[] = [];
    const results = await runConformance({
      files: ["test_basic", "test_tokenize", "test_ignore_eos", "test_slot_save"],
      log: (line) => lines.push(line),
    });
    const byFile = Object.fromEntries(results.map((r) => [r.file, r]));
    for (const r of results) {
      assert.equal(r.error, undefined, `${r.file}: ${r.error}`);
      assert.deepEqual(r.failed, [], `${r.file} failed:\n${lines.join("\n")}`);
      assert.deepEqual(r.clientUnavailable, []);
    }
    assert.equal(byFile["test_basic.py"]!.passed, 7);
    assert.deepEqual(
      byFile["test_basic.py"]!.modelUnavailable.map((t) => t.test),
      ["unit/test_basic.py::test_load_split_model"],
    );
    assert.equal(byFile["test_tokenize.py"]!.passed, 3);
    assert.equal(byFile["test_ignore_eos.py"]!.passed, 2);
    assert.equal(byFile["test_slot_save.py"]!.passed, 3);
    assert.equal(byFile["test_slot_save.py"]!.modelUnavailable.length, 6);
  },
});
