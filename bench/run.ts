/**
 * `deno task bench [--quick]`: llamafile.ts against native llama.cpp (llama-bench,
 * llama-completion built from the same release) and node-llama-cpp, interleaved in one run
 * (A B C A B C ..., medians over rounds). Prints a markdown table and writes bench/latest.json.
 *
 * Measures: pp512 / tg128 at the same threads and flash-attention setting of
 * - native llama.cpp built two ways: static with `-DGGML_NATIVE=ON` (`native.ts`), and
 *   `llama-bench` built with shared libraries run over the very libraries llamafile.ts loads,
 *   the npm package's with its prebuilt CPU variant (`native_shared.ts`): the second tells
 *   the build from our binding;
 * - llamafile.ts with the prebuilt CPU variant and with the CPU backend `--build-native` builds
 *   for this machine (built once, cached), with weight repacking on and off, decoding as the
 *   CLI does (one-token steps on the JS thread, one every 100 ms off it), and every step off
 *   the JS thread as the server does;
 * - node-llama-cpp (the same prebuilt libraries through N-API);
 * model load time; peak RSS; start-up of a packed stories260K llamafile to its first token,
 * step by step, against native llama-completion, the checkout's `deno task llamafile`, and the
 * yes/no grammar question 20 times in a shell loop (`start_up.ts`); the server against native
 * llama-server: aggregate tokens/s at 1, 4 and 8 concurrent streams, time to first token p50
 * and p99, and /health latency while generating; image encode and prompt time against
 * llama.cpp's llama-mtmd-cli (`vision_bench.ts`).
 *
 * @module
 */
import { ensureNative, runLlamaBench } from "./native.ts";
import { ensureNativeShared, runSharedLlamaBench, type SharedBench } from "./native_shared.ts";
import { runNodeLlamaCpp } from "./node_llama_cpp.ts";
import { ensureSynthModel, type SynthType } from "./synth_model.ts";
import { measureStartUp, type StartUpResult } from "./start_up.ts";
import { measureServers, STREAM_COUNTS } from "./server_load.ts";
import { verifiedNativeBuild } from "../ffi/library.ts";
import { cpuinfoText } from "../ffi/proc.ts";
import { cacheDir } from "./cache_dir.ts";
import { measureVision } from "./vision_bench.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const STORIES = `${ROOT}/../shared/models/stories260K.gguf`;

interface Options {
  quick: boolean;
  threads: number;
  rounds: number;
  reps: number;
  type: SynthType;
  skipServer: boolean;
  skipNode: boolean;
  skipNativeBuild: boolean;
  skipVision: boolean;
}

function parseOptions(args: string[]): Options {
  const quick = args.includes("--quick");
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    quick,
    threads: Number(value("--threads") ?? (quick ? 1 : 2)),
    rounds: Number(value("--rounds") ?? (quick ? 1 : 3)),
    reps: Number(value("--reps") ?? (quick ? 1 : 3)),
    type: (value("--type") ?? "q4_0") as SynthType,
    skipServer: args.includes("--no-server"),
    skipNode: args.includes("--no-node"),
    skipNativeBuild: args.includes("--no-native-build"),
    skipVision: args.includes("--no-vision"),
  };
}

function median(xs: number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface OursRun {
  pp: number;
  tg: number;
  loadMs: number;
  peakRssMiB: number;
}

async function runOurs(
  model: string,
  o: Options,
  repack: boolean,
  decode: "nonblocking" | "sync",
  nPrompt: number,
  nGen: number,
  cpuBackend: string,
): Promise<OursRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-all",
      `${ROOT}/bench/ours_bench.ts`,
      "--model",
      model,
      "--threads",
      String(o.threads),
      "--reps",
      String(o.reps),
      "--repack",
      repack ? "on" : "off",
      "--decode",
      decode,
      "--flash-attn",
      "off",
      "--n-prompt",
      String(nPrompt),
      "--n-gen",
      String(nGen),
    ],
    env: { LLAMAFILE_CPU_BACKEND: cpuBackend },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ours_bench failed: ${new TextDecoder().decode(out.stderr).slice(-400)}`);
  }
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  return { pp: r.pp, tg: r.tg, loadMs: r.loadMs, peakRssMiB: r.peakRssMiB };
}

async function nativePeakRssMiB(
  completion: string,
  model: string,
  threads: number,
): Promise<number> {
  const script = "import resource,subprocess,sys\n" +
    "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n" +
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      script,
      completion,
      "-m",
      model,
      "-p",
      "Once upon a time",
      "-n",
      "16",
      "-t",
      String(threads),
      "-no-cnv",
      "--temp",
      "0",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

/**
 * The CPU backend `--build-native` builds for this machine (built now if needed: about 4
 * minutes on 2 busy cores the first time), or null when it cannot be built here (no compiler,
 * ...). It is built into the benchmark's own cache (`XDG_CACHE_HOME` of
 * `~/.cache/llamafile-bench/xdg`), so that the user's runs keep their CPU backend.
 */
async function ensureNativeBuild(log: (line: string) => void): Promise<string | null> {
  const cpuinfo = cpuinfoText();
  if (cpuinfo === null) return null;
  const xdg = cacheDir("xdg");
  const env = { XDG_CACHE_HOME: xdg };
  const find = () => {
    const saved = Deno.env.get("XDG_CACHE_HOME");
    Deno.env.set("XDG_CACHE_HOME", xdg);
    try {
      return verifiedNativeBuild(cpuinfo);
    } finally {
      if (saved === undefined) Deno.env.delete("XDG_CACHE_HOME");
      else Deno.env.set("XDG_CACHE_HOME", saved);
    }
  };
  const built = find();
  if (built !== null) return built;
  log("llamafile --build-native (once; about 4 minutes on 2 busy cores)");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-all", `${ROOT}/cli.ts`, "--build-native", "-m", STORIES],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    log(`no native build: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`);
    return null;
  }
  return find();
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

function cpuName(): string {
  return /^model name\s*:\s*(.*)$/m.exec(cpuinfoText() ?? "")?.[1] ?? "unknown";
}

function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

if (import.meta.main) {
  const o = parseOptions(Deno.args);
  const nPrompt = o.quick ? 128 : 512;
  const nGen = o.quick ? 32 : 128;
  const log = (line: string) => console.error(`bench: ${line}`);
  log(
    `threads ${o.threads}, rounds ${o.rounds}, reps ${o.reps}, model TinyLlama-1.1B shape ${o.type}`,
  );
  const model = await ensureSynthModel({ type: o.type }, { verbose: true });
  const native = await ensureNative({ verbose: false });
  let shared: SharedBench | null = null;
  try {
    shared = await ensureNativeShared({ verbose: true });
  } catch (error) {
    log(`native llama-bench over our libraries skipped: ${(error as Error).message}`);
  }
  const nativeBuild = o.skipNativeBuild ? null : await ensureNativeBuild(log);
  const loads: number[] = [loadAverage()];

  const samples: Record<string, number[]> = {};
  const push = (key: string, value: number) => (samples[key] ??= []).push(value);
  const bench = { threads: o.threads, reps: o.reps, flashAttn: "off" as const, nPrompt, nGen };
  for (let round = 0; round < o.rounds; round++) {
    log(`round ${round + 1}/${o.rounds}: native (static, GGML_NATIVE)`);
    const n = await runLlamaBench(model, bench);
    push("pp.native", n.pp);
    push("tg.native", n.tg);
    if (shared !== null) {
      log(`round ${round + 1}/${o.rounds}: native llama-bench over our libraries`);
      const s = await runSharedLlamaBench(shared, model, shared.prebuiltCpu, bench);
      push("pp.native_npm", s.pp);
      push("tg.native_npm", s.tg);
    }
    log(`round ${round + 1}/${o.rounds}: ours (prebuilt CPU variant)`);
    const a = await runOurs(model, o, true, "sync", nPrompt, nGen, "prebuilt");
    push("pp.ours", a.pp);
    push("tg.ours", a.tg);
    push("load.ours", a.loadMs);
    push("rss.ours", a.peakRssMiB);
    if (nativeBuild !== null) {
      log(`round ${round + 1}/${o.rounds}: ours (native build)`);
      const b = await runOurs(model, o, true, "sync", nPrompt, nGen, nativeBuild);
      push("pp.ours_native", b.pp);
      push("tg.ours_native", b.tg);
    }
    if (!o.skipNode) {
      log(`round ${round + 1}/${o.rounds}: node-llama-cpp`);
      const c = await runNodeLlamaCpp({
        model,
        threads: o.threads,
        reps: o.reps,
        nPrompt,
        nGen,
        flashAttention: false,
      });
      push("pp.node", c.pp512);
      push("tg.node", c.tg128);
      push("load.node", c.loadMs);
    }
    log(`round ${round + 1}/${o.rounds}: ours (repack off)`);
    const d = await runOurs(model, o, false, "sync", nPrompt, nGen, "prebuilt");
    push("pp.ours_norepack", d.pp);
    push("tg.ours_norepack", d.tg);
    push("load.ours_norepack", d.loadMs);
    push("rss.ours_norepack", d.peakRssMiB);
    log(`round ${round + 1}/${o.rounds}: ours (nonblocking decode, the server's)`);
    const e = await runOurs(model, o, true, "nonblocking", 0, nGen, "prebuilt");
    push("tg.ours_nonblocking", e.tg);
    loads.push(loadAverage());
  }
  const m = (key: string) => median(samples[key] ?? []);
  log("peak RSS of native llama-completion");
  const rssNative = await nativePeakRssMiB(native.completion, model, o.threads);

  log("start-up of a packed stories260K llamafile, step by step, and the yes/no loop");
  let start: StartUpResult | null = null;
  try {
    start = await measureStartUp({
      root: ROOT,
      completion: native.completion,
      rounds: o.quick ? 3 : 9,
      loopRuns: 20,
      llamaSource: cacheDir("native", "src"),
      log,
    });
  } catch (error) {
    log(`start-up skipped: ${(error as Error).message}`);
  }
  loads.push(loadAverage());

  let server: Awaited<ReturnType<typeof measureServers>> | null = null;
  if (!o.skipServer) {
    log("server: 1, 4 and 8 concurrent streams, ours and native llama-server interleaved");
    try {
      server = await measureServers({
        root: ROOT,
        model,
        threads: o.threads,
        maxTokens: o.quick ? 16 : 48,
        nativeServer: native.server,
        rounds: o.quick ? 1 : 2,
      });
    } catch (error) {
      log(`server skipped: ${(error as Error).message}`);
    }
  }
  loads.push(loadAverage());

  let vision: Awaited<ReturnType<typeof measureVision>> | null = null;
  if (!o.skipVision) {
    log("vision: image encode and prompt against llama-mtmd-cli");
    try {
      vision = await measureVision({ threads: 1, rounds: o.quick ? 3 : 7, log });
    } catch (error) {
      log(`vision skipped: ${(error as Error).message}`);
    }
  }

  const pp = {
    native: m("pp.native"),
    native_over_our_libraries: m("pp.native_npm"),
    ours: m("pp.ours"),
    ours_native_build: m("pp.ours_native"),
    ours_norepack: m("pp.ours_norepack"),
    node_llama_cpp: m("pp.node"),
  };
  const tg = {
    native: m("tg.native"),
    native_over_our_libraries: m("tg.native_npm"),
    ours: m("tg.ours"),
    ours_native_build: m("tg.ours_native"),
    ours_norepack: m("tg.ours_norepack"),
    ours_nonblocking: m("tg.ours_nonblocking"),
    node_llama_cpp: m("tg.node"),
  };
  const best = {
    pp: Number.isFinite(pp.ours_native_build) ? pp.ours_native_build : pp.ours,
    tg: Number.isFinite(tg.ours_native_build) ? tg.ours_native_build : tg.ours,
  };
  const result = {
    machine: `${cpuName()}, ${navigator.hardwareConcurrency} logical CPUs`,
    load_average: { min: Math.min(...loads), max: Math.max(...loads), samples: loads },
    date: new Date().toISOString(),
    model:
      `synthetic TinyLlama-1.1B shape (22 layers, n_embd 2048, n_ff 5632, 32 heads, 4 KV heads, 32k vocab), ${o.type.toUpperCase()}`,
    threads: o.threads,
    quick: o.quick,
    rounds: o.rounds,
    flash_attn: "off",
    n_prompt: nPrompt,
    n_gen: nGen,
    native_build: nativeBuild,
    pp512: pp,
    tg128: tg,
    ratios: {
      pp_vs_native: best.pp / pp.native,
      tg_vs_native: best.tg / tg.native,
      pp_prebuilt_vs_native: pp.ours / pp.native,
      tg_prebuilt_vs_native: tg.ours / tg.native,
      pp_prebuilt_vs_native_over_our_libraries: pp.ours / pp.native_over_our_libraries,
      tg_prebuilt_vs_native_over_our_libraries: tg.ours / tg.native_over_our_libraries,
      tg_vs_node_llama_cpp: tg.ours / tg.node_llama_cpp,
    },
    load_ms: {
      ours: m("load.ours"),
      ours_norepack: m("load.ours_norepack"),
      node_llama_cpp: m("load.node"),
    },
    peak_rss_mib: {
      ours: m("rss.ours"),
      ours_norepack: m("rss.ours_norepack"),
      native_completion: rssNative,
    },
    start_up: start,
    server: server
      ? {
        slots: server.slots,
        ours: server.ours.streams,
        native_llama_server: server.native?.streams ?? null,
        ratios_vs_native: server.native === null ? null : Object.fromEntries(
          STREAM_COUNTS.map((n) => [
            `streams_${n}`,
            {
              tokens_per_second: server!.ours.streams[n]!.tokensPerSecond /
                server!.native!.streams[n]!.tokensPerSecond,
              ttft_p50: server!.ours.streams[n]!.ttftP50 / server!.native!.streams[n]!.ttftP50,
              ttft_p99: server!.ours.streams[n]!.ttftP99 / server!.native!.streams[n]!.ttftP99,
            },
          ]),
        ),
        health_ms_while_generating: server.healthMs,
      }
      : null,
    vision,
    samples,
  };

  const columns = [
    ["native llama.cpp", pp.native, tg.native],
    [
      "native llama-bench, our libraries",
      pp.native_over_our_libraries,
      tg.native_over_our_libraries,
    ],
    ["llamafile.ts", pp.ours, tg.ours],
    ["llamafile.ts, --build-native", pp.ours_native_build, tg.ours_native_build],
    ["llamafile.ts, no repack", pp.ours_norepack, tg.ours_norepack],
    ["node-llama-cpp", pp.node_llama_cpp, tg.node_llama_cpp],
  ] as const;
  const rows = [
    ["", ...columns.map((c) => c[0])],
    [`pp${nPrompt} tok/s`, ...columns.map((c) => fmt(c[1]))],
    [`tg${nGen} tok/s`, ...columns.map((c) => fmt(c[2]))],
    [
      "model load ms",
      "",
      "",
      fmt(result.load_ms.ours, 0),
      "",
      fmt(result.load_ms.ours_norepack, 0),
      fmt(result.load_ms.node_llama_cpp, 0),
    ],
    [
      "peak RSS MiB",
      fmt(rssNative, 0),
      "",
      fmt(result.peak_rss_mib.ours, 0),
      "",
      fmt(result.peak_rss_mib.ours_norepack, 0),
      "",
    ],
    ...(vision
      ? [
        [
          "image encode ms (llama-mtmd-cli)",
          fmt(vision.native.encodeMs),
          "",
          fmt(vision.ours.encodeMs),
          "",
          "",
          "",
        ],
        [
          `image prompt ms (${vision.ours.promptTokens} positions)`,
          fmt(vision.native.promptEvalMs),
          "",
          fmt(vision.ours.promptEvalMs),
          "",
          "",
          "",
        ],
      ]
      : []),
  ];
  const table = rows.map((r) => `| ${r.join(" | ")} |`);
  table.splice(1, 0, `|${" --- |".repeat(rows[0]!.length)}`);
  const lines = [
    `Machine: ${result.machine}; load average ${fmt(result.load_average.min)} to ${
      fmt(result.load_average.max)
    } during the run; threads ${o.threads}; ${result.model}; flash attention off; medians of ${o.rounds} interleaved round(s).`,
    "",
    ...table,
    "",
    `Ratios: prompt ${fmt(result.ratios.pp_vs_native, 2)}x native, decode ${
      fmt(result.ratios.tg_vs_native, 2)
    }x native (llamafile.ts with ${
      nativeBuild !== null ? "the --build-native CPU backend" : "the prebuilt CPU variant"
    }); with the prebuilt variant prompt ${fmt(result.ratios.pp_prebuilt_vs_native, 2)}x, decode ${
      fmt(result.ratios.tg_prebuilt_vs_native, 2)
    }x native, and ${fmt(result.ratios.pp_prebuilt_vs_native_over_our_libraries, 2)}x / ${
      fmt(result.ratios.tg_prebuilt_vs_native_over_our_libraries, 2)
    }x native llama-bench over the same libraries; decode ${
      fmt(result.ratios.tg_vs_node_llama_cpp, 2)
    }x node-llama-cpp; every step decoded off the JS thread (the server's way) tg ${
      fmt(tg.ours_nonblocking)
    } tok/s.`,
  ];
  if (start) {
    // A Deno-hosted start's floor: Deno's empty run plus libllama's own, one process start.
    const floor = start.floor;
    const floorMs = floor === null ? 0 : start.denoEmptyMs + floor.inPlaceMs - floor.processMs;
    lines.push(
      "",
      `Start-up to the first token (stories260K, medians of interleaved runs): packed llamafile ${
        fmt(start.oursWarmMs, 0)
      } ms warm, ${
        fmt(start.oursFirstMs, 0)
      } ms first run (extracts the runtime); native llama-completion ${
        fmt(start.nativeMs, 0)
      } ms (${fmt(start.oursWarmMs / start.nativeMs, 2)}x); CPU time ${
        fmt(start.oursCpuMs, 0)
      } ms against ${fmt(start.nativeCpuMs, 0)} ms. Checkout: deno task llamafile ${
        fmt(start.checkoutTaskMs, 0)
      } ms (three Deno processes), deno run cli.ts ${fmt(start.checkoutDirectMs, 0)} ms.`,
      "",
      `| step | ms |`,
      `| --- | --- |`,
      ...start.steps.map((s) => `| ${s.step} | ${fmt(s.ms)} |`),
      "",
      ...(floor === null ? [] : [
        `libllama's floor (bench/first_token.c: the llamafile's own libraries and CPU variant driven from C to the first token, no runtime): ${
          fmt(floor.inPlaceMs, 1)
        } ms in place from the llamafile, ${
          fmt(floor.bareMs, 1)
        } ms from the bare GGUF (first token ${
          JSON.stringify(floor.token)
        }). With an empty Deno run (${
          fmt(start.denoEmptyMs, 1)
        } ms; a process's own start and exit, ${
          fmt(floor.processMs, 1)
        } ms, counted once), a start hosted by Deno cannot go below about ${fmt(floorMs, 0)} ms (${
          fmt(floorMs / start.nativeMs, 2)
        }x native) before the app does anything.`,
        "",
      ]),
      ...(start.denoFloor === null ? [] : [
        `A Deno-hosted start's floor, measured (bench/first_token.ts: first_token.c's calls and nothing else, no argument parser, no sandbox, no check, made through Deno's FFI by the llamafile's own deno): ${
          fmt(start.denoFloor.inPlaceMs, 1)
        } ms in place from the llamafile (${
          fmt(start.denoFloor.inPlaceMs / start.nativeMs, 2)
        }x native), ${fmt(start.denoFloor.bareMs, 1)} ms from the bare GGUF (${
          fmt(start.denoFloor.bareMs / start.nativeMs, 2)
        }x; first token ${JSON.stringify(start.denoFloor.token)}).`,
        "",
      ]),
      `Yes/no loop (the grammar-forced question ${start.loop.runs} times in a sh loop): llamafile ${
        fmt(start.loop.oursMs, 0)
      } ms, native llama-completion ${fmt(start.loop.nativeMs, 0)} ms (${
        fmt(start.loop.oursMs / start.loop.nativeMs, 2)
      }x); answers: llamafile ${start.loop.oursAnswer}; llama-completion ${start.loop.nativeAnswer}.`,
    );
  }
  if (server) {
    const n = server.native;
    const cell = (f: { tokensPerSecond: number; ttftP50: number; ttftP99: number } | undefined) =>
      f === undefined
        ? ["", "", ""]
        : [fmt(f.tokensPerSecond), fmt(f.ttftP50, 0), fmt(f.ttftP99, 0)];
    const serverRows = [
      [
        "streams",
        "llamafile.ts tok/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "llama-server tok/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "tok/s ratio",
      ],
      ...STREAM_COUNTS.map((k) => [
        String(k),
        ...cell(server!.ours.streams[k]),
        ...cell(n?.streams[k]),
        n === null
          ? ""
          : `${fmt(server!.ours.streams[k]!.tokensPerSecond / n.streams[k]!.tokensPerSecond, 2)}x`,
      ]),
    ];
    const serverTable = serverRows.map((r) => `| ${r.join(" | ")} |`);
    serverTable.splice(1, 0, `|${" --- |".repeat(serverRows[0]!.length)}`);
    lines.push(
      "",
      `Server against native llama-server (both -np ${server.slots}, -c ${server.slots * 256}, ${
        result.model.split(",")[0]
      }, /completion streamed, ${o.quick ? 16 : 48} tokens per stream, medians of ${
        o.quick ? 1 : 2
      } round(s)):`,
      "",
      ...serverTable,
      "",
      `/health while ours generates 8 streams: p50 ${fmt(server.healthMs.p50, 2)} ms, max ${
        fmt(server.healthMs.max, 2)
      } ms.`,
    );
  }
  if (vision) {
    lines.push(
      `Image (${vision.image}, synthetic Gemma-3 text model with mmproj-tinygemma3, 1 thread, medians of ${vision.rounds}): encode ${
        fmt(vision.ours.encodeMs)
      } ms, prompt (${vision.ours.promptTokens} positions) ${
        fmt(vision.ours.promptEvalMs)
      } ms; llama-mtmd-cli ${fmt(vision.native.encodeMs)} ms and ${
        fmt(vision.native.promptEvalMs)
      } ms; whole run ${fmt(vision.ours.wallMs, 0)} ms against ${fmt(vision.native.wallMs, 0)} ms.`,
    );
  }
  console.log(lines.join("\n"));
  await Deno.mkdir(`${ROOT}/bench`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}/bench/latest.json`, JSON.stringify(result, null, 2) + "\n");
  await Deno.writeTextFile(`${ROOT}/bench/latest.md`, lines.join("\n") + "\n");
  log(`wrote bench/latest.json`);
}
