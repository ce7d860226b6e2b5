// The template cases of llama.cpp's tests/test-jinja.cpp (tests/data/chat_formats/
// jinja_cases.json, extracted by scripts/chat_reference.ts with what llama.cpp's own Jinja engine
// renders of each): our runtime must render the same text, but for the differences listed here.
import assert from "node:assert/strict";
import { parseJinja, renderJinja } from "../lib/engine/jinja_runtime.ts";

interface JinjaCase {
  name: string;
  template: string;
  vars: Record<string, unknown>;
  expect: string;
  native?: string;
  skip?: string;
  error?: string;
}

const CASES: JinjaCase[] = JSON.parse(
  await Deno.readTextFile(new URL("data/chat_formats/jinja_cases.json", import.meta.url)),
);

const TEST_ARGUMENTS =
  "tests with arguments (`x is divisibleby(2)`) do not parse in @huggingface/jinja";
const KEYS = "dict keys are strings or integers here (llama.cpp also takes none, floats, " +
  "booleans and tuples)";
const TUPLES = "tuples are lists here, and print as lists";

/** Cases we render otherwise, and why; none of the chat templates of llama.cpp relies on them. */
const KNOWN_DIFFERENCES: Record<string, string> = {
  "object comparison": KEYS,
  "set dict with mixed type keys": KEYS,
  "print dict with mixed type keys": KEYS,
  "dot notation (integer property)": "`{10: 'Bob'}.10` does not parse in @huggingface/jinja",
  "empty computed member defaults to undefined": "`a[]` does not parse in @huggingface/jinja",
  "empty computed member is undefined": "`a[]` does not parse in @huggingface/jinja",
  "tuple slice": TUPLES,
  "print array with mixed types": TUPLES,
  "is divisibleby": TEST_ARGUMENTS,
  "is eq": TEST_ARGUMENTS,
  "is not equalto": TEST_ARGUMENTS,
  "is ge": TEST_ARGUMENTS,
  "is gt": TEST_ARGUMENTS,
  "is greaterthan": TEST_ARGUMENTS,
  "is lt": TEST_ARGUMENTS,
  "is lessthan": TEST_ARGUMENTS,
  "is ne": TEST_ARGUMENTS,
  "is in (array, true)": TEST_ARGUMENTS,
  "is in (array, false)": TEST_ARGUMENTS,
  "is in (string)": TEST_ARGUMENTS,
  "is in (object keys)": TEST_ARGUMENTS,
  "object attribute and key access":
    "a dict's own key named like a method (`keys`) hides the method",
};

function render(c: JinjaCase): string {
  try {
    return renderJinja(parseJinja(c.template), c.vars);
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

Deno.test("renderJinja: renders upstream's test-jinja.cpp cases as llama.cpp's engine does", () => {
  const native = CASES.filter((c) => c.native !== undefined);
  assert.ok(native.length >= 270, `${native.length} cases rendered natively`);
  const wrong = native
    .filter((c) => !(c.name in KNOWN_DIFFERENCES))
    .filter((c) => render(c) !== c.native)
    .map((c) => `${c.name}: ${JSON.stringify(c.template)} gave ${JSON.stringify(render(c))}`);
  assert.deepEqual(wrong, []);
});

Deno.test("renderJinja: the known differences from llama.cpp's engine are still differences", () => {
  for (const name of Object.keys(KNOWN_DIFFERENCES)) {
    const c = CASES.find((x) => x.name === name);
    assert.ok(c?.native !== undefined, `${name} is a case llama.cpp renders`);
    assert.notEqual(render(c), c.native, `${name} now renders as llama.cpp: drop it from the list`);
  }
});
