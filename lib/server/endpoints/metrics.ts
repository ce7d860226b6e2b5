/**
 * `GET /metrics`: Prometheus text with llama.cpp's metric names
 * (`llamacpp:prompt_tokens_total`, `llamacpp:tokens_predicted_total`,
 * `llamacpp:requests_processing`, `llamacpp:requests_deferred`, ...).
 *
 * @module
 */
import type { Handler } from "hono";
import type { AppEnv } from "../api/app_env.ts";
import type { SchedulerStats } from "../../engine/slots.ts";
import type { ServerState } from "../api/server_state.ts";

/** Renders scheduler counters as Prometheus text. */
export function prometheusText(stats: SchedulerStats): string {
  const perSecond = (n: number, ms: number) => (ms > 0 ? (1000 * n) / ms : 0);
  const counters: [string, string, number][] = [
    ["prompt_tokens_total", "Number of prompt tokens processed.", stats.promptTokensTotal],
    ["prompt_seconds_total", "Prompt process time", stats.promptMsTotal / 1000],
    [
      "tokens_predicted_total",
      "Number of generation tokens processed.",
      stats.generatedTokensTotal,
    ],
    ["tokens_predicted_seconds_total", "Predict process time", stats.generateMsTotal / 1000],
    ["n_decode_total", "Total number of llama_decode() calls", stats.decodeCalls],
    ["requests_total", "Number of requests started on a slot", stats.requestsTotal],
  ];
  const gauges: [string, string, number][] = [
    [
      "prompt_tokens_seconds",
      "Average prompt throughput in tokens/s.",
      perSecond(stats.promptTokensTotal, stats.promptMsTotal),
    ],
    [
      "predicted_tokens_seconds",
      "Average generation throughput in tokens/s.",
      perSecond(stats.generatedTokensTotal, stats.generateMsTotal),
    ],
    ["requests_processing", "Number of requests processing.", stats.busy],
    ["requests_deferred", "Number of requests deferred.", stats.queued],
    ["slots_total", "Number of slots.", stats.slots],
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
  return function metrics(c) {
    const engine = state.engine();
    return c.body(prometheusText(engine.scheduler.stats()), 200, {
      "Content-Type": "text/plain; version=0.0.4",
      "Process-Start-Time-Unix": String(state.config.startedAt),
    });
  };
}
