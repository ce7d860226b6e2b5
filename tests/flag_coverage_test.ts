/**
 * Every option `llama-server`, `llama-completion` and `llama-cli` of our release take (read from
 * its `common/arg.cpp`) is known to our option table: taken, noted or refused, never an unknown
 * option.
 *
 * Needs --allow-read --allow-write --allow-env --allow-run (npm and git fetch the source once).
 *
 * @module
 */
import assert from "node:assert/strict";
import { llamaSourceTree } from "../scripts/chat_reference.ts";
import { parseCliArgs } from "../lib/cli/options.ts";

/** The names of each option `example` takes, one list per `add_opt` of `arg.cpp`. */
function optionsOf(source: string, example: string): string[][] {
  const out: string[][] = [];
  for (const block of source.split(/\n\s*add_opt\(/).slice(1)) {
    const head = /common_arg\(\s*((?:\{[^}]*\}\s*,\s*){1,2})/.exec(block);
    if (head === null) continue;
    const examples = /\.set_examples\(\{([^}]*)\}\)/.exec(block)?.[1];
    const excludes = /\.set_excludes\(\{([^}]*)\}\)/.exec(block)?.[1] ?? "";
    // No set_examples: a common option, which every program takes.
    const taken = examples === undefined || examples.includes(example);
    if (!taken || excludes.includes(example)) continue;
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

for (
  const [program, example, least] of [
    ["llama-server", "LLAMA_EXAMPLE_SERVER", 200],
    ["llama-completion", "LLAMA_EXAMPLE_COMPLETION", 100],
    ["llama-cli", "LLAMA_EXAMPLE_CLI", 100],
  ] as const
) {
  Deno.test(`every ${program} option of our release is taken, noted or refused`, async () => {
    const source = await Deno.readTextFile(`${await llamaSourceTree(false)}/common/arg.cpp`);
    const options = optionsOf(source, example);
    assert.ok(options.length > least, `only ${options.length} options read from arg.cpp`);
    assert.deepEqual(options.flat().filter(unknown), []);
  });
}
