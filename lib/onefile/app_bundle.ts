/**
 * The app as JavaScript a llamafile runs with `deno run --cached-only` and no network, no
 * `node_modules` and no config: `deno bundle --code-splitting` of `cli.ts` with its npm
 * dependencies (hono, `@huggingface/jinja`, zod) inlined, its chunks made into classic scripts
 * and stored in one file (`app.script.js`) that a tiny ES module (`app.js`, what `deno run`
 * starts) reads.
 *
 * Why not run the bundle as modules: Deno parses every ES module it loads a second time, to
 * find its imports (its dependency-analysis cache, a SQLite database, is refused to the
 * sandboxed process: `lib/sandbox/deno_dir.ts`); the chunks as modules took 48 ms to `main`
 * against 24 ms as one script. A script given to an indirect `eval` is compiled by V8 alone.
 *
 * Why chunks: V8 compiles what it is given, about 13 ms for the whole 1.6 MB app on this
 * machine, and a prompt on the command line needs a quarter of it. Each chunk is compiled the
 * first time it is imported: the server, the chat formats, packing and the terminal chat cost
 * nothing to a run that does not use them. The file is read whole once, so a chunk imported
 * after the sandbox is on needs no file.
 *
 * `app.script.js` is one JSON line, `{"entry": NAME, "core": C, "size": S, "chunks": {NAME:
 * [start, end]}}` (byte ranges after that line), then the chunks: the entry and the chunks it
 * imports statically (its first `C` bytes, read before it runs), then the others (read
 * meanwhile, off the JS thread; a chunk among them is run once they are in). A chunk is `(async function (chunk, meta) {...})`:
 * its static imports became `const { a: b } = await chunk("NAME")` (in their order, so chunks
 * run in the order ES modules would), its dynamic `import("./NAME")` became `chunk("NAME")`,
 * `import.meta` is `meta`, and its export list is returned as getters.
 *
 * `deno bundle` needs esbuild, which Deno fetches from the npm registry the first time
 * (`@esbuild/linux-x64`) and then keeps in its cache (`DENO_DIR`).
 *
 * @module
 */

/** File name of the loader, the module `deno run` starts. */
export const APP_LOADER = "app.js";

/** File name of the app's chunks, beside the loader. */
export const APP_SCRIPT = "app.script.js";

/**
 * The loader's text: reads {@linkcode APP_SCRIPT} beside itself and runs its entry chunk,
 * which imports the others through `load`, each compiled and run once.
 */
export const LOADER_TEXT = [
  "// llamafile.ts: runs the app from app.script.js, a header line then chunks, each a classic",
  "// script compiled when first imported (see app_bundle.ts). The chunks the entry imports come",
  "// first and are read now; the others are read meanwhile, off this thread.",
  `const url = new URL("./${APP_SCRIPT}", import.meta.url);`,
  "const file = Deno.openSync(url);",
  "const head = new Uint8Array(1 << 16);",
  "let got = file.readSync(head) ?? 0;",
  "const eol = head.subarray(0, got).indexOf(10);",
  "const { entry, core, size, chunks } = JSON.parse(new TextDecoder().decode(head.subarray(0, eol)));",
  "const bytes = new Uint8Array(eol + 1 + size);",
  "bytes.set(head.subarray(0, Math.min(got, bytes.length)));",
  "const short = () => new Error(`Cannot run the app: ${url.pathname} is truncated`);",
  "for (let n; got < eol + 1 + core; got += n) if (!(n = file.readSync(bytes.subarray(got)))) throw short();",
  "const rest = (async () => {",
  "  try {",
  "    for (let n; got < bytes.length; got += n) if (!(n = await file.read(bytes.subarray(got)))) throw short();",
  "  } finally {",
  "    file.close();",
  "  }",
  "})();",
  "rest.catch(() => {});",
  "const loaded = new Map();",
  "const load = (name) => {",
  "  let chunk = loaded.get(name);",
  "  if (chunk === undefined) {",
  "    const [start, end] = chunks[name];",
  "    const run = () =>",
  "      (0, eval)(new TextDecoder().decode(bytes.subarray(eol + 1 + start, eol + 1 + end)))(load, {",
  "        url: url.href,",
  "        main: name === entry,",
  "      });",
  "    chunk = end <= core ? run() : rest.then(run);",
  "    loaded.set(name, chunk);",
  "  }",
  "  return chunk;",
  "};",
  "await load(entry);",
  "",
].join("\n");

/** Names of the parameters that stand for the chunk loader and `import.meta` in a chunk. */
const LOAD = "__llamafile_chunk";
const META = "__llamafile_import_meta";

const IMPORT_LIST = /^import\s*\{([^}]*)\}\s*from\s*"\.\/([\w.-]+)";?[ \t]*$/gm;
const IMPORT_BARE = /^import\s*"\.\/([\w.-]+)";?[ \t]*$/gm;
const IMPORT_NAMESPACE = /^import\s*\*\s*as\s+([\w$]+)\s+from\s*"\.\/([\w.-]+)";?[ \t]*$/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*"\.\/([\w.-]+)"\s*\)/g;

/** `a, b as c` as `[[local, exported]]`: `[["a", "a"], ["b", "c"]]`. */
function specifiers(list: string): [string, string][] {
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const [local, exported] = s.split(/\s+as\s+/);
    return [local!, exported ?? local!];
  });
}

/** A chunk as the classic script described in the module's note, and the chunks it imports. */
export function chunkScript(name: string, module: string): { script: string; imports: string[] } {
  const imports: string[] = [];
  let body = module
    .replaceAll(IMPORT_LIST, (_, list: string, from: string) => {
      imports.push(from);
      const names = specifiers(list).map(([exported, local]) =>
        exported === local ? local : `${exported}: ${local}`
      );
      return `const { ${names.join(", ")} } = await ${LOAD}(${JSON.stringify(from)});`;
    })
    .replaceAll(IMPORT_NAMESPACE, (_, local: string, from: string) => {
      imports.push(from);
      return `const ${local} = await ${LOAD}(${JSON.stringify(from)});`;
    })
    .replaceAll(IMPORT_BARE, (_, from: string) => {
      imports.push(from);
      return `await ${LOAD}(${JSON.stringify(from)});`;
    });
  const left = /^import\s[^;]*?from\s*["']([^"']+)["']/m.exec(body) ??
    /^import\s*["']([^"']+)["']/m.exec(body);
  if (left !== null) {
    throw new Error(
      `Cannot make the app's chunk ${name} a script: it imports "${
        left[1]
      }" statically (import it where it is used)`,
    );
  }
  body = body.replaceAll(DYNAMIC_IMPORT, (_, from: string) => `${LOAD}(${JSON.stringify(from)})`);
  const tail = /\nexport\s*\{([^}]*)\};?\s*$/.exec(body);
  const exports = tail === null ? [] : specifiers(tail[1]!);
  if (tail !== null) body = body.slice(0, tail.index + 1);
  if (/^export\s/m.test(body)) {
    throw new Error(
      `Cannot make the app's chunk ${name} a script: it exports more than its last list`,
    );
  }
  const meta = /\bimport\.meta\b(?!\.(?:url|main)\b)/.exec(body);
  if (meta !== null) {
    throw new Error(
      `Cannot make the app's chunk ${name} a script: it uses "${
        body.slice(meta.index, meta.index + 20).split(/[^\w.]/)[0]
      }" (only import.meta.url and import.meta.main are given)`,
    );
  }
  for (const [local] of exports) {
    // An importer keeps the value it found when it ran (`const { a } = ...`), not a live binding.
    const escaped = local.replaceAll("$", "\\$");
    const assigned = body.match(
      new RegExp(`(?<![\\w$.])${escaped}\\s*(?:=(?![=>])|\\+\\+|--|[-+*/|&?]{1,2}=)`, "g"),
    );
    if (
      new RegExp(`^(?:let|var)\\s+${escaped}\\b`, "m").test(body) && (assigned?.length ?? 0) > 1
    ) {
      throw new Error(
        `Cannot make the app's chunk ${name} a script: it exports "${local}", a variable it assigns again (importers would keep its first value: export a function that reads it)`,
      );
    }
  }
  const getters = exports.map(([local, exported]) =>
    `get ${JSON.stringify(exported)}() { return ${local}; }`
  );
  return {
    imports,
    script: [
      `(async function (${LOAD}, ${META}) {`,
      '"use strict";',
      body.replaceAll(/\bimport\.meta\b/g, META),
      `return { ${getters.join(", ")} };`,
      "})",
      `//# sourceURL=${APP_SCRIPT}/${name}`,
      "",
    ].join("\n"),
  };
}

/**
 * The text of {@linkcode APP_SCRIPT} for the chunks `deno bundle --code-splitting` wrote
 * (`name` to text), `entry` first and then the chunks it imports statically, the others after.
 *
 * @throws {Error} When a chunk cannot be made a script (see {@linkcode chunkScript}), imports a
 *   chunk that is not there, or chunks import each other in a cycle (one would wait for the
 *   other forever).
 */
export function appChunks(entry: string, modules: ReadonlyMap<string, string>): string {
  const scripts = new Map<string, { script: string; imports: string[] }>();
  for (const [name, text] of modules) scripts.set(name, chunkScript(name, text));
  // Static imports: depth first from the entry, refusing a cycle.
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, from: string) => {
    const chunk = scripts.get(name);
    if (chunk === undefined) {
      throw new Error(
        `Cannot make the app a script: ${from} imports "${name}", which is not a chunk`,
      );
    }
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      throw new Error(
        `Cannot make the app a script: chunks import each other in a cycle through ${name}`,
      );
    }
    state.set(name, "visiting");
    for (const dependency of chunk.imports) visit(dependency, name);
    state.set(name, "done");
    order.push(name);
  };
  visit(entry, "the entry");
  const closure = order.filter((n) => n !== entry);
  for (const name of [...scripts.keys()].sort()) visit(name, "the bundle");
  for (const { script } of scripts.values()) {
    for (const [, name] of script.matchAll(new RegExp(`\\b${LOAD}\\("([^"]+)"\\)`, "g"))) {
      if (!scripts.has(name!)) {
        throw new Error(
          `Cannot make the app a script: a chunk imports "${name}", which is not a chunk`,
        );
      }
    }
  }
  const encoder = new TextEncoder();
  const ranges: Record<string, [number, number]> = {};
  const parts: string[] = [];
  let at = 0;
  let core = 0;
  const rest = order.filter((n) => n !== entry && !closure.includes(n));
  // The entry and its closure first: the core ends after them.
  [entry, ...closure, ...rest].forEach((name, i) => {
    const script = scripts.get(name)!.script;
    const length = encoder.encode(script).length;
    ranges[name] = [at, at + length];
    parts.push(script);
    at += length;
    if (i === closure.length) core = at;
  });
  return `${JSON.stringify({ entry, core, size: at, chunks: ranges })}\n${parts.join("")}`;
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
  const out = `${dir}/app.chunks`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--packages",
      "bundle",
      "--code-splitting",
      "--outdir",
      out,
      entry,
    ],
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
  const modules = new Map<string, string>();
  try {
    for (const file of [...Deno.readDirSync(out)].map((e) => e.name).sort()) {
      if (file.endsWith(".js")) modules.set(file, await Deno.readTextFile(`${out}/${file}`));
    }
  } catch {
    // reported below
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
  const main = entry.replace(/^.*\//, "").replace(/\.[cm]?[jt]sx?$/, ".js");
  if (!modules.has(main)) {
    throw new Error(
      `Cannot bundle the app "${entry}": deno bundle wrote no ${main} to "${out}"`,
    );
  }
  const files = { loader: `${dir}/${APP_LOADER}`, script: `${dir}/${APP_SCRIPT}` };
  await Deno.writeTextFile(files.script, appChunks(main, modules));
  await Deno.writeTextFile(files.loader, LOADER_TEXT);
  return files;
}
