// The cases of llama.cpp's tests/test-reasoning-budget.cpp (token ids as there; every token's
// text a whole character, as upstream's tests without a vocabulary read them).
import assert from "node:assert/strict";
import {
  ReasoningBudget,
  type ReasoningBudgetOptions,
  type ReasoningBudgetState,
  utf8Complete,
} from "./reasoning_budget.ts";

const WHOLE = new TextEncoder().encode("x");

/** Feeds `sequence`; returns the first and last index where a token was forced (-1: never). */
function forcing(options: ReasoningBudgetOptions, sequence: number[]): [number, number] {
  const budget = new ReasoningBudget(options);
  let first = -1;
  let last = -1;
  for (let i = 0; i < sequence.length; i++) {
    const forced = budget.forcedToken >= 0;
    budget.accept(sequence[i]!, WHOLE);
    if (forced) {
      if (first < 0) first = i;
      last = i;
    } else if (first >= 0) {
      break;
    }
  }
  return [first, last];
}

// [name, starts, ends, forced, budget, initial state, sequence, force start, force end]
const CASES: [
  string,
  number[][],
  number[][],
  number[],
  number,
  ReasoningBudgetState,
  number[],
  number,
  number,
][] = [
  [
    "natural end before budget exhausted",
    [[100]],
    [[101]],
    [102],
    5,
    "idle",
    [100, 50, 51, 101, 52],
    -1,
    -1,
  ],
  [
    "budget exhausted forcing",
    [[100]],
    [[101]],
    [102, 101],
    2,
    "idle",
    [100, 50, 51, 52, 53],
    3,
    4,
  ],
  [
    "activate immediately budget=0",
    [[100]],
    [[101]],
    [102, 101],
    0,
    "counting",
    [100, 50, 51, 52],
    0,
    1,
  ],
  ["no start/end configured", [[]], [[]], [102], 2, "idle", [50, 51, 52, 53], -1, -1],
  [
    "activate immediately with budget",
    [[100]],
    [[101]],
    [102, 101],
    2,
    "counting",
    [50, 51, 52, 53],
    2,
    3,
  ],
  [
    "multi-block re-arms budget after DONE",
    [[100]],
    [[101]],
    [102, 101],
    2,
    "idle",
    [100, 50, 101, 100, 60, 61, 62, 63],
    6,
    7,
  ],
  [
    "multiple start sequences",
    [[100], [110, 111]],
    [[101]],
    [102, 101],
    2,
    "idle",
    [110, 111, 50, 51, 52, 53],
    4,
    5,
  ],
  [
    "multiple end sequences",
    [[100]],
    [[101], [103, 104]],
    [102, 101],
    5,
    "idle",
    [100, 50, 103, 104, 52],
    -1,
    -1,
  ],
];

Deno.test("ReasoningBudget: forces the end sequence where upstream's cases do", () => {
  for (const [name, starts, ends, forced, budget, initial, sequence, start, end] of CASES) {
    const [first, last] = forcing({ starts, ends, forced, budget, initial }, sequence);
    assert.equal(first, start, `${name}: forcing starts`);
    if (end >= 0) assert.ok(last >= end, `${name}: forcing ends at ${last}, expected >= ${end}`);
  }
});

const BASE = { starts: [[100]], ends: [[101]], forced: [102, 101] };

Deno.test("ReasoningBudget.force: forces from counting only, and never rewinds", () => {
  const counting = new ReasoningBudget({ ...BASE, budget: 5 });
  counting.accept(100, WHOLE);
  counting.accept(50, WHOLE);
  assert.equal(counting.state, "counting");
  assert.equal(counting.force(), true);
  assert.equal(counting.forcedToken, 102);
  counting.accept(102, WHOLE);
  assert.equal(counting.forcedToken, 101);
  counting.accept(101, WHOLE);
  assert.equal(counting.state, "done");

  const idle = new ReasoningBudget({ ...BASE, budget: 5 });
  assert.equal(idle.force(), false);
  assert.equal(idle.state, "idle");

  const done = new ReasoningBudget({ ...BASE, budget: 5 });
  done.accept(100, WHOLE);
  done.accept(101, WHOLE);
  assert.equal(done.state, "done");
  assert.equal(done.force(), false);

  const forcing = new ReasoningBudget({ ...BASE, budget: 0, initial: "forcing" });
  assert.equal(forcing.forcedToken, 102);
  forcing.accept(102, WHOLE);
  assert.equal(forcing.force(), false);
  assert.equal(forcing.forcedToken, 101);
});

Deno.test("ReasoningBudget.endMatch: the end sequence that closed the block", () => {
  const natural = new ReasoningBudget({
    starts: [[100]],
    ends: [[101], [103, 104]],
    forced: [102, 101],
    budget: 5,
  });
  assert.equal(natural.endMatch, null);
  for (const t of [100, 50, 103, 104]) natural.accept(t, WHOLE);
  assert.deepEqual(natural.endMatch, [103, 104]);
  natural.accept(100, WHOLE); // re-armed
  assert.equal(natural.endMatch, null);

  const overlap = new ReasoningBudget({
    starts: [[100]],
    ends: [[104], [103, 104]],
    forced: [102, 104],
    budget: 5,
  });
  for (const t of [100, 103, 104]) overlap.accept(t, WHOLE);
  assert.deepEqual(overlap.endMatch, [103, 104]);

  const forced = new ReasoningBudget({
    starts: [[100]],
    ends: [[101], [103, 104]],
    forced: [102, 103, 104],
    budget: 0,
    initial: "forcing",
  });
  forced.accept(102, WHOLE);
  forced.accept(103, WHOLE);
  assert.equal(forced.endMatch, null);
  forced.accept(104, WHOLE);
  assert.deepEqual(forced.endMatch, [103, 104]);

  const unknown = new ReasoningBudget({
    starts: [[100]],
    ends: [[101], [103, 104]],
    forced: [102],
    budget: 0,
    initial: "forcing",
  });
  unknown.accept(102, WHOLE);
  assert.equal(unknown.state, "done");
  assert.equal(unknown.endMatch, null);
});

Deno.test("ReasoningBudget: a spent budget forces only after a token whose text ends on a whole character", () => {
  const budget = new ReasoningBudget({ ...BASE, budget: 1 });
  budget.accept(100, WHOLE);
  budget.accept(60, new Uint8Array([0x68, 0xe2, 0x80])); // "h" and 2 of 3 bytes of "“"
  assert.equal(budget.state, "waiting-utf8");
  assert.equal(budget.forcedToken, -1);
  budget.accept(61, new Uint8Array([0x9c])); // a piece that is not whole on its own either
  assert.equal(budget.state, "waiting-utf8");
  budget.accept(62, new TextEncoder().encode(" ok"));
  assert.equal(budget.state, "forcing");
  assert.equal(budget.forcedToken, 102);
});

Deno.test("utf8Complete: upstream's boundary cases", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const text = (s: string) => new TextEncoder().encode(s);
  for (
    const whole of [text("hello"), text(""), text("\u00a0"), text("“"), text("😀"), text("abcé")]
  ) {
    assert.equal(utf8Complete(whole), true);
  }
  for (
    const part of [
      bytes(0xc2),
      bytes(0xe2, 0x80),
      bytes(0xe2),
      bytes(0xf0, 0x9f, 0x98),
      bytes(0xf0, 0x9f),
      bytes(0xf0),
      bytes(0x80),
      bytes(...text("hello"), 0xc3),
    ]
  ) {
    assert.equal(utf8Complete(part), false, String(part));
  }
  assert.equal(utf8Complete(bytes(...text("hello"), 0xc3, 0xa9)), true);
});
