/**
 * `deno task fuzz`: seeded, reproducible mutation fuzzing of everything the program parses.
 *
 * ```sh
 * deno task fuzz --cases 10000 --seed 1 --target gguf|llamafile|grammar|schema|http|image|projector|lora|all \
 *   [--jobs 2] [--timeout 30000] [--out fuzz-out] [--case N | --first N] [--verbose]
 * ```
 *
 * Each case runs in a subprocess the way a user runs it (the CLI with the permissions and
 * sandbox of a normal launch), or against one running server (`http`), with a time limit, and
 * is classified: success, clean error (one `llamafile:` line and exit 1/2, or a 4xx JSON
 * error), stack trace printed, killed by a signal, hung, server unhealthy afterwards. Every
 * failing input is kept under `--out/<target>/` with the command that reproduces it. One line
 * of counts per target:
 * `fuzz gguf: 10000 cases, 812 ok, 9188 clean errors, 0 stack traces, 0 crashes, 0 hangs`.
 *
 * @module
 */
import { type FuzzCounts, type FuzzOptions, summaryLine } from "./counts.ts";
import { type TargetName, TARGETS } from "./targets.ts";

function parse(argv: string[]): FuzzOptions & { targets: TargetName[] } {
  const options: FuzzOptions & { targets: TargetName[] } = {
    cases: 200,
    seed: 1,
    targets: [],
    jobs: 2,
    timeoutMs: 30_000,
    out: "fuzz-out",
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`Option ${word} needs a value`);
      return v;
    };
    const count = (what: string) => {
      const text = value();
      if (!/^\d+$/.test(text)) {
        throw new Error(`Invalid value "${text}" for ${what}: expected a number`);
      }
      return Number(text);
    };
    switch (word) {
      case "--cases":
        options.cases = count(word);
        break;
      case "--seed":
        options.seed = count(word);
        break;
      case "--case":
        options.only = count(word);
        break;
      case "--first":
        options.first = count(word);
        break;
      case "--jobs":
        options.jobs = Math.max(1, count(word));
        break;
      case "--timeout":
        options.timeoutMs = count(word);
        break;
      case "--out":
        options.out = value();
        break;
      case "--verbose":
        options.verbose = true;
        break;
      case "--target": {
        const name = value();
        if (name === "all") options.targets.push(...(Object.keys(TARGETS) as TargetName[]));
        else if (Object.hasOwn(TARGETS, name)) options.targets.push(name as TargetName);
        else {
          throw new Error(
            `Unknown target "${name}": one of ${Object.keys(TARGETS).join(", ")}, all`,
          );
        }
        break;
      }
      default:
        throw new Error(`Unknown option "${word}"`);
    }
  }
  if (options.targets.length === 0) options.targets.push(...(Object.keys(TARGETS) as TargetName[]));
  return options;
}

/** Runs the targets; returns their counts. */
export async function fuzz(
  options: FuzzOptions & { targets: readonly TargetName[] },
): Promise<Map<TargetName, FuzzCounts>> {
  const results = new Map<TargetName, FuzzCounts>();
  for (const name of new Set(options.targets)) {
    const counts = await TARGETS[name](options);
    results.set(name, counts);
    console.log(summaryLine(name, counts));
  }
  return results;
}

if (import.meta.main) {
  let options: FuzzOptions & { targets: TargetName[] };
  try {
    options = parse(Deno.args);
  } catch (error) {
    console.error(`fuzz: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const results = await fuzz(options);
  const bad = [...results.values()].some((c) =>
    c.outcomes.stack + c.outcomes.crash + c.outcomes.hang + c.serverErrors + c.unhealthy > 0
  );
  Deno.exit(bad ? 1 : 0);
}
