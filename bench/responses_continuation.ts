/**
 * Time to first token of a Responses API turn continued with `previous_response_id`, against
 * the same conversation sent whole: warm (the slot still holds it, so only the new turn is
 * evaluated either way) and cold (`cache_prompt: false`, every token evaluated, as a stateless
 * server without prefix reuse would). One server with 2 slots, streaming requests, greedy.
 *
 * ```sh
 * deno run -A bench/responses_continuation.ts                 # stories260K (ChatML), fast
 * deno run -A bench/responses_continuation.ts --synthetic     # TinyLlama-1.1B shape, Q4_0
 * ```
 *
 * Options: `--turns N` (default 6), `--tokens N` per answer (default 120), `--reps N` (default
 * 3, medians), `--threads N` (default 1), `--model PATH`.
 *
 * @module
 */
import { ensureSynthModel, sharedModel } from "./synth_model.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

interface Options {
  model: string;
  synthetic: boolean;
  turns: number;
  tokens: number;
  reps: number;
  threads: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const synthetic = args.includes("--synthetic");
  return {
    model: value("--model") ?? "",
    synthetic,
    turns: Number(value("--turns") ?? 6),
    tokens: Number(value("--tokens") ?? 120),
    reps: Number(value("--reps") ?? 3),
    threads: Number(value("--threads") ?? 1),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Turn {
  /** Milliseconds from sending the request to the first output text. */
  ttftMs: number;
  id: string;
  text: string;
  inputTokens: number;
  cachedTokens: number;
}

/** Streams one Responses request and times its first text delta. */
async function turn(base: string, body: Record<string, unknown>): Promise<Turn> {
  const start = performance.now();
  const response = await fetch(`${base}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, temperature: 0 }),
  });
  if (!response.ok || !response.body) {
    throw new Error(`/v1/responses answered ${response.status}: ${await response.text()}`);
  }
  let ttftMs = NaN;
  let buffer = "";
  let final: Record<string, unknown> | null = null;
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data === undefined) continue;
      const event = JSON.parse(data);
      if (event.type === "response.output_text.delta" && Number.isNaN(ttftMs)) {
        ttftMs = performance.now() - start;
      }
      if (event.type === "response.completed" || event.type === "response.incomplete") {
        final = event.response;
      }
      if (event.type === "error") throw new Error(`stream error: ${data}`);
    }
  }
  if (final === null) throw new Error("the stream ended without a response");
  const usage = final.usage as {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
  };
  const output = final.output as { type: string; content?: { text: string }[] }[];
  return {
    ttftMs,
    id: final.id as string,
    text: output.filter((o) => o.type === "message").map((o) => o.content![0]!.text).join(""),
    inputTokens: usage.input_tokens,
    cachedTokens: usage.input_tokens_details.cached_tokens,
  };
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const model = o.model !== ""
    ? o.model
    : o.synthetic
    ? await ensureSynthModel({ type: "q4_0" }, { verbose: true })
    : sharedModel("stories260K-chatml-test.gguf");
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-ffi",
      "--allow-env",
      `--allow-net=127.0.0.1:${port}`,
      `${ROOT}/cli.ts`,
      "--server",
      "--nobrowser",
      "--port",
      String(port),
      "-m",
      model,
      "-np",
      "2",
      "-c",
      "8192",
      "-t",
      String(o.threads),
      "--chat-template",
      "chatml",
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`${base}/health`);
        if (r.ok && (await r.json()).status === "ok") break;
      } catch {
        // not listening yet
      }
      if (i > 1200) throw new Error("the server did not become healthy");
      await new Promise((r) => setTimeout(r, 100));
    }
    const ask = { model: "bench", max_output_tokens: o.tokens, instructions: "You tell stories." };
    const inputs = Array.from(
      { length: o.turns },
      (_, i) =>
        i === 0 ? "Tell me a long story about a cat." : `Turn ${i + 1}: what happened next?`,
    );
    // Build the conversation up to its last turn.
    const history: { role: string; content: string }[] = [];
    let previous: Turn | null = null;
    for (const input of inputs.slice(0, -1)) {
      previous = await turn(base, {
        ...ask,
        input,
        ...(previous && { previous_response_id: previous.id }),
      });
      history.push({ role: "user", content: input }, { role: "assistant", content: previous.text });
    }
    // Each measured turn is new to the server (its text differs from its first word on), as a
    // real next turn is; only the conversation before it may come from a slot.
    const last = (r: number, take: string) => `${take}${r}. ${inputs.at(-1)!}`;
    const whole = (input: string) => [...history, { role: "user", content: input }];
    const continued: Turn[] = [];
    const warm: Turn[] = [];
    const cold: Turn[] = [];
    for (let r = 0; r < o.reps; r++) {
      continued.push(
        await turn(base, {
          ...ask,
          input: last(r, "Alpha"),
          previous_response_id: previous!.id,
          store: false,
        }),
      );
      warm.push(await turn(base, { ...ask, input: whole(last(r, "Bravo")), store: false }));
      cold.push(
        await turn(base, {
          ...ask,
          input: whole(last(r, "Charlie")),
          store: false,
          cache_prompt: false,
        }),
      );
    }
    const row = (name: string, runs: Turn[]) =>
      `| ${name} | ${runs[0]!.inputTokens} | ${median(runs.map((t) => t.cachedTokens))} | ${
        median(runs.map((t) => t.ttftMs)).toFixed(1)
      } |`;
    console.log(
      `model ${
        model.split("/").pop()
      }, ${o.turns} turns of ${o.tokens} tokens, ${o.threads} thread(s), medians of ${o.reps}\n`,
    );
    console.log("| turn sent as | prompt tokens | from cache | time to first token ms |");
    console.log("| --- | --- | --- | --- |");
    console.log(row("previous_response_id", continued));
    console.log(row("whole conversation, slot warm", warm));
    console.log(row("whole conversation, cache_prompt false", cold));
    const speedup = median(cold.map((t) => t.ttftMs)) / median(continued.map((t) => t.ttftMs));
    console.log(
      `\ncontinued turn: ${
        speedup.toFixed(1)
      }x faster to first token than sent whole and evaluated`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

if (import.meta.main) await main();
