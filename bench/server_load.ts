/**
 * Server throughput: aggregate generated tokens/s at 1, 4 and 8 concurrent streaming
 * requests against one server process with 8 slots, and /health latency while it generates.
 *
 * @module
 */

/** Inputs of {@linkcode measureServer}. */
export interface ServerLoadOptions {
  root: string;
  model: string;
  threads: number;
  maxTokens: number;
}

/** Aggregate tok/s per stream count, and /health latency percentiles (ms). */
export interface ServerLoadResult {
  slots: number;
  streams: Record<number, number>;
  healthMs: { p50: number; max: number; samples: number };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function streamOne(base: string, prompt: string, maxTokens: number): Promise<number> {
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
      } else {
        tokens++;
      }
    }
  }
  return tokens;
}

/** Starts the server on `model` and measures it. */
export async function measureServer(o: ServerLoadOptions): Promise<ServerLoadResult> {
  const port = freePort();
  const slots = 8;
  const child = new Deno.Command(Deno.execPath(), {
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
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 120_000;
    while (true) {
      if (Date.now() > deadline) throw new Error("the server did not become healthy in 120 s");
      try {
        const r = await fetch(`${base}/health`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await streamOne(base, "warm up", 4);
    const streams: Record<number, number> = {};
    const health: number[] = [];
    for (const n of [1, 4, 8]) {
      let polling = n === 8;
      const poller = (async () => {
        while (polling) {
          const t = performance.now();
          const r = await fetch(`${base}/health`);
          await r.body?.cancel();
          health.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const start = performance.now();
      const counts = await Promise.all(
        Array.from(
          { length: n },
          (_, i) => streamOne(base, `Story number ${i}: once upon a time`, o.maxTokens),
        ),
      );
      const seconds = (performance.now() - start) / 1000;
      polling = false;
      await poller;
      streams[n] = counts.reduce((a, b) => a + b, 0) / seconds;
    }
    const sorted = [...health].sort((a, b) => a - b);
    return {
      slots,
      streams,
      healthMs: {
        p50: sorted[Math.floor(sorted.length / 2)] ?? NaN,
        max: sorted[sorted.length - 1] ?? NaN,
        samples: sorted.length,
      },
    };
  } finally {
    child.kill("SIGTERM");
    await child.stderr.cancel();
    await child.status;
  }
}
