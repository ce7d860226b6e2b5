import assert from "node:assert/strict";
import { appChunks, chunkScript, LOADER_TEXT } from "./app_bundle.ts";

/** What `deno bundle --code-splitting` writes: an entry and the chunks it imports. */
const MODULES = new Map([
  [
    "cli.js",
    [
      "import {",
      "  add,",
      "  base as start",
      '} from "./chunk-A.js";',
      'import "./chunk-B.js";',
      "async function main(args) { return add(start, args.length); }",
      "if (import.meta.main) {",
      '  const later = await import("./later-C.js");',
      "  globalThis.__appChunkTest = [await main([1, 2]), later.word, import.meta.url];",
      "}",
      "export {",
      "  main",
      "};",
      "",
    ].join("\n"),
  ],
  [
    "chunk-A.js",
    [
      "var base = 40;",
      "function add(a, b) { return a + b; }",
      "(globalThis.__appChunkOrder ??= []).push('A');",
      "export {",
      "  add,",
      "  base",
      "};",
      "",
    ].join("\n"),
  ],
  ["chunk-B.js", "(globalThis.__appChunkOrder ??= []).push('B');\n"],
  [
    "later-C.js",
    [
      "(globalThis.__appChunkOrder ??= []).push('C');",
      'var word = "later";',
      "export {",
      "  word",
      "};",
      "",
    ].join("\n"),
  ],
]);

/** Runs an app.script.js text as the loader does. */
async function runApp(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/app.script.js`, bytes);
    await Deno.writeTextFile(`${dir}/app.js`, LOADER_TEXT);
    await import(`file://${dir}/app.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("appChunks() puts the entry and its static imports first, and the loader runs them in module order, each once, a dynamic import when it runs", async () => {
  const text = appChunks("cli.js", MODULES);
  const header = JSON.parse(text.slice(0, text.indexOf("\n")));
  assert.equal(header.entry, "cli.js");
  assert.deepEqual(Object.keys(header.chunks), [
    "cli.js",
    "chunk-A.js",
    "chunk-B.js",
    "later-C.js",
  ]);
  // The core is the entry and what it imports statically: later-C.js is after it.
  assert.equal(header.core, header.chunks["chunk-B.js"][1]);
  assert.equal(header.size, header.chunks["later-C.js"][1]);
  assert.equal(new TextEncoder().encode(text).length, text.indexOf("\n") + 1 + header.size);
  assert.doesNotMatch(text, /\bimport\.meta\b|^export|^import /m);
  const g = globalThis as { __appChunkTest?: unknown; __appChunkOrder?: string[] };
  await runApp(text);
  assert.deepEqual(g.__appChunkOrder, ["A", "B", "C"]);
  const [sum, word, url] = g.__appChunkTest as [number, string, string];
  assert.deepEqual([sum, word], [42, "later"]);
  assert.match(url, /\/app\.script\.js$/);
  delete g.__appChunkTest;
  delete g.__appChunkOrder;
});

Deno.test("chunkScript() makes a chunk a strict async function whose exports are getters", async () => {
  const { script, imports } = chunkScript(
    "x.js",
    'import { a } from "./y.js";\nconst box = { n: a };\nfunction bump() { box.n++; }\nexport {\n  bump,\n  box as count\n};\n',
  );
  assert.deepEqual(imports, ["y.js"]);
  const load = (name: string) => Promise.resolve(name === "y.js" ? { a: 1 } : {});
  const exports = await (0, eval)(script)(load, {});
  assert.equal(exports.count.n, 1);
  exports.bump();
  assert.equal(exports.count.n, 2);
  // Strict mode, as the module was: assigning an undeclared name throws.
  await assert.rejects(
    (0, eval)(chunkScript("u.js", "undeclared = 1;\n").script)(load, {}),
    ReferenceError,
  );
});

Deno.test("appChunks() refuses a static import of a module, another export, other import.meta properties, a missing chunk or a cycle", () => {
  const one = (text: string) => () => appChunks("cli.js", new Map([["cli.js", text]]));
  assert.throws(
    one('import { createHash } from "node:crypto";\nvar a = 1;\n'),
    /imports "node:crypto" statically/,
  );
  assert.throws(one("export const a = 1;\nexport {\n  b\n};\n"), /exports more than its last list/);
  assert.throws(one("import.meta.resolve('x');\n"), /import\.meta\.resolve/);
  assert.throws(one('import "./gone.js";\n'), /imports "gone\.js", which is not a chunk/);
  assert.throws(one('const m = await import("./gone.js");\n'), /"gone\.js", which is not a chunk/);
  assert.throws(
    () =>
      appChunks(
        "cli.js",
        new Map([
          ["cli.js", 'import "./a.js";\n'],
          ["a.js", 'import "./b.js";\n'],
          ["b.js", 'import "./a.js";\n'],
        ]),
      ),
    /cycle through a\.js/,
  );
  assert.throws(
    one("let n = 0;\nfunction bump() { n = n + 1; }\nexport {\n  n\n};\n"),
    /exports "n", a variable it assigns again/,
  );
  // A dynamic import of a module stays: it is resolved when it runs.
  assert.match(
    appChunks("cli.js", new Map([["cli.js", 'const c = await import("node:crypto");\n']])),
    /import\("node:crypto"\)/,
  );
});

Deno.test("LOADER_TEXT reads app.script.js beside itself", () => {
  assert.match(LOADER_TEXT, /new URL\("\.\/app\.script\.js", import\.meta\.url\)/);
  assert.ok(LOADER_TEXT.length < 2000);
});
