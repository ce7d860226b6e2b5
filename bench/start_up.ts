/**
 * Start-up: a packed stories260K llamafile to its first token, step by step, against native
 * `llama-completion` on the same model, interleaved; the checkout's `deno task llamafile`; and
 * the seed's scripting use, a grammar-forced yes/no answer asked 20 times in a shell loop,
 * through the llamafile and through native `llama-completion`.
 *
 * Steps of a warm start (the runtime already extracted), medians over the rounds:
 * - `launcher`: the sh launcher, measured as the llamafile's wall time less that of the same
 *   `deno run` command started directly;
 * - `deno`: an empty script's `deno run` (process start to exit);
 * - the app's own steps, from its `LLAMAFILE_TRACE=1` lines (milliseconds since Deno's time
 *   origin, so the first, `main`, is Deno's start plus the app's load);
 * - `exit`: the wall time left after the first token (printing it, closing, process exit).
 *
 * ```sh
 * deno run -A bench/start_up.ts [ROUNDS]
 * ```
 *
 * @module
 */

import { launchEnv } from "../lib/sandbox/permissions.ts";
import { resolveWeights } from "../lib/onefile/llamafile_archive.ts";
import { cpuFlags, pickCpuVariant } from "../ffi/cpu_variant.ts";
import { GGML_LIB, LLAMA_LIB } from "../ffi/library_path.ts";

/** Inputs of {@linkcode measureStartUp}. */
export interface StartUpOptions {
  /** The checkout (cli.ts, deno.json). */
  root: string;
  /** Native `llama-completion`. */
  completion: string;
  /** Interleaved rounds (medians are taken). */
  rounds: number;
  /** Runs of the yes/no loop (20). */
  loopRuns?: number;
  /**
   * The llama.cpp source of our libraries' release (`include/`, `ggml/include/`), to compile
   * `first_token.c` (libllama's own floor); without it, or without `cc`, that is skipped.
   */
  llamaSource?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One step of a warm start and its median duration. */
export interface StartUpStep {
  step: string;
  ms: number;
}

/** Medians in milliseconds. */
export interface StartUpResult {
  /** First run of a llamafile: extracts the runtime. */
  oursFirstMs: number;
  /** Warm start of the llamafile to its first token, whole process. */
  oursWarmMs: number;
  /** Native llama-completion, same model, one token. */
  nativeMs: number;
  /** CPU time (user + system, the process and its children) of the warm start. */
  oursCpuMs: number;
  /** CPU time of native llama-completion. */
  nativeCpuMs: number;
  /** `deno run` of an empty file. */
  denoEmptyMs: number;
  /** The same `deno run` the launcher ends in, started directly. */
  oursDirectMs: number;
  /** The warm start, step by step (they add up to about `oursWarmMs`). */
  steps: StartUpStep[];
  /** `deno task llamafile` in the checkout (three Deno processes), same arguments. */
  checkoutTaskMs: number;
  /** `deno run cli.ts` in the checkout with the CLI's permissions (one Deno process). */
  checkoutDirectMs: number;
  /**
   * libllama's floor: `first_token.c`, the llamafile's own libraries driven from C to the
   * first token (no runtime around them), in place from the llamafile and from the bare GGUF;
   * null when it could not be built.
   */
  floor: {
    inPlaceMs: number;
    bareMs: number;
    /** `true`: a process's start and exit, counted in both the floor and Deno's run. */
    processMs: number;
    token: string;
  } | null;
  /**
   * A Deno-hosted start's floor: `first_token.ts`, the same calls as `first_token.c` made
   * through Deno's FFI by the llamafile's own `deno` (nothing else: no argument parser, no
   * sandbox, no check), in place from the llamafile and from the bare GGUF.
   */
  denoFloor: {
    inPlaceMs: number;
    bareMs: number;
    token: string;
  } | null;
  /** The yes/no shell loop. */
  loop: {
    runs: number;
    oursMs: number;
    nativeMs: number;
    oursAnswer: string;
    nativeAnswer: string;
  };
}

const PROMPT = "Once upon a time";
const QUESTION = "Is the sky blue? Answer:";
const GRAMMAR = 'root ::= "yes" | "no"';

function median(xs: number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Timed {
  ms: number;
  stdout: string;
  stderr: string;
}

async function timed(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Timed> {
  const start = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    ...(options.env && { env: options.env }),
    ...(options.cwd && { cwd: options.cwd }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${out.code}: ${stderr.trim().split("\n").pop()}`,
    );
  }
  return { ms, stdout, stderr };
}

/**
 * Runs `cmd args` with `LLAMAFILE_TRACE=1`; returns the wall time and, for each trace line,
 * its label, the milliseconds it reports (since Deno's time origin) and when it reached us
 * (since the spawn).
 */
async function traced(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; lines: { label: string; at: number; arrived: number }[] }> {
  const start = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env: { ...env, LLAMAFILE_TRACE: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: { label: string; at: number; arrived: number }[] = [];
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    const arrived = performance.now() - start;
    text += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, at);
      text = text.slice(at + 1);
      const parsed = traceLines(line)[0];
      if (parsed) lines.push({ label: parsed[0], at: parsed[1], arrived });
    }
  }
  const status = await child.status;
  const ms = performance.now() - start;
  if (!status.success) throw new Error(`${cmd} exited ${status.code} under LLAMAFILE_TRACE=1`);
  return { ms, lines };
}

/** `llamafile: trace 43.3 ms main` lines, as [label, ms]. */
export function traceLines(stderr: string): [string, number][] {
  const out: [string, number][] = [];
  for (const match of stderr.matchAll(/^llamafile: trace ([\d.]+) ms (.*)$/gm)) {
    out.push([match[2]!.replace(/;.*$/, ""), Number(match[1])]);
  }
  return out;
}

/**
 * Median CPU time (user + system, children included) of each command over `runs` interleaved
 * runs, measured by Python's `resource.getrusage` (Deno has no rusage of a child). On a busy
 * machine the CPU time moves far less than the wall time.
 */
async function cpuTimes(
  commands: { args: string[]; env?: Record<string, string> }[],
  runs: number,
): Promise<number[]> {
  const script = [
    "import json, os, resource, statistics, subprocess, sys",
    "specs = json.loads(sys.argv[1]); runs = int(sys.argv[2]); out = [[] for _ in specs]",
    "for _ in range(runs):",
    "    for i, spec in enumerate(specs):",
    "        before = resource.getrusage(resource.RUSAGE_CHILDREN)",
    "        env = dict(os.environ); env.update(spec.get('env') or {})",
    "        subprocess.run(spec['args'], env=env, stdin=subprocess.DEVNULL,",
    "                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
    "        after = resource.getrusage(resource.RUSAGE_CHILDREN)",
    "        out[i].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)",
    "print(json.dumps([statistics.median(x) for x in out]))",
  ].join("\n");
  const out = await timed("python3", ["-c", script, JSON.stringify(commands), String(runs)]);
  return JSON.parse(out.stdout);
}

/**
 * Compiles `first_token.c` against the llama.cpp source `source` and the runtime's libraries
 * in `lib`, into `dir`; returns its path, or null (and says why) when it cannot be built.
 */
async function buildFirstToken(
  source: string | undefined,
  dir: string,
  lib: string,
  log: (line: string) => void,
): Promise<string | null> {
  if (source === undefined) return null;
  const out = `${dir}/first_token`;
  try {
    await timed("cc", [
      "-O2",
      "-o",
      out,
      decodeURIComponent(new URL("./first_token.c", import.meta.url).pathname),
      `-I${source}/include`,
      `-I${source}/ggml/include`,
      `${lib}/${LLAMA_LIB}`,
      `${lib}/${GGML_LIB}`,
      `${lib}/libggml-base.so`,
      `-Wl,-rpath,${lib}`,
    ]);
    return out;
  } catch (error) {
    log(`libllama's floor skipped: cannot compile first_token.c: ${(error as Error).message}`);
    return null;
  }
}

/** The `deno run` command line the launcher would exec (its dry run prints it). */
async function launcherCommand(file: string, args: string[], env: Record<string, string>) {
  const dry = await timed(file, args, { env: { ...env, LLAMAFILE_LAUNCHER_DRY_RUN: "1" } });
  const words = dry.stdout.trimEnd().split("\n");
  return { cmd: words[0]!, args: words.slice(1) };
}

/** Packs stories260K, then measures a warm start step by step and the yes/no loop. */
export async function measureStartUp(o: StartUpOptions): Promise<StartUpResult> {
  const log = o.log ?? (() => {});
  const model = `${o.root}/../shared/models/stories260K.gguf`;
  const dir = await Deno.makeTempDir({ prefix: "llamafile-bench-" });
  try {
    const argsFile = `${dir}/args`;
    await Deno.writeTextFile(argsFile, "--temp 0 -t 1 --no-display-prompt\n...\n");
    const file = `${dir}/s.llamafile`;
    await timed(Deno.execPath(), [
      "run",
      "--no-prompt",
      "--allow-all",
      `${o.root}/cli.ts`,
      "pack",
      "-m",
      model,
      "--args",
      argsFile,
      "-o",
      file,
    ]);
    await Deno.writeTextFile(`${dir}/empty.js`, "");
    const oneToken = ["-p", PROMPT, "-n", "1", "--log-disable"];
    const nativeOne = [
      "-m",
      model,
      "-p",
      PROMPT,
      "-n",
      "1",
      "-t",
      "1",
      "--temp",
      "0",
      "-no-cnv",
    ];
    const warmCache = `${dir}/cache-warm`;
    const warmEnv = { XDG_CACHE_HOME: warmCache };
    await timed(file, oneToken, { env: warmEnv }); // extract once
    const direct = await launcherCommand(file, oneToken, warmEnv);
    // What the launcher exports before its exec.
    const runtime = direct.cmd.replace(/\/deno$/, "");
    const directEnv = {
      ...warmEnv,
      ...launchEnv(Deno.env.get("DENO_V8_FLAGS")),
      LLAMAFILE_SELF: file,
      LLAMAFILE_LIBDIR: `${runtime}/lib`,
      DENO_DIR: `${runtime}/deno_dir`,
    };
    const taskArgs = ["-m", model, "-t", "1", "--temp", "0", "--no-display-prompt", ...oneToken];
    // libllama's floor runs on the prebuilt CPU variant the app picks (x86-64 only).
    const lib = `${runtime}/lib`;
    const variant = pickCpuVariant(cpuFlags(await Deno.readTextFile("/proc/cpuinfo")));
    const cpuBackend = `${lib}/libggml-cpu-${variant}.so`;
    const firstToken = variant === null
      ? null
      : await buildFirstToken(o.llamaSource, dir, lib, log);
    const offset = (await resolveWeights(undefined, file))!.offset;
    let floorToken = "";
    // first_token.ts, run by the runtime's deno as the app is, its TypeScript compiled once
    // into a cache of its own (the runtime's is the app's).
    const denoFloor = variant === null ? null : {
      args: [
        "run",
        "--no-config",
        "--cached-only",
        "--allow-read",
        "--allow-ffi",
        "--allow-env",
        decodeURIComponent(new URL("./first_token.ts", import.meta.url).pathname),
        lib,
        cpuBackend,
      ],
      env: { ...directEnv, DENO_DIR: `${dir}/deno-floor` },
    };
    let denoFloorToken = "";
    if (denoFloor !== null) {
      denoFloorToken = (await timed(direct.cmd, [...denoFloor.args, model, "0", PROMPT], {
        env: denoFloor.env,
      })).stdout.trimEnd();
    }

    const samples: Record<string, number[]> = {};
    const push = (key: string, value: number) => (samples[key] ??= []).push(value);
    const steps = new Map<string, number[]>();
    for (let i = 0; i < o.rounds; i++) {
      log(`start-up round ${i + 1}/${o.rounds}`);
      push("first", (await timed(file, oneToken, { env: { XDG_CACHE_HOME: `${dir}/c${i}` } })).ms);
      push("warm", (await timed(file, oneToken, { env: warmEnv })).ms);
      push("native", (await timed(o.completion, nativeOne)).ms);
      push("empty", (await timed(direct.cmd, ["run", `${dir}/empty.js`], { env: directEnv })).ms);
      push("direct", (await timed(direct.cmd, direct.args, { env: directEnv })).ms);
      if (firstToken !== null) {
        const inPlace = await timed(firstToken, [cpuBackend, file, String(offset), PROMPT]);
        push("floor.inPlace", inPlace.ms);
        push("floor.bare", (await timed(firstToken, [cpuBackend, model, "0", PROMPT])).ms);
        floorToken = inPlace.stdout.trimEnd();
        push("floor.process", (await timed("true", [])).ms);
      }
      if (denoFloor !== null) {
        const { args, env } = denoFloor;
        push(
          "denoFloor.inPlace",
          (await timed(direct.cmd, [...args, file, String(offset), PROMPT], { env })).ms,
        );
        push(
          "denoFloor.bare",
          (await timed(direct.cmd, [...args, model, "0", PROMPT], { env })).ms,
        );
      }
      // The app's steps: the first from our clock (the launcher, Deno's own start before its
      // time origin and the app's load), the others from the app's, then the exit from ours.
      const run = await traced(file, oneToken, warmEnv);
      const first = run.lines[0];
      if (first === undefined) throw new Error("the llamafile printed no trace line");
      push("toMain", first.arrived);
      let last = first.at;
      for (const { label, at } of run.lines.slice(1)) {
        const list = steps.get(label) ?? [];
        list.push(at - last);
        steps.set(label, list);
        last = at;
      }
      push("exit", run.ms - first.arrived - (last - first.at));
      push(
        "task",
        (await timed(Deno.execPath(), ["task", "-q", "llamafile", ...taskArgs], { cwd: o.root }))
          .ms,
      );
      push(
        "checkoutDirect",
        (await timed(Deno.execPath(), [
          "run",
          "--no-prompt",
          "--allow-read",
          "--allow-ffi",
          "--allow-env",
          `${o.root}/cli.ts`,
          ...taskArgs,
        ], { cwd: o.root })).ms,
      );
    }
    const m = (key: string) => median(samples[key] ?? []);
    log("CPU time of the warm start and of native llama-completion");
    const [oursCpuMs, nativeCpuMs] = await cpuTimes([
      { args: [file, ...oneToken], env: warmEnv },
      { args: [o.completion, ...nativeOne] },
    ], Math.max(5, o.rounds));
    const launcherMs = m("warm") - m("direct");
    const stepList: StartUpStep[] = [
      { step: "launcher (sh)", ms: launcherMs },
      { step: "deno (an empty script's run)", ms: m("empty") },
      { step: "the app's load, to main", ms: m("toMain") - launcherMs - m("empty") },
      ...[...steps].map(([step, list]) => ({ step, ms: median(list) })),
      { step: "exit", ms: m("exit") },
    ];

    // The yes/no loop: the seed's scripting use.
    const runs = o.loopRuns ?? 20;
    const loop = (command: string) =>
      `i=0; while [ $i -lt ${runs} ]; do ${command} </dev/null 2>/dev/null | head -c 3; echo; i=$((i+1)); done`;
    const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const oursLoop = loop(
      `${q(file)} -p ${q(QUESTION)} --grammar ${q(GRAMMAR)} --temp 0 --no-display-prompt`,
    );
    const nativeLoop = loop(
      `${q(o.completion)} -m ${q(model)} -p ${q(QUESTION)} --grammar ${
        q(GRAMMAR)
      } --temp 0 -t 1 -no-cnv --no-display-prompt`,
    );
    let oursAnswer = "";
    let nativeAnswer = "";
    for (let i = 0; i < Math.max(1, Math.min(o.rounds, 3)); i++) {
      log(`yes/no loop round ${i + 1}: ${runs} runs each`);
      const a = await timed("sh", ["-c", oursLoop], { env: warmEnv });
      const b = await timed("sh", ["-c", nativeLoop]);
      push("loop.ours", a.ms);
      push("loop.native", b.ms);
      oursAnswer = answers(a.stdout);
      nativeAnswer = answers(b.stdout);
    }
    return {
      oursFirstMs: m("first"),
      oursWarmMs: m("warm"),
      nativeMs: m("native"),
      oursCpuMs: oursCpuMs!,
      nativeCpuMs: nativeCpuMs!,
      denoEmptyMs: m("empty"),
      oursDirectMs: m("direct"),
      steps: stepList,
      checkoutTaskMs: m("task"),
      checkoutDirectMs: m("checkoutDirect"),
      floor: firstToken === null ? null : {
        inPlaceMs: m("floor.inPlace"),
        bareMs: m("floor.bare"),
        processMs: m("floor.process"),
        token: floorToken,
      },
      denoFloor: denoFloor === null ? null : {
        inPlaceMs: m("denoFloor.inPlace"),
        bareMs: m("denoFloor.bare"),
        token: denoFloorToken,
      },
      loop: {
        runs,
        oursMs: m("loop.ours"),
        nativeMs: m("loop.native"),
        oursAnswer,
        nativeAnswer,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `20 x yes`, or the distinct answers of a loop's output lines with their counts. */
function answers(stdout: string): string {
  const counts = new Map<string, number>();
  for (const line of stdout.split("\n").filter(Boolean)) {
    const word = line.trim();
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].map(([word, n]) => `${n} x ${word}`).join(", ");
}

if (import.meta.main) {
  const { ensureNative } = await import("./native.ts");
  const { cacheDir } = await import("./cache_dir.ts");
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  const native = await ensureNative({ verbose: false });
  const result = await measureStartUp({
    root,
    completion: native.completion,
    rounds: Number(Deno.args[0] ?? 5),
    llamaSource: cacheDir("native", "src"),
    log: (line) => console.error(`start-up: ${line}`),
  });
  console.log(JSON.stringify(result, null, 2));
}
