import assert from "node:assert/strict";
import {
  ARGS_SPLICE,
  argsFileQuote,
  composeArgsText,
  mergeArgs,
  parseArgsFile,
} from "./args_file.ts";

Deno.test("parseArgsFile() splits on spaces, tabs and newlines", () => {
  assert.deepEqual(parseArgsFile("-m model.gguf\n--temp\t0.7\r\n\n  -n 50  "), [
    "-m",
    "model.gguf",
    "--temp",
    "0.7",
    "-n",
    "50",
  ]);
  assert.deepEqual(parseArgsFile(""), []);
  assert.deepEqual(parseArgsFile(" \n\t\n"), []);
  assert.deepEqual(parseArgsFile("\ufeff-m x"), ["-m", "x"], "a byte order mark is ignored");
});

Deno.test("parseArgsFile() reads llamafile's one-argument-per-line layout", () => {
  const text = "-m\nmistral-7b-instruct-v0.2.Q4_0.gguf\n--host\n0.0.0.0\n-ngl\n9999\n...\n";
  assert.deepEqual(parseArgsFile(text), [
    "-m",
    "mistral-7b-instruct-v0.2.Q4_0.gguf",
    "--host",
    "0.0.0.0",
    "-ngl",
    "9999",
    ARGS_SPLICE,
  ]);
});

Deno.test("parseArgsFile() keeps single-quoted text literally", () => {
  assert.deepEqual(parseArgsFile(`-p 'Once upon a time' --x '\\n "q" # $HOME'`), [
    "-p",
    "Once upon a time",
    "--x",
    `\\n "q" # $HOME`,
  ]);
  assert.deepEqual(parseArgsFile("'two\nlines'"), ["two\nlines"]);
  assert.deepEqual(parseArgsFile("'' a"), ["", "a"], "an empty quoted word is a word");
});

Deno.test("parseArgsFile() handles double quotes with backslash escapes", () => {
  assert.deepEqual(parseArgsFile(String.raw`"say \"hi\"" "back\\slash" "\$x \` \n \q"`), [
    'say "hi"',
    "back\\slash",
    "$x ` \\n \\q",
  ]);
  assert.deepEqual(parseArgsFile('"a\\\nb"'), ["ab"], "backslash-newline is removed");
  assert.deepEqual(parseArgsFile('"# not a comment"'), ["# not a comment"]);
  assert.deepEqual(parseArgsFile('""'), [""]);
});

Deno.test("parseArgsFile() handles backslash escapes outside quotes", () => {
  assert.deepEqual(parseArgsFile(String.raw`a\ b \#c \'d\' e\\f \"g`), [
    "a b",
    "#c",
    "'d'",
    "e\\f",
    '"g',
  ]);
  assert.deepEqual(
    parseArgsFile("--one \\\n--two"),
    ["--one", "--two"],
    "backslash-newline joins lines",
  );
  assert.deepEqual(parseArgsFile("ab\\\ncd"), ["abcd"]);
  assert.deepEqual(parseArgsFile("a \\\r\nb"), ["a", "b"], "CRLF continuation");
});

Deno.test("parseArgsFile() joins adjacent quoted and plain parts", () => {
  assert.deepEqual(parseArgsFile(`--prompt='a b'c"d e"`), ["--prompt=a bcd e"]);
  assert.deepEqual(parseArgsFile(`x'#'y`), ["x#y"]);
});

Deno.test("parseArgsFile() skips comments only at the start of a word", () => {
  const text = [
    "# default arguments",
    "-m model.gguf # the weights",
    "  # indented comment 'with an unterminated quote",
    "--color#notacomment",
    "-p a#b",
    "#",
    "-n 5",
  ].join("\n");
  assert.deepEqual(parseArgsFile(text), [
    "-m",
    "model.gguf",
    "--color#notacomment",
    "-p",
    "a#b",
    "-n",
    "5",
  ]);
  assert.deepEqual(parseArgsFile("a # trailing comment without newline"), ["a"]);
});

Deno.test("parseArgsFile() throws SyntaxError naming the line of an unterminated quote", () => {
  assert.throws(() => parseArgsFile("-m x\n-p 'open\nstill open"), {
    name: "SyntaxError",
    message: `Cannot parse ".args": unterminated single quote on line 2`,
  });
  assert.throws(() => parseArgsFile('a\nb\n"never closed\n\n'), {
    name: "SyntaxError",
    message: `Cannot parse ".args": unterminated double quote on line 3`,
  });
  assert.throws(() => parseArgsFile('"escaped at end\\"'), /unterminated double quote on line 1/);
  assert.throws(() => parseArgsFile("x\\", "model.llamafile/.args"), {
    name: "SyntaxError",
    message: `Cannot parse "model.llamafile/.args": backslash at the end of the text on line 1`,
  });
});

Deno.test("parseArgsFile() counts lines inside quotes for later errors", () => {
  assert.throws(() => parseArgsFile("'a\nb'\n\"c\nd\"\n'x"), /unterminated single quote on line 5/);
});

Deno.test("parseArgsFile() allows one ... marker and rejects a second", () => {
  assert.deepEqual(parseArgsFile("-m x ... -c 2048"), ["-m", "x", ARGS_SPLICE, "-c", "2048"]);
  assert.deepEqual(parseArgsFile("....  .. '...x'"), ["....", "..", "...x"]);
  assert.throws(() => parseArgsFile("...\n-m x\n..."), {
    name: "SyntaxError",
    message: `Cannot parse ".args": "..." appears again on line 3 (first on line 1)`,
  });
});

Deno.test("mergeArgs() splices user arguments at ... or appends them", () => {
  assert.deepEqual(mergeArgs(["-m", "x", "...", "-c", "2048"], ["-p", "hi"]), [
    "-m",
    "x",
    "-p",
    "hi",
    "-c",
    "2048",
  ]);
  assert.deepEqual(mergeArgs(["-m", "x"], ["-p", "hi"]), ["-m", "x", "-p", "hi"]);
  assert.deepEqual(mergeArgs(["..."], []), []);
  assert.deepEqual(mergeArgs([], ["a"]), ["a"]);
  assert.deepEqual(mergeArgs(["a", "...", "b", "...", "c"], ["u"]), ["a", "u", "b", "c"]);
  const defaults = ["-m", "x", "..."];
  const user = ["-n", "1"];
  mergeArgs(defaults, user);
  assert.deepEqual(defaults, ["-m", "x", "..."], "inputs are not modified");
  assert.deepEqual(user, ["-n", "1"]);
});

Deno.test("mergeArgs() keeps later user flags after the defaults they override", () => {
  // llama.cpp options take the last value: user arguments placed after the defaults win.
  const merged = mergeArgs(parseArgsFile("--temp 0.8\n-n 100\n"), ["--temp", "0"]);
  assert.deepEqual(merged, ["--temp", "0.8", "-n", "100", "--temp", "0"]);
  assert.equal(merged.lastIndexOf("--temp"), 4);
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
