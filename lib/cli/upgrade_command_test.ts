import assert from "node:assert/strict";
import { UsageError } from "./options.ts";
import { parseUpgradeArgs } from "./upgrade_command.ts";

Deno.test("parseUpgradeArgs() reads OLD -o NEW, --platform and --align", () => {
  assert.deepEqual(parseUpgradeArgs(["old.llamafile", "-o", "new.llamafile"]), {
    kind: "upgrade",
    input: "old.llamafile",
    output: "new.llamafile",
    align: 65536,
  });
  assert.deepEqual(
    parseUpgradeArgs(["--output=n", "--platform", "all", "--align", "4096", "o"]),
    {
      kind: "upgrade",
      input: "o",
      output: "n",
      align: 4096,
      platforms: ["linux-x64", "linux-arm64"],
    },
  );
  assert.deepEqual(parseUpgradeArgs(["-h"]), { kind: "help" });
});

Deno.test("parseUpgradeArgs() rejects bad usage with a UsageError", () => {
  const bad: [string[], RegExp][] = [
    [["-o", "n"], /needs the old llamafile/],
    [["old"], /needs the output: -o NEW\.llamafile/],
    [["a", "b", "-o", "n"], /takes one old llamafile, not 2/],
    [["a", "-o", "n", "--platform", "mac"], /Unknown platform "mac"/],
    [["a", "-o", "n", "-m", "x.gguf"], /Unknown upgrade option "-m"/],
  ];
  for (const [argv, pattern] of bad) {
    assert.throws(
      () => parseUpgradeArgs(argv),
      (e: Error) => e instanceof UsageError && pattern.test(e.message),
      argv.join(" "),
    );
  }
});
