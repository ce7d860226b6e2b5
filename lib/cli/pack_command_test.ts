import assert from "node:assert/strict";
import { UsageError } from "./options.ts";
import { parsePackArgs } from "./pack_command.ts";

Deno.test("parsePackArgs() reads the create form with defaults", () => {
  assert.deepEqual(parsePackArgs(["-m", "a.gguf", "--args", "A", "-o", "out.llamafile"]), {
    kind: "create",
    model: "a.gguf",
    argsFile: "A",
    args: [],
    output: "out.llamafile",
    align: 65536,
    gpu: [],
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
      "--gpu",
      "vulkan,cuda",
      "--gpu=vulkan",
    ]),
    {
      kind: "create",
      model: "a.gguf",
      mmproj: "p.gguf",
      args: ["-n", "40"],
      output: "o",
      align: 4096,
      gpu: ["vulkan", "cuda"],
    },
  );
  assert.deepEqual(parsePackArgs(["--help"]), { kind: "help" });
});

Deno.test("parsePackArgs() reads --platform names and all", () => {
  const base = ["-m", "a.gguf", "-o", "o"];
  assert.deepEqual(parsePackArgs([...base, "--platform", "linux-x64,linux-arm64"]).kind, "create");
  const two = parsePackArgs([...base, "--platform=linux-arm64,linux-x64"]);
  assert.deepEqual(two.kind === "create" && two.platforms, ["linux-arm64", "linux-x64"]);
  const all = parsePackArgs([...base, "--platform", "all"]);
  assert.deepEqual(all.kind === "create" && all.platforms, ["linux-x64", "linux-arm64"]);
  const none = parsePackArgs(base);
  assert.ok(none.kind === "create" && !("platforms" in none));
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
    [["--add", "a", "b", "--gpu", "vulkan"], /takes only files/],
    [
      ["-m", "a.gguf", "-o", "x", "--gpu", "metal"],
      /for --gpu: must be one of vulkan, cuda, cuda-ext/,
    ],
    [["-m"], /needs a value/],
    [
      ["-m", "a.gguf", "-o", "x", "--platform", "win-x64"],
      /--platform: Unknown platform "win-x64"/,
    ],
    [["-m", "a.gguf", "-o", "x", "--platform", "linux-x64,linux-x64"], /named twice/],
    [["--add", "a", "b", "--platform", "all"], /takes only files/],
  ];
  for (const [argv, pattern] of bad) {
    assert.throws(
      () => parsePackArgs(argv),
      (e: Error) => e instanceof UsageError && pattern.test(e.message),
      argv.join(" "),
    );
  }
});
