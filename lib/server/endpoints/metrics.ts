/**
 * `GET /metrics` (with `--metrics`; 501 otherwise, as llama.cpp): Prometheus text with
 * llama.cpp's metric names and help lines (`llamacpp:prompt_tokens_total`,
 * `llamacpp:tokens_predicted_total`, `llamacpp:n_decode_total`, `llamacpp:requests_processing`,
 * ...). Embedding and reranking work counts as prompt tokens and decode calls.
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { SchedulerStats } from "../../engine/slots.ts";
import type { ServerState } from "../api/server_state.ts";

/** Renders scheduler counters (embedding work added in) as Prometheus text. */
export function prometheusText(stats: SchedulerStats): string {
  const perSecond = (n: number, ms: number) => (ms > 0 ? (1000 * n) / ms : 0);
  const counters: [string, string, number][] = [
    [
      "prompt_tokens_total",
      "Number of prompt tokens processed, excluding cached tokens",
      stats.promptTokensTotal,
    ],
    [
      "prompt_tokens_cached_total",
      "Number of prompt tokens reused from the cache",
      stats.promptTokensCachedTotal,
    ],
    ["prompt_seconds_total", "Total time spent processing prompts", stats.promptMsTotal / 1000],
    ["tokens_predicted_total", "Number of generation tokens processed", stats.generatedTokensTotal],
    [
      "tokens_predicted_seconds_total",
      "Total time spent generating tokens",
      stats.generateMsTotal / 1000,
    ],
    [
      "n_decode_total",
      "Total number of llama_decode() calls, excluding speculative decoding",
      stats.decodeCalls,
    ],
    ["n_tokens_max", "Largest observed sequence length (prompt + generation)", stats.tokensMax],
    ["spec_decode_num_draft_tokens_total", "Speculative: Total draft tokens generated", 0],
    [
      "spec_decode_num_accepted_tokens_total",
      "Speculative: Total draft tokens accepted by the target model",
      0,
    ],
    [
      "spec_decode_num_drafts_total",
      "Speculative: Total speculative decoding verification steps",
      0,
    ],
    ["requests_total", "Number of requests started on a slot", stats.requestsTotal],
  ];
  const gauges: [string, string, number][] = [
    [
      "prompt_tokens_seconds",
      "Average prompt throughput in tokens/s",
      perSecond(stats.promptTokensTotal, stats.promptMsTotal),
    ],
    [
      "predicted_tokens_seconds",
      "Average generation throughput in tokens/s",
      perSecond(stats.generateStepsTotal, stats.generateMsTotal),
    ],
    ["requests_processing", "Number of requests processing", stats.busy],
    ["requests_deferred", "Number of requests deferred", stats.queued],
    [
      "n_busy_slots_per_decode",
      "Average number of busy slots per llama_decode() call",
      stats.busySlotsTotal / Math.max(1, stats.decodeCalls),
    ],
    ["slots_total", "Number of slots", stats.slots],
  ];
  let text = "";
  for (const [type, items] of [["counter", counters], ["gauge", gauges]] as const) {
    for (const [name, help, value] of items) {
      text +=
        `# HELP llamacpp:${name} ${help}\n# TYPE llamacpp:${name} ${type}\nllamacpp:${name} ${value}\n`;
    }
  }
  return text;
}

/** The handler of `GET /metrics`. */
export function metrics(state: ServerState): Handler<AppEnv> {
  return function metrics(_c) {
    const engine = state.engine();
    const stats = engine.scheduler.stats();
    stats.promptTokensTotal += engine.embedder.tokensTotal;
    stats.decodeCalls += engine.embedder.decodeCalls;
    // A Response of our own: Hono's c.body() lower-cases header names, and llama.cpp's clients
    // look this one up as written.
    return new Response(prometheusText(stats), {
      status: 200,
      headers: {
        "Content-Type": "text/plain; version=0.0.4",
        "Process-Start-Time-Unix": String(state.config.startedAt),
      },
    });
  };
}
