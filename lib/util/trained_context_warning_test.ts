import assert from "node:assert/strict";
import { trainedContextWarning } from "./trained_context_warning.ts";

Deno.test("trainedContextWarning() warns only past the trained context", () => {
  assert.equal(trainedContextWarning(2048, 2048), null);
  assert.equal(trainedContextWarning(512, 2048), null);
  assert.equal(trainedContextWarning(4096, 0), null);
  assert.equal(
    trainedContextWarning(4096, 2048),
    "warning: the context of 4096 tokens exceeds the 2048 the model was trained on; " +
      "answers may degrade past 2048 tokens (-c 2048 stays within)",
  );
});
