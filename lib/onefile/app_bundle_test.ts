import assert from "node:assert/strict";
import { appScript, LOADER_TEXT } from "./app_bundle.ts";

const BUNDLE = [
  "var x = 40;",
  "async function main(args) { return x + args.length; }",
  "if (import.meta.main) { globalThis.__appScriptTest = [await main([1, 2]), import.meta.url]; }",
  "export {",
  "  main",
  "};",
  "",
].join("\n");

Deno.test("appScript() makes a bundle a strict async function that gets import.meta from its caller", async () => {
  const script = appScript(BUNDLE);
  assert.doesNotMatch(script, /\bimport\.meta\b|^export/m);
  const run = (0, eval)(script);
  await run({ url: "file:///x/app.script.js", main: true });
  const g = globalThis as { __appScriptTest?: unknown };
  assert.deepEqual(g.__appScriptTest, [42, "file:///x/app.script.js"]);
  delete g.__appScriptTest;
  // Strict mode, as the module was: assigning an undeclared name throws.
  await assert.rejects((0, eval)(appScript("undeclared = 1;\n"))({}), ReferenceError);
});

Deno.test("appScript() refuses a bundle with a static import, another export or other import.meta properties", () => {
  assert.throws(
    () => appScript('import { createHash } from "node:crypto";\nvar a = 1;\n'),
    /imports "node:crypto" statically/,
  );
  assert.throws(() => appScript('import "./side.js";\n'), /imports "\.\/side\.js" statically/);
  assert.throws(
    () => appScript("export const a = 1;\nexport {\n  b\n};\n"),
    /exports more than its last list/,
  );
  assert.throws(() => appScript("import.meta.resolve('x');\n"), /import\.meta\.resolve/);
  // A dynamic import stays: it is resolved when it runs.
  assert.match(appScript('const c = await import("node:crypto");\n'), /import\("node:crypto"\)/);
});

Deno.test("LOADER_TEXT reads app.script.js beside itself", () => {
  assert.match(LOADER_TEXT, /new URL\("\.\/app\.script\.js", import\.meta\.url\)/);
  assert.ok(LOADER_TEXT.length < 1000);
});
