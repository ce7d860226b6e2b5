/**
 * `deno task soak`: a server with `-np 4` (sandboxed, as a user starts it) under K concurrent
 * clients for M minutes: streamed and plain chat and completion requests, about 20% of the
 * streams abandoned at a random point, about 5% bad requests. It samples the server's RSS every
 * 10 s and `/health` every 250 ms, then prints: requests sent, completed, failed by status,
 * never finished, latency p50/p99, `/health` p99, and the RSS slope over the
 * run's second half (MB per 1,000 requests).
 *
 * ```sh
 * deno task soak --minutes 20 --streams 8 [--seed 1]
 * ```
 *
 * @module
 */
import { readProcText } from "../ffi/proc.ts";
import { Rng } from "./rng.ts";
import { CHAT_MODEL, startServer } from "./server_process.ts";

/** What a soak run measured. */
export interface SoakReport {
  sent: number;
  completed: number;
  abandoned: number;
  /** Answers that were errors, by status (0: the connection failed). */
  failed: Record<string, number>;
  /** Requests with no complete answer within 60 s. */
  neverFinished: number;
  /** 5xx answers other than 503 with Retry-After. */
  unexpected5xx: number;
  latencyP50: number;
  latencyP99: number;
  healthP99: number;
  healthFailures: number;
  /** MB of RSS per 1,000 requests (least squares over the samples). */
  rssSlope: number;
  rssSamples: { requests: number; mb: number }[];
  serverAlive: boolean;
  seconds: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function slope(points: { requests: number; mb: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.requests, 0) / n;
  const my = points.reduce((a, p) => a + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.requests - mx) * (p.mb - my);
    den += (p.requests - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1000;
}

function rssMb(pid: number): number {
  const status = readProcText(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s*(\d+) kB/m.exec(status ?? "")?.[1] ?? NaN);
  return kb / 1024;
}

const STORY = ["Tell me a story.", "Once upon a time", "What did the cat do?", "Lily and the ball"];

/** One client request: kind, body, whether to abandon a stream, and whether it is bad. */
function requestFor(rng: Rng): { path: string; body: string; stream: boolean; abandonAt: number } {
  const chat = rng.chance(0.5);
  const stream = rng.chance(0.5);
  const bad = rng.chance(0.05);
  const tokens = 8 + rng.int(40);
  let body: Record<string, unknown> = chat
    ? { messages: [{ role: "user", content: rng.pick(STORY) }], max_tokens: tokens, stream }
    : { prompt: rng.pick(STORY), n_predict: tokens, stream };
  if (bad) {
    body = rng.pick([
      { ...body, temperature: "hot" },
      { ...body, max_tokens: -5, n_predict: -5 },
      { messages: "not a list" },
      { ...body, grammar: "root ::= [z-a]" },
    ]);
  }
  const path = chat ? "/v1/chat/completions" : "/completion";
  const abandonAt = stream && rng.chance(0.2) ? 1 + rng.int(10) : -1;
  return { path, body: JSON.stringify(body), stream, abandonAt };
}

/** Runs the soak; returns its report. */
export async function soak(
  options: { minutes: number; streams: number; seed: number; log?: (line: string) => void },
): Promise<SoakReport> {
  const log = options.log ?? ((line: string) => console.error(line));
  await using server = await startServer([
    "-m",
    CHAT_MODEL,
    "-t",
    "1",
    "-c",
    "4096",
    "-np",
    "4",
    "--timeout",
    "60",
  ]);
  const report: SoakReport = {
    sent: 0,
    completed: 0,
    abandoned: 0,
    failed: {},
    neverFinished: 0,
    unexpected5xx: 0,
    latencyP50: 0,
    latencyP99: 0,
    healthP99: 0,
    healthFailures: 0,
    rssSlope: 0,
    rssSamples: [],
    serverAlive: true,
    seconds: 0,
  };
  const latencies: number[] = [];
  const health: number[] = [];
  const started = performance.now();
  const until = started + options.minutes * 60_000;
  const fail = (status: number) => {
    report.failed[String(status)] = (report.failed[String(status)] ?? 0) + 1;
  };

  const client = async (id: number) => {
    const rng = new Rng(options.seed * 1000 + id);
    while (performance.now() < until && server.alive()) {
      const request = requestFor(rng);
      report.sent++;
      const t0 = performance.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error("never finished")), 60_000);
      try {
        const response = await fetch(`${server.url}${request.path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: request.body,
          signal: controller.signal,
        });
        if (response.status >= 400) {
          await response.body?.cancel();
          fail(response.status);
          if (
            response.status >= 500 &&
            !(response.status === 503 && response.headers.has("retry-after"))
          ) {
            report.unexpected5xx++;
          }
          continue;
        }
        if (request.stream && request.abandonAt > 0) {
          const reader = response.body!.getReader();
          for (let i = 0; i < request.abandonAt; i++) if ((await reader.read()).done) break;
          await reader.cancel();
          report.abandoned++;
          continue;
        }
        const text = await response.text();
        const complete = request.stream
          ? text.trimEnd().endsWith("data: [DONE]") || /"stop":\s*true/.test(text)
          : text.trimEnd().endsWith("}");
        if (!complete) {
          fail(-1);
          continue;
        }
        report.completed++;
        latencies.push(performance.now() - t0);
      } catch (error) {
        if (controller.signal.aborted) report.neverFinished++;
        else fail(0);
        void error;
      } finally {
        clearTimeout(timer);
      }
    }
  };

  const pinger = async () => {
    while (performance.now() < until && server.alive()) {
      const t0 = performance.now();
      try {
        const response = await fetch(`${server.url}/health`, {
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        if (response.status === 200) health.push(performance.now() - t0);
        else report.healthFailures++;
      } catch {
        report.healthFailures++;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const sampler = async () => {
    while (performance.now() < until && server.alive()) {
      report.rssSamples.push({ requests: report.sent, mb: rssMb(server.pid) });
      const next = Math.min(until, performance.now() + 10_000);
      while (performance.now() < next && server.alive()) {
        await new Promise((r) => setTimeout(r, 250));
      }
      log(
        `soak: ${((performance.now() - started) / 1000).toFixed(0)} s, ${report.sent} sent, ` +
          `${report.completed} completed, rss ${report.rssSamples.at(-1)?.mb.toFixed(1)} MB`,
      );
    }
  };

  await Promise.all([
    ...Array.from({ length: options.streams }, (_, i) => client(i)),
    pinger(),
    sampler(),
  ]);
  report.serverAlive = server.alive();
  report.rssSamples.push({ requests: report.sent, mb: rssMb(server.pid) });
  report.latencyP50 = percentile(latencies, 50);
  report.latencyP99 = percentile(latencies, 99);
  report.healthP99 = percentile(health, 99);
  // The first minute or so holds start-up growth (four slots' buffers, V8's heap reaching its
  // working size: 65 -> 145 MB, then flat over a 6-minute run): the slope is of the second half
  // of the run, where a leak would still climb and warm-up no longer does.
  report.rssSlope = slope(report.rssSamples.slice(Math.floor(report.rssSamples.length / 2)));
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** The report as the lines `deno task soak` prints. */
export function formatSoak(r: SoakReport): string[] {
  const failed = Object.entries(r.failed).map(([s, n]) =>
    `${s === "-1" ? "incomplete" : s === "0" ? "connection" : s}: ${n}`
  );
  return [
    `soak: ${
      r.seconds.toFixed(0)
    } s, ${r.sent} requests sent, ${r.completed} completed, ${r.abandoned} abandoned streams`,
    `soak: failed by status: ${
      failed.length > 0 ? failed.join(", ") : "none"
    }; never finished: ${r.neverFinished}; unexpected 5xx: ${r.unexpected5xx}`,
    `soak: latency p50 ${r.latencyP50.toFixed(0)} ms, p99 ${
      r.latencyP99.toFixed(0)
    } ms; /health p99 ${r.healthP99.toFixed(1)} ms (${r.healthFailures} failures)`,
    `soak: RSS ${r.rssSamples[0]?.mb.toFixed(1)} -> ${
      r.rssSamples.at(-1)?.mb.toFixed(1)
    } MB, slope ${r.rssSlope.toFixed(2)} MB per 1,000 requests; server ${
      r.serverAlive ? "alive" : "DEAD"
    }`,
  ];
}

if (import.meta.main) {
  const arg = (name: string, fallback: number) => {
    const at = Deno.args.indexOf(name);
    if (at < 0) return fallback;
    const value = Number(Deno.args[at + 1]);
    if (!Number.isFinite(value) || value <= 0) {
      console.error(
        `soak: Invalid value "${Deno.args[at + 1]}" for ${name}: expected a positive number`,
      );
      Deno.exit(2);
    }
    return value;
  };
  const report = await soak({
    minutes: arg("--minutes", 1),
    streams: arg("--streams", 8),
    seed: arg("--seed", 1),
  });
  for (const line of formatSoak(report)) console.log(line);
  const bad = report.neverFinished > 0 || report.unexpected5xx > 0 || !report.serverAlive ||
    report.healthFailures > 0;
  Deno.exit(bad ? 1 : 0);
}
