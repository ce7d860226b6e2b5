/**
 * Every option `llama-server` of our release takes (read from its `common/arg.cpp`) is known to
 * our option table: taken, noted or refused, never an unknown option.
 *
 * Needs --allow-read --allow-write --allow-env --allow-run (npm and git fetch the source once).
 *
 * @module
 */
import assert from "node:assert/strict";
import { llamaSourceTree } from "../scripts/chat_reference.ts";
import { parseCliArgs } from "../lib/cli/options.ts";

/** The names of each option `llama-server` takes, one list per `add_opt` of `arg.cpp`. */
function serverOptions(source: string): string[][] {
  const out: string[][] = [];
  for (const block of source.split(/\n\s*add_opt\(/).slice(1)) {
    const head = /common_arg\(\s*((?:\{[^}]*\}\s*,\s*){1,2})/.exec(block);
    if (head === null) continue;
    const examples = /\.set_examples\(\{([^}]*)\}\)/.exec(block)?.[1];
    const excludes = /\.set_excludes\(\{([^}]*)\}\)/.exec(block)?.[1] ?? "";
    // No set_examples: a common option, which the server takes too.
    const forServer = examples === undefined || examples.includes("LLAMA_EXAMPLE_SERVER");
    if (!forServer || excludes.includes("LLAMA_EXAMPLE_SERVER")) continue;
    out.push([...head[1]!.matchAll(/"(-[^"]+)"/g)].map((m) => m[1]!));
  }
  return out;
}

function unknown(name: string): boolean {
  for (const argv of [[name], [name, "1"]]) {
    try {
      parseCliArgs(argv);
      return false;
    } catch (error) {
      if (!/^Unknown option/.test((error as Error).message)) return false;
    }
  }
  return true;
}

Deno.test("every llama-server option of our release is taken, noted or refused", async () => {
  const source = await Deno.readTextFile(`${await llamaSourceTree(false)}/common/arg.cpp`);
  const options = serverOptions(source);
  assert.ok(options.length > 200, `only ${options.length} options read from arg.cpp`);
  const missing = options.flat().filter(unknown);
  assert.deepEqual(missing, []);
});
