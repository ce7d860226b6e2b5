/**
 * The app as JavaScript a llamafile runs with `deno run --cached-only` and no network, no
 * `node_modules` and no config: `deno bundle` of `cli.ts` with its npm dependencies (hono,
 * `@huggingface/jinja`, zod) inlined, made into one classic script (`app.script.js`) that a
 * tiny ES module (`app.js`, what `deno run` starts) evaluates.
 *
 * Why not run the bundle as a module: Deno parses every ES module it loads a second time, to
 * find its imports (its dependency-analysis cache, a SQLite database, is refused to the
 * sandboxed process: `lib/sandbox/deno_dir.ts`), and for a 1.1 MB bundle that parse was most of
 * a warm start (276 ms against 68 ms to `--help` on a busy 2-core machine, `deno run` of an
 * empty file 35 ms). A script given to an indirect `eval` is compiled by V8 alone, lazily.
 *
 * `deno bundle` needs esbuild, which Deno fetches from the npm registry the first time
 * (`@esbuild/linux-x64`) and then keeps in its cache (`DENO_DIR`).
 *
 * @module
 */

/** File name of the loader, the module `deno run` starts. */
export const APP_LOADER = "app.js";

/** File name of the app as one classic script, beside the loader. */
export const APP_SCRIPT = "app.script.js";

/**
 * The loader's text: reads {@linkcode APP_SCRIPT} beside itself and runs it with the
 * `import.meta` the bundle would have had (`url` of the script, `main` true).
 */
export const LOADER_TEXT = [
  "// llamafile.ts: runs app.script.js, the app as one classic script (see app_bundle.ts:",
  "// Deno would parse a 1 MB module twice, V8 compiles a script once, lazily).",
  `const url = new URL("./${APP_SCRIPT}", import.meta.url);`,
  "const run = (0, eval)(Deno.readTextFileSync(url));",
  "await run({ url: url.href, main: true });",
  "",
].join("\n");

/** Name of the parameter that stands for `import.meta` in the script. */
const META = "__llamafile_import_meta";

/**
 * The classic script for `bundle`, an ES module from `deno bundle`: its trailing export list
 * dropped, `import.meta` read from the wrapper's parameter, the whole wrapped in a strict
 * async function expression (top-level `await` stays valid) that the loader calls.
 *
 * @throws {Error} When the bundle has a static import (every dependency must be inlined, and
 *   `node:` modules imported where they are used), an export other than the trailing list, or
 *   an `import.meta` property other than `url` and `main`.
 */
export function appScript(bundle: string): string {
  const imports = /^import\s[^;]*?from\s*["']([^"']+)["']/m.exec(bundle) ??
    /^import\s*["']([^"']+)["']/m.exec(bundle);
  if (imports !== null) {
    throw new Error(
      `Cannot make the app a script: the bundle imports "${
        imports[1]
      }" statically (import it where it is used)`,
    );
  }
  const tail = /\nexport\s*\{[^}]*\};?\s*$/.exec(bundle);
  const body = tail === null ? bundle : bundle.slice(0, tail.index + 1);
  if (/^export\s/m.test(body)) {
    throw new Error("Cannot make the app a script: the bundle exports more than its last list");
  }
  const meta = /\bimport\.meta\b(?!\.(?:url|main)\b)/.exec(body);
  if (meta !== null) {
    throw new Error(
      `Cannot make the app a script: it uses "${
        body.slice(meta.index, meta.index + 20).split(/[^\w.]/)[0]
      }" (only import.meta.url and import.meta.main are given)`,
    );
  }
  return [
    `(async function (${META}) {`,
    '"use strict";',
    body.replaceAll(/\bimport\.meta\b/g, META),
    "})",
    `//# sourceURL=${APP_SCRIPT}`,
    "",
  ].join("\n");
}

/** The checkout this module is in (`cli.ts` and `deno.json` live there). */
export function checkoutRoot(): string {
  const url = new URL("../../", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(`Cannot find the checkout: this module was loaded from "${url.href}"`);
  }
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

/** Options of {@linkcode bundleApp}. */
export interface BundleAppOptions {
  /** The entry module (default `cli.ts` in the checkout). */
  entry?: string;
  /** The `deno` binary to bundle with (default the running one). */
  deno?: string;
}

/** The files {@linkcode bundleApp} wrote. */
export interface AppFiles {
  /** The loader, `<dir>/app.js`: what `deno run` starts. */
  loader: string;
  /** The app, `<dir>/app.script.js`. */
  script: string;
}

/**
 * Bundles the app into `dir` as {@linkcode APP_LOADER} and {@linkcode APP_SCRIPT}.
 * Deterministic: the same sources give the same bytes.
 *
 * @throws {Error} When `deno bundle` fails, with its output, or its output cannot be made a
 *   script (see {@linkcode appScript}).
 */
export async function bundleApp(dir: string, options: BundleAppOptions = {}): Promise<AppFiles> {
  const root = checkoutRoot();
  const entry = options.entry ?? `${root}/cli.ts`;
  const bundle = `${dir}/app.bundle.mjs`;
  const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--packages", "bundle", "-o", bundle, entry],
    cwd: root,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim() ||
      new TextDecoder().decode(output.stdout).trim();
    throw new Error(
      `Cannot bundle the app "${entry}": deno bundle exited with ${output.code}: ${text}`,
    );
  }
  const text = await Deno.readTextFile(bundle).catch(() => "");
  await Deno.remove(bundle).catch(() => {});
  if (text === "") {
    throw new Error(
      `Cannot bundle the app "${entry}": deno bundle wrote no output to "${bundle}"`,
    );
  }
  const files = { loader: `${dir}/${APP_LOADER}`, script: `${dir}/${APP_SCRIPT}` };
  await Deno.writeTextFile(files.script, appScript(text));
  await Deno.writeTextFile(files.loader, LOADER_TEXT);
  return files;
}
