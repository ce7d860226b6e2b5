/**
 * Replicas behind a real load balancer, on loopback: two llamafile servers started through
 * `deploy/entrypoint.sh` (API key from a file), Debian's nginx with `deploy/nginx.conf` in
 * front. 200 requests (a quarter of them streamed) go through nginx; one replica is killed
 * (SIGKILL) mid-load, while it streams an answer. Every request must end in the complete greedy answer, possibly after a
 * clean, retryable failure (a 502/503/504, a dropped connection, a stream cut short before
 * `data: [DONE]`); none may hang or end in anything else; the survivor keeps serving. The
 * counts are printed.
 */
import assert from "node:assert/strict";
import { runCli, STORIES, STORIES_GREEDY } from "./helpers.ts";
import { packStories, type Replica, startNginx, startReplica } from "./deploy_helpers.ts";

const REQUESTS = 200;
const CONCURRENCY = 16;
const KILL_AFTER = 60;
const ATTEMPTS = 4;
const ATTEMPT_TIMEOUT_MS = 30_000;
const KEY = "replica-test-key-0123456789";
const PROMPT = "Once upon a time";
const TOKENS = 120;

/** How one attempt ended. */
type Outcome =
  | { kind: "complete" }
  | { kind: "retryable"; why: string; retryAfterMs: number }
  | { kind: "wrong"; why: string };

/**
 * One request. `onStreaming` is told which replica a stream comes from once its first bytes
 * arrived, and awaited before the rest is read.
 */
async function attempt(
  base: string,
  stream: boolean,
  expected: string,
  onStreaming: (upstream: string) => Promise<void>,
  tokens = TOKENS,
): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(`${base}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        prompt: PROMPT,
        max_tokens: tokens,
        temperature: 0,
        stream,
      }),
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return { kind: "wrong", why: "hung" };
    return { kind: "retryable", why: `connection: ${(error as Error).message}`, retryAfterMs: 50 };
  }
  if ([502, 503, 504].includes(response.status)) {
    const retryAfter = Number(response.headers.get("retry-after") ?? "0");
    await response.body?.cancel();
    return {
      kind: "retryable",
      why: `status ${response.status}`,
      retryAfterMs: Math.min(1000, retryAfter * 1000) || 50,
    };
  }
  if (response.status !== 200) {
    return { kind: "wrong", why: `status ${response.status}: ${await response.text()}` };
  }
  let text = "";
  try {
    if (!stream) {
      const body = await response.json();
      text = body.choices?.[0]?.text ?? "";
      if (body.choices?.[0]?.finish_reason !== "length") {
        return { kind: "wrong", why: `finish_reason ${body.choices?.[0]?.finish_reason}` };
      }
    } else {
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let raw = "";
      for (let first = true;; first = false) {
        const { value, done } = await reader.read();
        if (done) break;
        raw += value;
        if (first) await onStreaming(response.headers.get("x-upstream") ?? "");
      }
      let done = false;
      for (const event of raw.split("\n\n")) {
        const data = event.replace(/^data: /, "").trim();
        if (data === "") continue;
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        text += JSON.parse(data).choices?.[0]?.text ?? "";
      }
      if (!done) return { kind: "retryable", why: "stream cut short", retryAfterMs: 50 };
    }
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return { kind: "wrong", why: "hung" };
    // The body broke off (the replica died under it): the client sees an error, retries.
    return { kind: "retryable", why: `body: ${(error as Error).message}`, retryAfterMs: 50 };
  }
  if (text !== expected) return { kind: "wrong", why: `text ${JSON.stringify(text)}` };
  return { kind: "complete" };
}

Deno.test("nginx in front of two replicas: 200 requests, one replica killed mid-load, every request answered in full or retried cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nginx_replicas_" });
  const replicas: Replica[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | null = null;
  try {
    // The complete answer: what the CLI prints for the same greedy request.
    const reference = await runCli([
      "-m",
      STORIES,
      "-p",
      PROMPT,
      "-n",
      String(TOKENS),
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    const expected = reference.stdout;
    assert.ok(expected.startsWith(STORIES_GREEDY) && expected.length > 250);
    const llamafile = await packStories(dir);
    await Deno.writeTextFile(`${dir}/api-key`, `${KEY}\n`);
    const env = { LLAMAFILE_API_KEY_FILE: `${dir}/api-key` };
    await Deno.mkdir(`${dir}/cache`);
    replicas.push(await startReplica(llamafile, `${dir}/cache`, env));
    replicas.push(await startReplica(llamafile, `${dir}/cache`, env));
    const [victim, survivor] = replicas as [Replica, Replica];
    nginx = await startNginx(dir, [victim.port, survivor.port]);

    // The key is required through the balancer, and a 401 is not retried elsewhere.
    const unauthorized = await fetch(`${nginx.base}/v1/models`);
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();

    let next = 0;
    let completed = 0;
    let retried = 0;
    const failures: string[] = [];
    const retryReasons = new Map<string, number>();
    /** 0 before the kill, -1 while it happens, then the time (s) the victim was reaped. */
    let killedAt = 0;
    const victimAddress = `127.0.0.1:${victim.port}`;
    // Once KILL_AFTER requests are complete, the victim dies while it streams an answer.
    const onStreaming = async (upstream: string) => {
      if (killedAt === 0 && completed >= KILL_AFTER && upstream === victimAddress) {
        killedAt = -1;
        await victim.stop("SIGKILL");
        killedAt = Date.now() / 1000; // reaped: nothing it answers is logged after this
      }
    };
    const started = performance.now();
    const worker = async () => {
      while (next < REQUESTS) {
        const index = next++;
        const stream = index % 4 === 0;
        let done = false;
        for (let i = 0; i < ATTEMPTS && !done; i++) {
          const outcome = await attempt(nginx!.base, stream, expected, onStreaming);
          if (outcome.kind === "complete") {
            done = true;
            completed++;
            if (i > 0) retried++;
          } else if (outcome.kind === "retryable") {
            const reason = outcome.why.replace(/\d{2,}/g, "N");
            retryReasons.set(reason, (retryReasons.get(reason) ?? 0) + 1);
            await new Promise((r) => setTimeout(r, outcome.retryAfterMs));
          } else {
            failures.push(`request ${index}: ${outcome.why}`);
            break;
          }
        }
        if (!done && failures.length === 0) failures.push(`request ${index}: retries exhausted`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;

    // nginx's view: which replica answered each request, and which it moved (it writes a
    // request's log line just after the answer: wait for the last ones).
    let lines = await nginx.accessLog();
    for (let i = 0; lines.length < REQUESTS + 1 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = await nginx.accessLog();
    }
    const log = lines.map((line) => {
      const [msec, status, upstream] = line.split("|");
      return { at: Number(msec), status: Number(status), upstream: upstream ?? "" };
    });
    const completions = log.slice(1); // the first line is the 401
    const moved = completions.filter((e) => e.upstream.includes(",")).length;
    const after = completions.filter((e) => e.at > killedAt && e.status === 200);
    const survivorAddress = `127.0.0.1:${survivor.port}`;
    const summary = {
      requests: REQUESTS,
      streamed: REQUESTS / 4,
      completed,
      retriedByClient: retried,
      retryReasons: Object.fromEntries(retryReasons),
      movedByNginx: moved,
      failed: failures.length,
      servedBySurvivorAfterKill: after.filter((e) => e.upstream.endsWith(survivorAddress)).length,
      seconds: Number(seconds.toFixed(1)),
    };
    console.log(`nginx replicas: ${JSON.stringify(summary)}`);

    assert.deepEqual(failures, []);
    assert.equal(completed, REQUESTS);
    assert.ok(killedAt > 0, "the victim was killed mid-load");
    assert.ok(retried >= 1, "the stream cut short by the kill was retried by the client");
    assert.ok(after.length > 0, "requests were answered after the kill");
    // nginx logs a stream the kill cut short when it notices: those may come after.
    const cut = [...retryReasons].filter(([why]) => /^body|^stream cut/.test(why))
      .reduce((sum, [, n]) => sum + n, 0);
    const fromVictim = after.filter((e) => !e.upstream.endsWith(survivorAddress)).length;
    assert.ok(
      fromVictim <= cut,
      `after the kill every answer came from the survivor (${fromVictim} logged from the victim, ${cut} streams cut)`,
    );
    const health = await fetch(`${nginx.base}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const direct = await fetch(`${survivor.base}/health`);
    assert.equal((await direct.json()).status, "ok", "the survivor still serves");
  } finally {
    await nginx?.stop();
    for (const replica of replicas) await replica.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nginx passes a 503 (a replica's queue is full) to the other replica", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nginx_503_" });
  const replicas: Replica[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | null = null;
  const hold = new AbortController();
  const held: Promise<unknown>[] = [];
  try {
    const llamafile = await packStories(dir);
    await Deno.mkdir(`${dir}/cache`);
    const env = { LLAMAFILE_API_KEY: KEY };
    // The first replica: one slot with room for a long answer, and the server's queue of 64.
    replicas.push(
      await startReplica(llamafile, `${dir}/cache`, env, [
        "-t",
        "1",
        "-np",
        "1",
        "-c",
        "2048",
        "--metrics",
      ]),
    );
    replicas.push(await startReplica(llamafile, `${dir}/cache`, env));
    const [busy, free] = replicas as [Replica, Replica];
    nginx = await startNginx(dir, [busy.port, free.port]);

    // Fill the first replica directly (nginx does not see these): 1 generating, 64 waiting.
    // A streamed answer's headers come when its generation starts: the waiting ones hang on.
    const long = (signal: AbortSignal) =>
      fetch(`${busy.base}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ prompt: PROMPT, max_tokens: 2000, ignore_eos: true, stream: true }),
        signal,
      });
    for (let i = 0; i < 65; i++) {
      // Read until the end of the test: a stream left unread would still hold its place, but
      // one cancelled would give it up.
      held.push(
        long(hold.signal).then((r) => r.body?.pipeTo(new WritableStream())).catch(() => {}),
      );
    }
    // Its /metrics counts the waiting ones.
    for (let i = 0;; i++) {
      const metrics = await (await fetch(`${busy.base}/metrics`, {
        headers: { authorization: `Bearer ${KEY}` },
      })).text();
      if (/^llamacpp:requests_deferred 64$/m.test(metrics)) break;
      if (i > 500) throw new Error(`the first replica's queue did not fill:\n${metrics}`);
      await new Promise((r) => setTimeout(r, 20));
    }

    // Now through nginx: what the full replica refuses, the other one answers.
    const burst = 40;
    const outcomes = await Promise.all(
      Array.from(
        { length: burst },
        async () => (await attempt(nginx!.base, false, STORIES_GREEDY, async () => {}, 40)).kind,
      ),
    );
    // nginx writes a request's log line just after its answer: wait for the last ones.
    let lines = await nginx.accessLog();
    for (let i = 0; lines.length < burst && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = await nginx.accessLog();
    }
    const statuses = lines.map((line) => line.split("|")[3] ?? "");
    const summary = {
      requests: burst,
      completed: outcomes.filter((o) => o === "complete").length,
      refusedThenServedElsewhere: statuses.filter((s) => s === "503, 200").length,
      servedFirstTry: statuses.filter((s) => s === "200").length,
    };
    console.log(`nginx queue-full: ${JSON.stringify(summary)}`);
    assert.deepEqual(outcomes.filter((o) => o !== "complete"), [], "no client saw the 503");
    assert.ok(summary.refusedThenServedElsewhere > 0, "nginx moved refused requests");
    assert.equal(summary.refusedThenServedElsewhere + summary.servedFirstTry, burst);
  } finally {
    hold.abort();
    await Promise.all(held);
    await nginx?.stop();
    for (const replica of replicas) await replica.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
