/**
 * The layout rules of the README's Layout table, checked on the sources: imports run one way
 * (cli → server / onefile → engine / sandbox → ffi, util below all), no folder imports a folder
 * above it, and only `ffi/` touches pointers or native struct layouts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

/** Each layer and the layers it may import (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  "ffi": ["lib/util"],
  "lib/util": [],
  "lib/engine": ["ffi", "lib/util"],
  "lib/sandbox": ["ffi", "lib/util"],
  "lib/onefile": ["lib/engine", "lib/sandbox", "ffi", "lib/util"],
  "lib/server": ["lib/engine", "lib/sandbox", "ffi", "lib/util"],
  "lib/cli": ["lib/server", "lib/onefile", "lib/engine", "lib/sandbox", "ffi", "lib/util"],
};

/** Inside lib/server: the shared request/response pieces import no sibling folder. */
const SERVER_PARTS: Record<string, readonly string[]> = {
  "lib/server/api": [],
  "lib/server/middleware": ["lib/server/api"],
  "lib/server/endpoints": ["lib/server/api"],
  "lib/server/ui": [],
  "lib/server": [
    "lib/server/api",
    "lib/server/middleware",
    "lib/server/endpoints",
    "lib/server/ui",
  ],
};

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${ROOT}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

function layerOf(path: string, layers: readonly string[]): string | null {
  const matches = layers.filter((l) => path === l || path.startsWith(`${l}/`));
  return matches.sort((a, b) => b.length - a.length)[0] ?? null;
}

function importsOf(path: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g;
  // Doc examples (`@example` blocks in comments) import as their readers would: skip comments.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const match of code.matchAll(re)) {
    const url = new URL(match[1]!, `file:///${path}`);
    out.push(decodeURIComponent(url.pathname.slice(1)));
  }
  return out;
}

async function allImports(): Promise<[string, string][]> {
  const edges: [string, string][] = [];
  for (const dir of ["ffi", "lib"]) {
    for await (const path of sources(dir)) {
      const text = await Deno.readTextFile(`${ROOT}/${path}`);
      for (const target of importsOf(path, text)) edges.push([path, target]);
    }
  }
  return edges;
}

Deno.test("layout: imports run one way between layers", async () => {
  const layers = Object.keys(MAY_IMPORT);
  const wrong: string[] = [];
  for (const [from, to] of await allImports()) {
    const a = layerOf(from, layers);
    const b = layerOf(to, layers);
    if (a === null || b === null || a === b) continue;
    if (!MAY_IMPORT[a]!.includes(b)) wrong.push(`${from} imports ${to} (${a} → ${b})`);
  }
  assert.deepEqual(wrong, []);
});

Deno.test("layout: lib/server's parts import no sibling above them", async () => {
  const parts = Object.keys(SERVER_PARTS);
  const wrong: string[] = [];
  for (const [from, to] of await allImports()) {
    const a = layerOf(from, parts);
    const b = layerOf(to, parts);
    if (a === null || b === null || a === b) continue;
    if (!SERVER_PARTS[a]!.includes(b)) wrong.push(`${from} imports ${to}`);
  }
  assert.deepEqual(wrong, []);
});

/**
 * Files outside `ffi/` that read or write binary data: file formats (GGUF, ZIP, gzip trailers)
 * and wire formats (base64 embeddings, the slot file helper's frames), never a native struct.
 */
const BINARY_FORMATS = new Set([
  "lib/engine/gguf_reader.ts",
  "lib/engine/model.ts",
  "lib/engine/state_file.ts",
  "lib/onefile/launcher.ts",
  "lib/onefile/zip_format.ts",
  "lib/server/endpoints/embeddings.ts",
  "lib/server/api/slot_files.ts",
]);

Deno.test("layout: only ffi/ touches pointers and native struct layouts", async () => {
  const wrong: string[] = [];
  for await (const path of sources("lib")) {
    const text = (await Deno.readTextFile(`${ROOT}/${path}`)).replace(/\/\*[\s\S]*?\*\//g, "");
    if (/Deno\.Unsafe\w+/.test(text)) wrong.push(`${path} uses Deno.Unsafe*`);
    for (
      const match of text.matchAll(
        /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"[^"]*ffi\/structs\.ts"/g,
      )
    ) {
      const names = match[1]!.split(",").map((n) => n.replace(/\btype\b/, "").trim()).filter(
        Boolean,
      );
      const layouts = names.filter((n) => n !== "AbiMismatchError");
      if (layouts.length > 0) wrong.push(`${path} imports struct layouts ${layouts.join(", ")}`);
    }
    if (/\bDataView\b/.test(text) && !BINARY_FORMATS.has(path)) {
      wrong.push(`${path} uses a DataView outside the file-format modules`);
    }
  }
  assert.deepEqual(wrong, []);
});
