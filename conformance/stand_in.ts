/**
 * The `llama-server` stand-in's argument mapping (`conformance/llama-server` runs it): the
 * Hugging Face preset flags llama.cpp's server tests pass (`--hf-repo`, `--hf-file`) become
 * `-m` with the local model that stands for the preset; every other flag is passed through as
 * the test gave it (strict: a flag we refuse fails the test). It prints the command to `exec`,
 * shell-quoted, or, for a model that cannot exist here, says why on stderr, notes it for the
 * run's report and exits 3.
 *
 * @module
 */
import { presetTarget } from "./presets.ts";
import type { ModelPaths } from "./models.ts";

/** Exit status of the stand-in when the preset's model cannot exist here. */
export const EXIT_MODEL_UNAVAILABLE = 3;

/** What {@linkcode mapServerArgs} decided. */
export type StandIn =
  | { kind: "run"; args: string[] }
  | { kind: "unavailable"; reason: string };

const REPO_FLAGS = new Set(["-hf", "-hfr", "--hf-repo"]);
const FILE_FLAGS = new Set(["-hff", "--hf-file"]);

/**
 * Maps llama-server's argv to ours: `--hf-repo`/`--hf-file` replaced by `-m PATH` from
 * `models`; the rest unchanged, after `--server --nobrowser` (llama-server is our server mode,
 * and it opens no browser).
 */
export function mapServerArgs(argv: readonly string[], models: ModelPaths): StandIn {
  const rest: string[] = [];
  let repo: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const [name, inline] = word.startsWith("--") && word.includes("=")
      ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]
      : [word, undefined];
    if (REPO_FLAGS.has(name) || FILE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (REPO_FLAGS.has(name)) repo = value;
      else file = value;
      continue;
    }
    rest.push(word);
  }
  if (repo === undefined) return { kind: "run", args: ["--server", "--nobrowser", ...rest] };
  const target = presetTarget(repo, file);
  if (target.kind === "unavailable") return target;
  return { kind: "run", args: ["--server", "--nobrowser", "-m", models[target.key], ...rest] };
}

/** `word` quoted for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The Deno command that runs the program like `deno task llamafile` does. */
export function launchCommand(root: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-run",
    "--allow-ffi",
    `${root}/launch.ts`,
  ];
}

if (import.meta.main) {
  const modelsFile = Deno.env.get("LLAMAFILE_CONFORMANCE_MODELS");
  if (!modelsFile) {
    console.error(
      "llama-server stand-in: LLAMAFILE_CONFORMANCE_MODELS is not set: run it through deno task conformance",
    );
    Deno.exit(2);
  }
  const models = JSON.parse(await Deno.readTextFile(modelsFile)) as ModelPaths;
  const mapped = mapServerArgs(Deno.args, models);
  if (mapped.kind === "unavailable") {
    console.error(`llama-server stand-in: cannot start: ${mapped.reason}`);
    const state = Deno.env.get("LLAMAFILE_CONFORMANCE_STATE");
    if (state) {
      const line = JSON.stringify({
        test: (Deno.env.get("PYTEST_CURRENT_TEST") ?? "").replace(
          / \((setup|call|teardown)\)$/,
          "",
        ),
        reason: mapped.reason,
      });
      await Deno.writeTextFile(`${state}/unavailable.jsonl`, line + "\n", { append: true });
    }
    Deno.exit(EXIT_MODEL_UNAVAILABLE);
  }
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  console.log([...launchCommand(root), ...mapped.args].map(shellQuote).join(" "));
}
