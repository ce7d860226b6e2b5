/**
 * Server throughput against native `llama-server` (built from the same release): aggregate
 * generated tokens/s at 1, 4 and 8 concurrent streaming requests to one server process with 8
 * slots, time to first token (p50, p99 over every stream), and /health latency while ours
 * generates. Each round starts our server, measures it, stops it, then does the same with
 * llama-server (A B A B ...); the figures are medians over rounds.
 *
 * @module
 */

/** Inputs of {@linkcode measureServers}. */
export interface ServerLoadOptions {
  root: string;
  model: string;
  threads: number;
  maxTokens: number;
  /** The native `llama-server`, or `null` to measure ours only. */
  nativeServer: string | null;
  /** Rounds (each server once per round). */
  rounds: number;
}

/** What one server did at one stream count. */
export interface StreamFigures {
  /** Aggregate generated tokens per second. */
  tokensPerSecond: number;
  /** Time to first token, ms, over every stream of every round. */
  ttftP50: number;
  ttftP99: number;
}

/** The figures of one server. */
export interface ServerFigures {
  streams: Record<number, StreamFigures>;
}

/** Both servers' figures, and ours' /health latency while generating. */
export interface ServerLoadResult {
  slots: number;
  ours: ServerFigures;
  native: ServerFigures | null;
  healthMs: { p50: number; max: number; samples: number };
}

/** The stream counts measured. */
export const STREAM_COUNTS = [1, 4, 8] as const;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** One streamed `/completion`: its generated tokens and the ms to its first token. */
async function streamOne(
  base: string,
  prompt: string,
  maxTokens: number,
): Promise<{ tokens: number; ttftMs: number }> {
  const start = performance.now();
  const response = await fetch(`${base}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      prompt,
      n_predict: maxTokens,
      stream: true,
      temperature: 0,
      ignore_eos: true,
      cache_prompt: false,
    }),
  });
  if (!response.ok || !response.body) throw new Error(`/completion answered ${response.status}`);
  let tokens = 0;
  let ttftMs = NaN;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const data = event.replace(/^data: /, "");
      if (!data.startsWith("{")) continue;
      const parsed = JSON.parse(data);
      if (parsed.stop) {
        tokens = parsed.tokens_predicted ?? parsed.timings?.predicted_n ?? tokens;
      } else if ((parsed.tokens?.length ?? 0) > 0 || (parsed.content ?? "") !== "") {
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
        tokens++;
      }
    }
  }
  return { tokens, ttftMs };
}

async function waitHealthy(base: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 180_000;
  let exited = false;
  child.status.then(() => (exited = true));
  while (true) {
    if (exited) throw new Error(`the server at ${base} exited before it became healthy`);
    if (Date.now() > deadline) throw new Error("the server did not become healthy in 180 s");
    try {
      const r = await fetch(`${base}/health`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The command line of one server: ours (`cli.ts --server`) or llama-server. */
function serverCommand(
  o: ServerLoadOptions,
  kind: "ours" | "native",
  port: number,
  slots: number,
): Deno.Command {
  const common = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "-m",
    o.model,
    "-np",
    String(slots),
    "-c",
    String(slots * 256),
    "-t",
    String(o.threads),
  ];
  if (kind === "native") {
    return new Deno.Command(o.nativeServer!, {
      args: [...common, "--no-webui"],
      stdout: "null",
      stderr: "piped",
    });
  }
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-ffi",
      "--allow-env",
      `--allow-net=127.0.0.1:${port}`,
      `${o.root}/cli.ts`,
      "--server",
      "--nobrowser",
      ...common,
    ],
    stdout: "null",
    stderr: "piped",
  });
}

/** Starts one server, measures 1, 4 and 8 streams, stops it. */
async function measureOne(
  o: ServerLoadOptions,
  kind: "ours" | "native",
  slots: number,
  health: number[] | null,
): Promise<Record<number, { tps: number; ttft: number[] }>> {
  const port = freePort();
  const child = serverCommand(o, kind, port, slots).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(base, child);
    await streamOne(base, "warm up", 4);
    const out: Record<number, { tps: number; ttft: number[] }> = {};
    for (const n of STREAM_COUNTS) {
      let polling = health !== null && n === 8;
      const poller = (async () => {
        while (polling) {
          const t = performance.now();
          const r = await fetch(`${base}/health`);
          await r.body?.cancel();
          health!.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const start = performance.now();
      const runs = await Promise.all(
        Array.from(
          { length: n },
          (_, i) => streamOne(base, `Story number ${i}: once upon a time`, o.maxTokens),
        ),
      );
      const seconds = (performance.now() - start) / 1000;
      polling = false;
      await poller;
      out[n] = {
        tps: runs.reduce((a, r) => a + r.tokens, 0) / seconds,
        ttft: runs.map((r) => r.ttftMs),
      };
    }
    return out;
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await stderr.catch(() => {});
  }
}

function figures(runs: Record<number, { tps: number; ttft: number[] }>[]): ServerFigures {
  const streams: Record<number, StreamFigures> = {};
  for (const n of STREAM_COUNTS) {
    const ttft = runs.flatMap((r) => r[n]!.ttft);
    streams[n] = {
      tokensPerSecond: median(runs.map((r) => r[n]!.tps)),
      ttftP50: percentile(ttft, 50),
      ttftP99: percentile(ttft, 99),
    };
  }
  return { streams };
}

/** Measures our server and native llama-server, interleaved by rounds. */
export async function measureServers(o: ServerLoadOptions): Promise<ServerLoadResult> {
  const slots = 8;
  const ours: Record<number, { tps: number; ttft: number[] }>[] = [];
  const native: Record<number, { tps: number; ttft: number[] }>[] = [];
  const health: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    ours.push(await measureOne(o, "ours", slots, health));
    if (o.nativeServer !== null) native.push(await measureOne(o, "native", slots, null));
  }
  const sorted = [...health].sort((a, b) => a - b);
  return {
    slots,
    ours: figures(ours),
    native: native.length > 0 ? figures(native) : null,
    healthMs: {
      p50: sorted[Math.floor(sorted.length / 2)] ?? NaN,
      max: sorted[sorted.length - 1] ?? NaN,
      samples: sorted.length,
    },
  };
}

/** Markdown rows of `result`: tok/s and TTFT per stream count, ours against native. */
export function serverTable(result: ServerLoadResult): string[] {
  const fmt = (x: number | undefined, digits = 1) =>
    x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
  const rows = [[
    "streams",
    "llamafile.ts tok/s",
    "llama-server tok/s",
    "ratio",
    "TTFT p50 ms (ours / native)",
    "TTFT p99 ms (ours / native)",
  ]];
  for (const n of STREAM_COUNTS) {
    const a = result.ours.streams[n]!;
    const b = result.native?.streams[n];
    rows.push([
      String(n),
      fmt(a.tokensPerSecond),
      fmt(b?.tokensPerSecond),
      b === undefined ? "n/a" : `${fmt(a.tokensPerSecond / b.tokensPerSecond, 2)}x`,
      `${fmt(a.ttftP50, 0)} / ${fmt(b?.ttftP50, 0)}`,
      `${fmt(a.ttftP99, 0)} / ${fmt(b?.ttftP99, 0)}`,
    ]);
  }
  const lines = rows.map((r) => `| ${r.join(" | ")} |`);
  lines.splice(1, 0, `|${" --- |".repeat(rows[0]!.length)}`);
  return lines;
}

// `deno run -A bench/server_load.ts [--threads N] [--rounds N] [--max-tokens N]`: the server
// part of `deno task bench` alone (synthetic TinyLlama-1.1B shape, Q4_0), printed as markdown.
if (import.meta.main) {
  const { ensureNative } = await import("./native.ts");
  const { ensureSynthModel } = await import("./synth_model.ts");
  const value = (name: string, fallback: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  };
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
  const model = await ensureSynthModel({ type: "q4_0" }, { verbose: true });
  const native = await ensureNative({ verbose: false });
  const result = await measureServers({
    root,
    model,
    threads: value("--threads", 2),
    maxTokens: value("--max-tokens", 48),
    nativeServer: native.server,
    rounds: value("--rounds", 2),
  });
  console.log(JSON.stringify(result));
  console.log(serverTable(result).join("\n"));
  console.log(
    `/health while ours generates: p50 ${result.healthMs.p50.toFixed(2)} ms, max ${
      result.healthMs.max.toFixed(2)
    } ms (${result.healthMs.samples} samples)`,
  );
}
