import assert from "node:assert/strict";
import { closestName, editDistance, parseArgs, UsageError } from "./option_table.ts";
import { CLI_TABLE, parseCliArgs } from "./options.ts";
import { INFO_TABLE } from "./options/info.ts";

Deno.test("editDistance() counts inserts, deletes, substitutions and swaps", () => {
  assert.equal(editDistance("temp", "temp"), 0);
  assert.equal(editDistance("tmep", "temp"), 1);
  assert.equal(editDistance("tem", "temp"), 1);
  assert.equal(editDistance("temps", "temp"), 1);
  assert.equal(editDistance("tamp", "temp"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("ctx-sise", "ctx-size"), 1);
});

Deno.test("closestName() guesses typos and wrong dashes, and stays quiet otherwise", () => {
  const names = CLI_TABLE.sections.flatMap((s) => s.specs.flatMap((spec) => spec.names));
  assert.equal(closestName("--tmep", names), "--temp");
  assert.equal(closestName("-temp", names), "--temp");
  assert.equal(closestName("--ctx-sise", names), "--ctx-size");
  assert.equal(closestName("--no-browser", names), "--nobrowser");
  assert.equal(closestName("--severr", names), "--server");
  assert.equal(closestName("-x", names), null);
  assert.equal(closestName("--frobnicate", names), null);
});

Deno.test("parseArgs() suggests the option a typo meant", () => {
  assert.throws(
    () => parseCliArgs(["--tmep", "0"]),
    (e: Error) =>
      e instanceof UsageError && e.message === 'Unknown option "--tmep" (did you mean --temp?)',
  );
  assert.throws(
    () => parseCliArgs(["--ctx-sise=8"]),
    (e: Error) => e.message === 'Unknown option "--ctx-sise=8" (did you mean --ctx-size?)',
  );
  assert.throws(
    () => parseArgs(INFO_TABLE, ["--sandbx"]),
    (e: Error) => e.message === 'Unknown info option "--sandbx" (did you mean --sandbox?)',
  );
  assert.throws(() => parseCliArgs(["-Z"]), (e: Error) => e.message === 'Unknown option "-Z"');
});
