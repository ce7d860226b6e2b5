// The cases of llama.cpp's tests/test-chat-auto-parser.cpp for calculate_diff_split,
// until_common_prefix and after_common_suffix, as tables.
import assert from "node:assert/strict";
import { afterCommonSuffix, calculateDiffSplit, untilCommonPrefix } from "./diff_split.ts";

const COHERE_PREFIX = "SOME_PREFIX";
const COHERE_SUFFIX = "|><|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>";
const CHATML = "<|im_start|>user\nHello<|im_end|>\n";
const TOOL_RESPONSE = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
  "<|im_start|>user\nSearch for files<|im_end|>\n" +
  "<|im_start|>assistant\n<think>\nLet me search.\n</think>\n\n" +
  "<tool_call>\n<function=search>\n</function>\n</tool_call><|im_end|>\n" +
  "<|im_start|>user\n<tool_response>\nNo files found\n</tool_response><|im_end|>\n";

// [left, right, prefix, left part, right part, suffix]
const SPLITS: [string, string, string, string, string, string][] = [
  ["hello world", "hello test", "hello ", "world", "test", ""],
  ["abc", "xyz", "", "abc", "xyz", ""],
  ["prefixA suffix", "prefixB suffix", "prefix", "A", "B", " suffix"],
  ["hello", "hello", "hello", "", "", ""],
  ["", "", "", "", "", ""],
  ["a", "a", "a", "", "", ""],
  [
    "<row><row><row><your><boat><gently>",
    "<row><row><row><your><boat><gently>",
    "<row><row><row><your><boat><gently>",
    "",
    "",
    "",
  ],
  ["abcdef", "abcxyz", "abc", "def", "xyz", ""],
  ["same", "sameagain", "same", "", "again", ""],
  ["test", "testing", "test", "", "ing", ""],
  ["123end", "456end", "", "123", "456", "end"],
  ["start", "end", "", "start", "end", ""],
  ["abcsuffix", "xyzsuffix", "", "abc", "xyz", "suffix"],
  ["helloXworld", "helloYworld", "hello", "X", "Y", "world"],
  ["ABCmiddleXYZ", "ABCdifferentXYZ", "ABC", "middle", "different", "XYZ"],
  ["startAend", "startBend", "start", "A", "B", "end"],
  ["aa", "ab", "a", "a", "b", ""],
  ["", "hello", "", "", "hello", ""],
  ["hello", "", "", "hello", "", ""],
  ["a", "", "", "a", "", ""],
  ["", "a", "", "", "a", ""],
  ["left", "right", "", "lef", "righ", "t"],
  ["123", "456", "", "123", "456", ""],
  ["a", "b", "", "a", "b", ""],
  ["a", "ab", "a", "", "b", ""],
  ["ab", "a", "a", "b", "", ""],
  ["testing", "test", "test", "ing", "", ""],
  ["Xtest", "Ytest", "", "X", "Y", "test"],
  ["testX", "testY", "test", "X", "Y", ""],
  ["abc", "cba", "", "abc", "cba", ""],
  ["prefix<tag>", "prefix</tag>suffix", "prefix", "<tag>", "</tag>suffix", ""],
  [
    "prefix<div>content</div>",
    "prefix<div>different</div>",
    "prefix<div>",
    "cont",
    "differ",
    "ent</div>",
  ],
  ["<tag>left</tag>", "<tag>righ</tag>", "<tag>", "left", "righ", "</tag>"],
  [
    "PREFIX</think>Sure",
    "PREFIX<think>Lemme think</think>Sure",
    "PREFIX",
    "",
    "<think>Lemme think",
    "</think>Sure",
  ],
  [
    CHATML,
    CHATML + "<|im_start|>assistant\n<think>\n",
    CHATML,
    "",
    "<|im_start|>assistant\n<think>\n",
    "",
  ],
];

Deno.test("calculateDiffSplit: upstream's cases", () => {
  for (const [left, right, ...expected] of SPLITS) {
    const d = calculateDiffSplit(left, right);
    assert.deepEqual([d.prefix, d.left, d.right, d.suffix], expected, `${left} | ${right}`);
  }
});

Deno.test("calculateDiffSplit: moves half markers to the side that completes them", () => {
  const unclosed = calculateDiffSplit("test<tag", "test>content");
  assert.ok(unclosed.prefix.startsWith("test"));
  assert.ok(unclosed.left !== "" || unclosed.right !== "" || unclosed.suffix !== "");
  const bracket = calculateDiffSplit("test[", "test]value");
  assert.ok(bracket.left !== "" || bracket.right !== "" || bracket.suffix !== "");
  const angle = calculateDiffSplit("Hello <world>", "Hello test");
  assert.equal(angle.prefix, "Hello ");
  assert.ok(angle.left.includes("<world>"));
  assert.equal(angle.right, "test");
  assert.equal(angle.suffix, "");
  const square = calculateDiffSplit("test [array]", "test other");
  assert.equal(square.prefix, "test ");
  assert.ok(square.left.includes("[array]"));
  assert.equal(square.right, "other");
  assert.equal(square.suffix, "");

  const left = "<|START_RESPONSE|>Let me help you.<|END_RESPONSE";
  const right = '<|START_THINKING|><|END_THINKING|><|START_ACTION|>[\n    {"tool_call_id": "0", ' +
    '"tool_name": "test_function_name", "parameters": {"param1": "value1", "param2": "value2"}}\n' +
    "]<|END_ACTION";
  const cohere = calculateDiffSplit(
    COHERE_PREFIX + left + COHERE_SUFFIX,
    COHERE_PREFIX + right + COHERE_SUFFIX,
  );
  assert.equal(cohere.prefix, COHERE_PREFIX);
  assert.equal(cohere.left, "<|START_RESPONSE|>Let me help you.<|END_RESPONSE|>");
  assert.ok(cohere.right.includes("<|END_ACTION|>"));
  assert.equal(cohere.suffix, "<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");

  const tool = calculateDiffSplit(
    TOOL_RESPONSE,
    TOOL_RESPONSE + "<|im_start|>assistant\n<think>\n",
  );
  assert.equal(tool.left, "");
  assert.equal(tool.right, "<|im_start|>assistant\n<think>\n");
});

Deno.test("untilCommonPrefix: the text of full before where a and b start alike", () => {
  const cases: [string, string, string, string][] = [
    [
      "<function name=foo><arg name=bar>",
      "<arg name=bar>",
      "<arg name=baz>",
      "<function name=foo>",
    ],
    ["prefix<test>suffix", "<test>different", "<test>other", "prefix"],
    ["<common>rest", "<common>left", "<common>right", ""],
    ["something", "left", "right", ""],
    ["test", "", "right", ""],
    ["abcXYZ<shared_prefix>rest", "<shared_prefix>left", "<shared_prefix>right", "abcXYZ"],
  ];
  for (const [full, a, b, expected] of cases) assert.equal(untilCommonPrefix(full, a, b), expected);
});

Deno.test("afterCommonSuffix: the text of full after where a and b end alike", () => {
  const cases: [string, string, string, string][] = [
    [
      "<function name=foo><arg name=bar>100</arg></function>",
      "<arg name=bar>100</arg>",
      "<arg name=baz>535</arg>",
      "</function>",
    ],
    ["rest<common>", "left<common>", "right<common>", ""],
    ["test", "left", "", ""],
    [
      "<outer><inner>value</inner></outer>",
      "<inner>value</inner>",
      "<inner>different</inner>",
      "</outer>",
    ],
    [
      "prefix<shared>rest</shared>",
      "prefix<shared>left</shared>",
      "prefix<shared>right</shared>",
      "",
    ],
    ["<tag>content</tag><extra>", "<tag>value</tag>", "<tag>other</tag>", "<extra>"],
    [
      "start<middle>end</middle>",
      "prefix<middle>left</middle>",
      "prefix<middle>right</middle>",
      "",
    ],
  ];
  for (const [full, a, b, expected] of cases) assert.equal(afterCommonSuffix(full, a, b), expected);
});
