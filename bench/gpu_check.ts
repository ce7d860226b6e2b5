/**
 * The measuring half of `bench/gpu_check.sh` (which builds the libraries and the model first):
 *
 * 1. Our CLI and our server as users run them (the sandbox on) with `-ngl 99 --gpu nvidia`:
 *    every thread in seccomp mode 2, every layer on CUDA0, one libggml-base mapped, the server
 *    answering once it can no longer open a file.
 * 2. Native `llama-bench` and `bench/ours_bench.ts` over the same libraries, interleaved
 *    (native, ours, native, ours, ...), every layer offloaded, flash attention on: pp512 and
 *    tg128 medians, ours/native, and tg128 against the memory-bandwidth bound (bandwidth ÷ the
 *    model's bytes: each generated token reads every weight once).
 *
 *   deno run -A bench/gpu_check.ts --model M.gguf --bench build/bin/llama-bench
 *     [--bandwidth 4.8] [--rounds 3] [--threads 4] [--out DIR] [--gpu-name NAME] [--mode nvidia]
 *
 * (`--mode vulkan` with `GGML_VK_VISIBLE_DEVICES=0` runs the same steps on lavapipe: a dry run
 * of this script without a GPU, whose figures mean nothing.)
 *
 * Needs `LLAMAFILE_LIBDIR` pointing at the libraries of the same build (with `cuda/`).
 *
 * @module
 */
import { cliPermissionFlags, serverPermissionFlags } from "../lib/sandbox/permissions.ts";
import { run } from "./cache_dir.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1]! : fallback;
}

/** The `--gpu` of our runs. */
const MODE = flag("mode", "nvidia");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** What `/proc/PID` shows of a running process: seccomp modes, and the ggml libraries mapped. */
function look(pid: number): { seccomp: string[]; ggmlBase: number; cuda: boolean } {
  const seccomp = [...Deno.readDirSync(`/proc/${pid}/task`)].map((task) =>
    /^Seccomp:\s*(\d)/m.exec(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/status`))
      ?.[1] ?? "?"
  );
  const libs = new Set(
    Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").map((l) => l.split(/\s+/).at(-1) ?? ""),
  );
  return {
    seccomp,
    ggmlBase: [...libs].filter((l) => /libggml-base\.so/.test(l)).length,
    cuda: [...libs].some((l) => l.endsWith("libggml-cuda.so")),
  };
}

/** The CLI, sandboxed, offloading to the GPU: what it printed and how it looked while it ran. */
async function cliCheck(model: string, threads: string) {
  const args = [
    "-m",
    model,
    "-p",
    "Once upon a time",
    "-n",
    "64",
    "-t",
    threads,
    "--temp",
    "0",
    "-ngl",
    "99",
    "--gpu",
    MODE,
    "--verbose",
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...cliPermissionFlags(), `${ROOT}/cli.ts`, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let seen: ReturnType<typeof look> | null = null;
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    seen ??= look(child.pid);
  }
  const { code } = await child.status;
  const lines = (await stderr).split("\n").filter((l) => l.startsWith("llamafile: "));
  return { code, lines, ...seen };
}

/** The server, sandboxed, offloading to the GPU: one completion once it is ready. */
async function serverCheck(model: string, threads: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const args = ["--server", "--nobrowser", "--port", String(port), "-m", model, "-t", threads];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...serverPermissionFlags({ host: "127.0.0.1", port }),
      `${ROOT}/cli.ts`,
      ...args,
      "-ngl",
      "99",
      "--gpu",
      MODE,
      "--verbose",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let content = "";
  let seen: ReturnType<typeof look> | null = null;
  try {
    for (let i = 0; i < 1200; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(async (r) =>
        r.ok && (await r.json()).status === "ok"
      ).catch(() => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const response = await fetch(`http://127.0.0.1:${port}/completion`, {
      method: "POST",
      body: JSON.stringify({ prompt: "Once upon a time", n_predict: 16, temperature: 0 }),
    });
    content = (await response.json()).content ?? "";
    seen = look(child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
  const lines = (await stderr).split("\n").filter((l) => l.startsWith("llamafile: "));
  return { tokensAnswered: content.length > 0, lines, ...seen };
}

async function native(bench: string, model: string, threads: string) {
  const rows = JSON.parse(
    await run(bench, [
      "-m",
      model,
      "-ngl",
      "99",
      "-fa",
      "1",
      "-t",
      threads,
      "-p",
      "512",
      "-n",
      "128",
      "-r",
      "3",
      "-o",
      "json",
    ], { quiet: true }),
  ) as { n_prompt: number; n_gen: number; avg_ts: number }[];
  return {
    pp: rows.find((r) => r.n_prompt === 512 && r.n_gen === 0)!.avg_ts,
    tg: rows.find((r) => r.n_prompt === 0 && r.n_gen === 128)!.avg_ts,
  };
}

async function ours(model: string, threads: string) {
  const out = JSON.parse(
    await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}/bench/ours_bench.ts`,
      "--model",
      model,
      "--n-gpu-layers",
      "all",
      "--gpu",
      MODE,
      "--flash-attn",
      "on",
      "--threads",
      threads,
      "--reps",
      "3",
    ], { quiet: true }),
  );
  return { pp: out.pp as number, tg: out.tg as number, bytes: out.modelBytes as number, out };
}

if (import.meta.main) {
  const model = flag("model", "");
  const bench = flag("bench", "");
  const bandwidth = Number(flag("bandwidth", "4.8")) * 1e12;
  const rounds = Number(flag("rounds", "3"));
  const threads = flag("threads", "4");
  const outDir = flag("out", ".");

  const cli = await cliCheck(model, threads);
  console.error(`gpu_check: CLI exit ${cli.code}; ${cli.lines.join("\n  ")}`);
  const server = await serverCheck(model, threads);
  console.error(`gpu_check: server answered: ${server.tokensAnswered}`);

  const results: { native: { pp: number; tg: number }[]; ours: { pp: number; tg: number }[] } = {
    native: [],
    ours: [],
  };
  let bytes = 0;
  let placement = "";
  for (let r = 0; r < rounds; r++) {
    results.native.push(await native(bench, model, threads));
    const o = await ours(model, threads);
    results.ours.push(o);
    bytes = o.bytes;
    placement = o.out.placement;
    console.error(
      `gpu_check: round ${r + 1}: native pp ${results.native.at(-1)!.pp.toFixed(0)} tg ${
        results.native.at(-1)!.tg.toFixed(1)
      }; ours pp ${o.pp.toFixed(0)} tg ${o.tg.toFixed(1)}`,
    );
  }
  const pick = (side: "native" | "ours", k: "pp" | "tg") => median(results[side].map((x) => x[k]));
  const bound = bandwidth / bytes;
  const summary = {
    gpu: flag("gpu-name", "unknown"),
    model: { path: model, bytes },
    placement,
    sandbox: {
      cli: {
        exit: cli.code,
        seccomp: [...new Set(cli.seccomp)],
        ggmlBaseCopies: cli.ggmlBase,
        cudaMapped: cli.cuda,
        lines: cli.lines,
      },
      server: {
        answered: server.tokensAnswered,
        seccomp: [...new Set(server.seccomp)],
        lines: server.lines,
      },
    },
    rounds,
    native: { pp512: pick("native", "pp"), tg128: pick("native", "tg") },
    ours: { pp512: pick("ours", "pp"), tg128: pick("ours", "tg") },
    ratio: {
      pp512: pick("ours", "pp") / pick("native", "pp"),
      tg128: pick("ours", "tg") / pick("native", "tg"),
    },
    bandwidthBound: {
      tbPerS: bandwidth / 1e12,
      tokPerS: bound,
      nativeFraction: pick("native", "tg") / bound,
      oursFraction: pick("ours", "tg") / bound,
    },
    samples: results,
  };
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/result.json`, JSON.stringify(summary, null, 2) + "\n");
  const f = (x: number, d = 1) => x.toFixed(d);
  const report = [
    `GPU: ${summary.gpu}; synthetic TinyLlama-1.1B Q4_0 (${
      f(bytes / 2 ** 20, 0)
    } MiB), ${placement}`,
    `sandbox: CLI exit ${cli.code}, seccomp ${
      summary.sandbox.cli.seccomp.join(",")
    }, libggml-base mapped ${cli.ggmlBase}x; server answered ${server.tokensAnswered}, seccomp ${
      summary.sandbox.server.seccomp.join(",")
    }`,
    `| | native llama-bench | llamafile.ts | ours/native |`,
    `| --- | --- | --- | --- |`,
    `| pp512 tok/s | ${f(summary.native.pp512, 0)} | ${f(summary.ours.pp512, 0)} | ${
      f(summary.ratio.pp512, 2)
    }x |`,
    `| tg128 tok/s | ${f(summary.native.tg128)} | ${f(summary.ours.tg128)} | ${
      f(summary.ratio.tg128, 2)
    }x |`,
    `tg128 bound at ${summary.bandwidthBound.tbPerS} TB/s: ${f(bound, 0)} tok/s; native reaches ${
      f(100 * summary.bandwidthBound.nativeFraction, 0)
    }%, ours ${f(100 * summary.bandwidthBound.oursFraction, 0)}%`,
  ].join("\n");
  await Deno.writeTextFile(`${outDir}/result.md`, report + "\n");
  console.log(report);
}
