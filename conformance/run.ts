/**
 * `deno task conformance`: runs llama.cpp's own server tests (`tools/server/tests/unit` of the
 * llama.cpp source our libllama is built from, taken from the `node-llama-cpp` package's
 * `llama/gitRelease.bundle`) against llamafile's server, with Debian's `python3-pytest`,
 * through the `llama-server` stand-in (`conformance/llama-server`), which maps the tests'
 * Hugging Face presets to local or synthetic models and passes every other flag through as
 * the test gives it. Prints pass/fail per test file; tests that need Python's `openai` client
 * (not in Debian 12) are counted apart as "client unavailable", tests whose model cannot exist
 * here as "model unavailable", each with its reason.
 *
 * ```sh
 * deno task conformance                          # the issue's fifteen files
 * deno task conformance test_basic test_infill   # some files (or unit/test_x.py::test_y)
 * deno task conformance --all                    # every file of tools/server/tests/unit
 * deno task conformance -k slots test_basic      # pytest's -k
 * deno task conformance --json out.json ...      # also write the results as JSON
 * ```
 *
 * Nothing is fetched at run time once the source is cached (the benchmark's
 * `${XDG_CACHE_HOME:-~/.cache}/llamafile-bench/native/src`, cloned from the package's bundle,
 * which `npm pack` fetches once into that cache).
 *
 * @module
 */
import { cacheDir, exists } from "../bench/cache_dir.ts";
import { buildLock, llamaCppSource } from "../bench/native.ts";
import { ensureModels } from "./models.ts";
import { type FileResult, formatReport, summarize, type TestRecord } from "./report.ts";

/** The test files issue 12 names: the bar the server is held to. */
export const DEFAULT_FILES = [
  "test_basic",
  "test_tokenize",
  "test_completion",
  "test_chat_completion",
  "test_security",
  "test_ctx_shift",
  "test_embedding",
  "test_infill",
  "test_rerank",
  "test_slot_save",
  "test_metrics",
  "test_template",
  "test_ignore_eos",
  "test_lora",
  "test_tool_call",
] as const;

/** Debian's Python: the packages below are Debian's (`python3-*`), never pip's. */
export const PYTHON = "/usr/bin/python3";

/** The Python modules the suite imports, and their Debian packages. */
export const PYTHON_PACKAGES: Record<string, string> = {
  pytest: "python3-pytest",
  requests: "python3-requests",
  wget: "python3-wget",
  filelock: "python3-filelock",
};

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Test files (`test_basic`, `test_basic.py`, `unit/test_basic.py::test_x`); default all 15. */
  files?: readonly string[];
  /** pytest's `-k` expression. */
  keyword?: string;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /** Keep the work folder (logs of each file) instead of removing it. */
  keep?: boolean;
}

/** The llama.cpp source (cloned once from the package's git bundle into the bench cache). */
export async function llamaSource(log: (line: string) => void): Promise<string> {
  const dir = cacheDir("native");
  const src = `${dir}/src`;
  if (await exists(`${src}/tools/server/tests/utils.py`)) return src;
  await Deno.mkdir(dir, { recursive: true });
  const release = await buildLock(
    `${dir}/.lock`,
    () => exists(`${src}/tools/server/tests/utils.py`),
  );
  if (release === null) return src;
  try {
    return await llamaCppSource(dir, log);
  } finally {
    await release();
  }
}

/** Throws with the one `apt-get install` line when a Python module of the suite is missing. */
export async function checkPython(): Promise<void> {
  const missing: string[] = [];
  for (const [module, pkg] of Object.entries(PYTHON_PACKAGES)) {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", `import ${module}`],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => null);
    if (out === null || !out.success) missing.push(pkg);
  }
  if (missing.length > 0) {
    throw new Error(
      `Cannot run the server tests: ${PYTHON} lacks ${
        missing.join(", ")
      }; run: apt-get install -y ${missing.join(" ")}`,
    );
  }
}

/** A TCP port nobody listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `test_x`, `test_x.py`, `unit/test_x.py::name` → the pytest argument and its file's name. */
export function testTarget(spec: string): { arg: string; file: string } {
  const [path, ...rest] = spec.split("::");
  let file = path!.replace(/^unit\//, "").replace(/\.py$/, "");
  if (!/^test_\w+$/.test(file)) {
    throw new TypeError(`Cannot run "${spec}": not a test file of tools/server/tests/unit`);
  }
  const arg = [`unit/${file}.py`, ...rest].join("::");
  file = `${file}.py`;
  return { arg, file };
}

async function readLines(path: string): Promise<unknown[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** Runs the suite's files; returns the results per file. */
export async function runConformance(options: ConformanceOptions = {}): Promise<FileResult[]> {
  const log = options.log ?? ((line: string) => console.error(`conformance: ${line}`));
  const src = await llamaSource(log);
  await checkPython();
  const models = await ensureModels(src, log);

  const work = await Deno.makeTempDir({ prefix: "llamafile-conformance-" });
  try {
    const archive = new Deno.Command("git", {
      args: ["-C", src, "archive", "HEAD", "tools/server/tests", "models/templates", "tools/mtmd"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const untar = new Deno.Command("tar", { args: ["-x", "-C", work], stdin: "piped" }).spawn();
    await archive.stdout.pipeTo(untar.stdin);
    if (!(await archive.status).success || !(await untar.status).success) {
      throw new Error(`Cannot copy the server tests out of "${src}"`);
    }
    const state = `${work}/state`;
    await Deno.mkdir(state);
    await Deno.writeTextFile(`${state}/models.json`, JSON.stringify(models));
    const testsDir = `${work}/tools/server/tests`;
    await Deno.mkdir(`${testsDir}/tmp`, { recursive: true });

    const targets = (options.files?.length ? options.files : DEFAULT_FILES).map(testTarget);
    const results: FileResult[] = [];
    for (const target of targets) {
      const started = performance.now();
      const logPath = `${state}/${target.file}.log`;
      const out = await Deno.open(logPath, { write: true, create: true, truncate: true });
      const child = new Deno.Command(PYTHON, {
        args: [
          "-m",
          "pytest",
          "-p",
          "llamafile_conformance",
          "-p",
          "no:cacheprovider",
          "--tb=short",
          "-rN",
          ...(options.keyword ? ["-k", options.keyword] : []),
          target.arg,
        ],
        cwd: testsDir,
        env: {
          PYTHONPATH: `${ROOT}/conformance/python`,
          PYTHONDONTWRITEBYTECODE: "1",
          LLAMA_SERVER_BIN_PATH: `${ROOT}/conformance/llama-server`,
          LLAMAFILE_CONFORMANCE_MODELS: `${state}/models.json`,
          LLAMAFILE_CONFORMANCE_STATE: state,
          LLAMAFILE_DENO: Deno.execPath(),
          PORT: String(freePort()),
          NO_COLOR: "1",
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const copy = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) {
          for (let done = 0; done < chunk.length;) done += await out.write(chunk.subarray(done));
        }
      };
      await Promise.all([copy(child.stdout), copy(child.stderr)]);
      const status = await child.status;
      out.close();
      const records = (await readLines(`${state}/results.jsonl`)) as TestRecord[];
      const unavailable = (await readLines(`${state}/unavailable.jsonl`)) as {
        test: string;
        reason: string;
      }[];
      const mine = records.filter((r) => r.test.startsWith(`unit/${target.file}`));
      const result = summarize(target.file, mine, unavailable);
      result.seconds = (performance.now() - started) / 1000;
      if (mine.length === 0 && status.code !== 5) {
        const tail = (await Deno.readTextFile(logPath)).trim().split("\n").slice(-6).join(" | ");
        result.error = `pytest exited ${status.code} before running a test: ${tail}`;
      }
      results.push(result);
      log(
        `${target.file}: ${result.passed} passed, ${result.failed.length} failed, ${result.clientUnavailable.length} client unavailable, ${result.modelUnavailable.length} model unavailable, ${result.skipped} skipped (${
          result.seconds.toFixed(0)
        } s)`,
      );
    }
    return results;
  } finally {
    if (options.keep) log(`work folder kept: ${work}`);
    else await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const files: string[] = [];
  let keyword: string | undefined;
  let json: string | undefined;
  let keep = false;
  let all = false;
  const args = [...Deno.args];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-k") keyword = args[++i];
    else if (a === "--json") json = args[++i];
    else if (a === "--keep") keep = true;
    else if (a === "--all") all = true;
    else if (a === "-h" || a === "--help") {
      console.log(
        "Usage: deno task conformance [--all] [-k EXPR] [--json FILE] [--keep] [test_x ...]",
      );
      Deno.exit(0);
    } else files.push(a);
  }
  try {
    if (all) {
      const src = await llamaSource((line) => console.error(`conformance: ${line}`));
      for await (const entry of Deno.readDir(`${src}/tools/server/tests/unit`)) {
        if (/^test_\w+\.py$/.test(entry.name)) files.push(entry.name);
      }
      files.sort();
    }
    const results = await runConformance({
      files,
      ...(keyword !== undefined && { keyword }),
      keep,
    });
    console.log(formatReport(results));
    if (json) await Deno.writeTextFile(json, JSON.stringify(results, null, 2) + "\n");
    const bad = results.some((r) => r.failed.length > 0 || r.error !== undefined);
    Deno.exit(bad ? 1 : 0);
  } catch (error) {
    console.error(`conformance: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
