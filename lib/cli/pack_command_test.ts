import assert from "node:assert/strict";
import { parseArgsFile } from "../onefile/args_file.ts";
import { UsageError } from "./options.ts";
import {
  argsFileQuote,
  composeArgsText,
  formatBytes,
  parsePackArgs,
  reservedEntryReason,
  runtimeHash,
  weightsEntryName,
} from "./pack_command.ts";

Deno.test("parsePackArgs() reads the create form with defaults", () => {
  assert.deepEqual(parsePackArgs(["-m", "a.gguf", "--args", "A", "-o", "out.llamafile"]), {
    kind: "create",
    model: "a.gguf",
    argsFile: "A",
    args: [],
    output: "out.llamafile",
    align: 65536,
  });
  assert.deepEqual(
    parsePackArgs([
      "--model=a.gguf",
      "--mmproj",
      "p.gguf",
      "--arg",
      "-n",
      "--arg=40",
      "--align",
      "4096",
      "--output",
      "o",
    ]),
    {
      kind: "create",
      model: "a.gguf",
      mmproj: "p.gguf",
      args: ["-n", "40"],
      output: "o",
      align: 4096,
    },
  );
  assert.deepEqual(parsePackArgs(["--help"]), { kind: "help" });
});

Deno.test("parsePackArgs() reads --add FILE... TO", () => {
  assert.deepEqual(parsePackArgs(["--add", "x.gguf", "y.txt", "to.llamafile"]), {
    kind: "add",
    files: ["x.gguf", "y.txt"],
    target: "to.llamafile",
    align: 65536,
  });
});

Deno.test("parsePackArgs() rejects bad usage with a UsageError", () => {
  const bad: [string[], RegExp][] = [
    [["-o", "x"], /needs the weights/],
    [["-m", "a.gguf"], /needs the output/],
    [["-m", "a.gguf", "-o", "x", "--args", "A", "--arg", "-n"], /not both/],
    [["-m", "a.gguf", "-o", "x", "--align", "16"], /power of 2 from 32 to 65536/],
    [["-m", "a.gguf", "-o", "x", "--align", "3000"], /power of 2/],
    [["-m", "a.gguf", "-o", "x", "--align", "131072"], /power of 2/],
    [["-m", "a.gguf", "-o", "x", "--frobnicate"], /Unknown pack option "--frobnicate"/],
    [["-m", "a.gguf", "-o", "x", "stray"], /Unexpected pack argument "stray"/],
    [["--add", "only.llamafile"], /at least one FILE/],
    [["--add", "a", "b", "-m", "c"], /takes only files/],
    [["-m"], /needs a value/],
  ];
  for (const [argv, pattern] of bad) {
    assert.throws(
      () => parsePackArgs(argv),
      (e: Error) => e instanceof UsageError && pattern.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test("argsFileQuote() round-trips through parseArgsFile()", () => {
  const words = [
    "-p",
    "Once upon a time",
    "it's",
    "#not a comment",
    "",
    "a\\b",
    'say "hi"',
    "...",
    "two\nlines",
  ];
  const text = words.map(argsFileQuote).join("\n");
  assert.deepEqual(parseArgsFile(text), words);
});

Deno.test("composeArgsText() names the model and projector when a projector is packed", () => {
  assert.equal(composeArgsText("-n 1\n", "m.gguf", undefined), "-n 1\n");
  assert.equal(composeArgsText(undefined, "m.gguf", undefined), "");
  assert.deepEqual(parseArgsFile(composeArgsText("-n 1\n...\n", "m.gguf", "p.gguf")), [
    "-m",
    "m.gguf",
    "--mmproj",
    "p.gguf",
    "-n",
    "1",
    "...",
  ]);
  assert.deepEqual(parseArgsFile(composeArgsText("--model=x.gguf\n", "m.gguf", "p.gguf")), [
    "--mmproj",
    "p.gguf",
    "--model=x.gguf",
  ]);
});

Deno.test("weightsEntryName() keeps the base name and ends it in .gguf", () => {
  assert.equal(weightsEntryName("../shared/models/stories260K.gguf"), "stories260K.gguf");
  assert.equal(weightsEntryName("/x/model.GGUF"), "model.GGUF");
  assert.equal(weightsEntryName("weights.bin"), "weights.bin.gguf");
});

Deno.test("reservedEntryReason() protects .args, the manifest and the runtime payload", () => {
  assert.match(reservedEntryReason(".args")!, /pack again with --args/);
  assert.match(reservedEntryReason(".manifest.sha256")!, /manifest/);
  assert.match(reservedEntryReason("runtime/linux-x64/deno")!, /runtime/);
  assert.equal(reservedEntryReason("extra.gguf"), null);
});

Deno.test("runtimeHash() depends on every name and hash, and is 16 hex digits", () => {
  const a = runtimeHash(
    new Map([["runtime/x/deno", "a".repeat(64)], ["runtime/x/app.js", "b".repeat(64)]]),
  );
  const b = runtimeHash(
    new Map([["runtime/x/app.js", "b".repeat(64)], ["runtime/x/deno", "a".repeat(64)]]),
  );
  const c = runtimeHash(
    new Map([["runtime/x/deno", "a".repeat(64)], ["runtime/x/app.js", "c".repeat(64)]]),
  );
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.equal(a, b);
  assert.notEqual(a, c);
});

Deno.test("formatBytes() uses decimal units", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1185376), "1.2 MB");
  assert.equal(formatBytes(4.5e9), "4.5 GB");
});
