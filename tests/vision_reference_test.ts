/**
 * Our CLI against llama.cpp's own `llama-mtmd-cli` built from the same release (what
 * `deno task vision-reference` runs): for two images (a JPEG and a PNG) and two prompts at
 * `--temp 0`, the same answer, byte for byte. The answers differ from one another, so the
 * comparison is not of four copies of one text.
 *
 * @module
 */
import assert from "node:assert/strict";
import { compareWithReference, REFERENCE_PROMPTS } from "../scripts/vision_reference.ts";
import { visionFiles } from "./vision_helpers.ts";

Deno.test("llamafile --image answers byte for byte as llama.cpp's llama-mtmd-cli (JPEG and PNG, two prompts)", async () => {
  const files = await visionFiles({ reference: true });
  try {
    const { comparisons } = await compareWithReference({ pair: files });
    assert.equal(comparisons.length, 2 * REFERENCE_PROMPTS.length);
    assert.deepEqual(
      [...new Set(comparisons.map((c) => c.image.split(".").pop()))].sort(),
      ["jpeg", "png"],
    );
    for (const c of comparisons) {
      assert.ok(c.ours.length > 0, `no answer for ${c.image} ${c.prompt}`);
      assert.ok(
        c.identical,
        `${c.image} ${JSON.stringify(c.prompt)}:\n  ours:      ${
          JSON.stringify(c.ours)
        }\n  reference: ${JSON.stringify(c.referenceStdout)}`,
      );
      assert.equal(c.reference, c.ours);
    }
    assert.equal(new Set(comparisons.map((c) => c.ours)).size, comparisons.length);
  } finally {
    await files.close();
  }
});
