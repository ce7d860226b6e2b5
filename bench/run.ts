/**
 * `deno task bench [--quick]`: llamafile.ts against native llama.cpp (llama-bench,
 * llama-completion built from the same release) and node-llama-cpp, interleaved in one run
 * (A B C A B C ..., medians over rounds). Prints a markdown table and writes bench/latest.json.
 *
 * Measures: pp512 / tg128 at the same threads and flash-attention setting (ours with weight
 * repacking on and off); model load time; peak RSS; cold start of a packed stories260K
 * llamafile to its first token against native llama-completion; server aggregate tokens/s at 1,
 * 4 and 8 concurrent streams and /health latency while generating; image encode and prompt time
 * against llama.cpp's llama-mtmd-cli (`vision_bench.ts`).
 *
 * @module
 */
import { ensureNative, runLlamaBench } from "./native.ts";
import { runNodeLlamaCpp } from "./node_llama_cpp.ts";
import { ensureSynthModel, type SynthType } from "./synth_model.ts";
import { measureColdStart } from "./cold_start.ts";
import { measureServer } from "./server_load.ts";
import { measureVision } from "./vision_bench.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

interface Options {
  quick: boolean;
  threads: number;
  rounds: number;
  reps: number;
  type: SynthType;
  skipServer: boolean;
  skipNode: boolean;
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

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

function cpuName(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ??
      "unknown";
  } catch {
    return "unknown";
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

  const samples: Record<string, number[]> = {};
  const push = (key: string, value: number) => (samples[key] ??= []).push(value);
  for (let round = 0; round < o.rounds; round++) {
    log(`round ${round + 1}/${o.rounds}: native`);
    const n = await runLlamaBench(model, {
      threads: o.threads,
      reps: o.reps,
      flashAttn: "off",
      nPrompt,
      nGen,
    });
    push("pp.native", n.pp);
    push("tg.native", n.tg);
    log(`round ${round + 1}/${o.rounds}: ours (repack on)`);
    const a = await runOurs(model, o, true, "nonblocking", nPrompt, nGen);
    push("pp.ours", a.pp);
    push("tg.ours", a.tg);
    push("load.ours", a.loadMs);
    push("rss.ours", a.peakRssMiB);
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
    const b = await runOurs(model, o, false, "nonblocking", nPrompt, nGen);
    push("pp.ours_norepack", b.pp);
    push("tg.ours_norepack", b.tg);
    push("load.ours_norepack", b.loadMs);
    push("rss.ours_norepack", b.peakRssMiB);
    log(`round ${round + 1}/${o.rounds}: ours (sync decode)`);
    const s = await runOurs(model, o, true, "sync", nPrompt, nGen);
    push("tg.ours_sync", s.tg);
  }
  const m = (key: string) => median(samples[key] ?? []);
  log("peak RSS of native llama-completion");
  const rssNative = await nativePeakRssMiB(native.completion, model, o.threads);

  log("cold start of a packed stories260K llamafile");
  let cold: Awaited<ReturnType<typeof measureColdStart>> | null = null;
  try {
    cold = await measureColdStart({
      root: ROOT,
      completion: native.completion,
      rounds: o.quick ? 3 : 7,
    });
  } catch (error) {
    log(`cold start skipped: ${(error as Error).message}`);
  }

  let server: Awaited<ReturnType<typeof measureServer>> | null = null;
  if (!o.skipServer) {
    log("server: 1, 4 and 8 concurrent streams");
    try {
      server = await measureServer({
        root: ROOT,
        model,
        threads: o.threads,
        maxTokens: o.quick ? 16 : 48,
      });
    } catch (error) {
      log(`server skipped: ${(error as Error).message}`);
    }
  }

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
    ours: m("pp.ours"),
    ours_norepack: m("pp.ours_norepack"),
    node_llama_cpp: m("pp.node"),
  };
  const tg = {
    native: m("tg.native"),
    ours: m("tg.ours"),
    ours_norepack: m("tg.ours_norepack"),
    ours_sync: m("tg.ours_sync"),
    node_llama_cpp: m("tg.node"),
  };
  const result = {
    machine: `${cpuName()}, ${navigator.hardwareConcurrency} logical CPUs`,
    date: new Date().toISOString(),
    model:
      `synthetic TinyLlama-1.1B shape (22 layers, n_embd 2048, n_ff 5632, 32 heads, 4 KV heads, 32k vocab), ${o.type.toUpperCase()}`,
    threads: o.threads,
    quick: o.quick,
    rounds: o.rounds,
    flash_attn: "off",
    n_prompt: nPrompt,
    n_gen: nGen,
    pp512: pp,
    tg128: tg,
    ratios: {
      tg_vs_native: tg.ours / tg.native,
      pp_vs_native: pp.ours / pp.native,
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
    cold_start_ms: cold
      ? { ours: cold.oursWarmMs, ours_first_run: cold.oursFirstMs, native: cold.nativeMs }
      : null,
    server: server
      ? {
        streams_1: server.streams[1],
        streams_4: server.streams[4],
        streams_8: server.streams[8],
        ratio_8_vs_1: server.streams[8]! / server.streams[1]!,
        health_ms_while_generating: server.healthMs,
        slots: server.slots,
      }
      : null,
    vision,
    samples,
  };

  const rows = [
    ["", "native llama.cpp", "llamafile.ts", "llamafile.ts (no repack)", "node-llama-cpp"],
    [
      `pp${nPrompt} tok/s`,
      fmt(pp.native),
      fmt(pp.ours),
      fmt(pp.ours_norepack),
      fmt(pp.node_llama_cpp),
    ],
    [
      `tg${nGen} tok/s`,
      fmt(tg.native),
      fmt(tg.ours),
      fmt(tg.ours_norepack),
      fmt(tg.node_llama_cpp),
    ],
    [
      "model load ms",
      "",
      fmt(result.load_ms.ours, 0),
      fmt(result.load_ms.ours_norepack, 0),
      fmt(result.load_ms.node_llama_cpp, 0),
    ],
    [
      "peak RSS MiB",
      fmt(rssNative, 0),
      fmt(result.peak_rss_mib.ours, 0),
      fmt(result.peak_rss_mib.ours_norepack, 0),
      "",
    ],
    ...(vision
      ? [
        [
          "image encode ms (llama-mtmd-cli)",
          fmt(vision.native.encodeMs),
          fmt(vision.ours.encodeMs),
          "",
          "",
        ],
        [
          `image prompt ms (${vision.ours.promptTokens} positions)`,
          fmt(vision.native.promptEvalMs),
          fmt(vision.ours.promptEvalMs),
          "",
          "",
        ],
      ]
      : []),
  ];
  const table = rows.map((r) => `| ${r.join(" | ")} |`);
  table.splice(1, 0, `|${" --- |".repeat(rows[0]!.length)}`);
  const lines = [
    `Machine: ${result.machine}; threads ${o.threads}; ${result.model}; flash attention off; medians of ${o.rounds} round(s).`,
    "",
    ...table,
    "",
    `Ratios: decode ${fmt(result.ratios.tg_vs_native, 2)}x native, prompt ${
      fmt(result.ratios.pp_vs_native, 2)
    }x native, ` +
    `decode ${fmt(result.ratios.tg_vs_node_llama_cpp, 2)}x node-llama-cpp; sync-decode variant tg ${
      fmt(tg.ours_sync)
    } tok/s.`,
  ];
  if (cold) {
    lines.push(
      `Cold start to first token (stories260K): llamafile ${fmt(cold.oursWarmMs, 0)} ms warm, ${
        fmt(cold.oursFirstMs, 0)
      } ms first run (extracts the runtime), native llama-completion ${fmt(cold.nativeMs, 0)} ms (${
        fmt(cold.oursWarmMs / cold.nativeMs, 2)
      }x).`,
    );
  }
  if (server) {
    lines.push(
      `Server (-np ${server.slots}, ${result.model.split(",")[0]}): 1 stream ${
        fmt(server.streams[1])
      } tok/s, 4 streams ${fmt(server.streams[4])}, 8 streams ${fmt(server.streams[8])} (${
        fmt(result.server!.ratio_8_vs_1, 2)
      }x); /health p50 ${fmt(server.healthMs.p50, 2)} ms, max ${
        fmt(server.healthMs.max, 2)
      } ms while generating.`,
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
