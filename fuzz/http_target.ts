/**
 * Fuzz target `http`: hostile requests to every endpoint of one running server (sandboxed, as a
 * user starts it): fields of the wrong type, out of range, huge or deeply nested; bodies that
 * are not JSON; other methods, paths and headers. A case is `ok` (2xx), a `clean` error (4xx
 * in the API's error shape), a `stack` (a body that shows a stack trace or is not the error
 * shape), a `crash` (the server died; it is restarted) or a `hang` (no answer in time); 5xx
 * answers (but a 503 with Retry-After) are server errors; the server must answer `/health`
 * after every case.
 *
 * @module
 */
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import type { Outcome } from "./outcome.ts";
import { Rng } from "./rng.ts";
import { CHAT_MODEL, healthy, type ServerProcess, startServer } from "./server_process.ts";

/** The endpoints and a valid request for each. */
const ENDPOINTS: [string, string, Record<string, unknown> | null][] = [
  ["POST", "/v1/chat/completions", {
    messages: [{ role: "user", content: "Tell me a story." }],
    max_tokens: 4,
  }],
  ["POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 4 }],
  ["POST", "/completion", { prompt: "Once upon a time", n_predict: 4 }],
  ["POST", "/v1/embeddings", { input: "Once upon a time" }],
  ["POST", "/tokenize", { content: "Once upon a time" }],
  ["POST", "/detokenize", { tokens: [1, 2, 3] }],
  ["POST", "/v1/messages", {
    model: "m",
    max_tokens: 4,
    messages: [{ role: "user", content: "Tell me a story." }],
  }],
  ["POST", "/v1/messages/count_tokens", {
    model: "m",
    messages: [{ role: "user", content: "Tell me a story." }],
  }],
  ["POST", "/v1/responses", { input: "Tell me a story.", max_output_tokens: 4 }],
  ["POST", "/v1/responses/input_tokens", { input: "Tell me a story." }],
  ["POST", "/apply-template", { messages: [{ role: "user", content: "Tell me a story." }] }],
  ["POST", "/chat/completions/input_tokens", {
    messages: [{ role: "user", content: "Tell me a story." }],
  }],
  ["GET", "/lora-adapters", null],
  ["GET", "/v1/responses/resp_unknown", null],
  ["GET", "/v1/models", null],
  ["GET", "/health", null],
  ["GET", "/metrics", null],
  ["GET", "/slots", null],
  ["GET", "/props", null],
  ["GET", "/", null],
];

/** Request fields the endpoints read, to set to hostile values. */
const FIELDS = [
  "messages",
  "prompt",
  "max_tokens",
  "n_predict",
  "max_completion_tokens",
  "temperature",
  "top_k",
  "top_p",
  "min_p",
  "typical_p",
  "repeat_penalty",
  "repeat_last_n",
  "presence_penalty",
  "frequency_penalty",
  "mirostat",
  "mirostat_tau",
  "mirostat_eta",
  "seed",
  "stop",
  "stream",
  "stream_options",
  "logprobs",
  "top_logprobs",
  "n_probs",
  "n",
  "logit_bias",
  "grammar",
  "json_schema",
  "response_format",
  "tools",
  "tool_choice",
  "cache_prompt",
  "id_slot",
  "ignore_eos",
  "input",
  "content",
  "tokens",
  "add_special",
  "with_pieces",
  "model",
  "echo",
  "suffix",
  "best_of",
  "chat_template_kwargs",
  "add_generation_prompt",
  "return_tokens",
  "encoding_format",
  "dimensions",
  "user",
  "samplers",
  "system",
  "stop_sequences",
  "max_output_tokens",
  "instructions",
  "previous_response_id",
  "text",
  "store",
  "metadata",
];

function value(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 9 : 14)) {
    case 0:
      return rng.pick([
        0,
        -1,
        1,
        2,
        1e9,
        1e12,
        1e308,
        -1e308,
        2 ** 31,
        2 ** 32,
        2 ** 53 + 2,
        0.5,
        -0,
      ]);
    case 1:
      return rng.pick([
        "",
        "NaN",
        "Infinity",
        "-1",
        "1e999",
        "\u0000",
        "\ud800",
        "<|im_start|>",
        "data: [DONE]\n\n",
      ]);
    case 2:
      return "x".repeat(rng.pick([1000, 100_000, 1_000_000]));
    case 3:
      return rng.chance(0.5);
    case 4:
      return null;
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return Array.from({ length: rng.pick([1, 3, 1000]) }, () => rng.pick([0, 1, 99999, -5, "a"]));
    case 8:
      return rng.pick([
        "root ::= [z-a]",
        'root ::= "a"',
        `root ::= ${"(".repeat(3000)}"a"${")".repeat(3000)}`,
      ]);
    case 9:
      return {
        type: rng.pick(["json_schema", "json_object", "text", "bogus"]),
        json_schema: value(rng, depth + 1),
        schema: value(rng, depth + 1),
      };
    case 10:
      return [{
        role: rng.pick(["user", "system", "assistant", "tool", "bogus", ""]),
        content: value(rng, depth + 1),
      }];
    case 11:
      return [{
        type: "function",
        function: { name: rng.pick(["f", "", "a b"]), parameters: value(rng, depth + 1) },
      }];
    case 12:
      return Object.fromEntries([[
        rng.pick(["15043", "-1", "99999", "text", "1e3"]),
        value(rng, depth + 1),
      ]]);
    default:
      return Array.from({ length: 2 }, () => value(rng, depth + 1));
  }
}

/** A hostile request: method, path, headers, body. */
function requestCase(
  rng: Rng,
): { method: string; path: string; headers: Record<string, string>; body?: string; what: string } {
  const [method0, path0, base] = rng.pick(ENDPOINTS);
  let method = method0;
  let path = path0;
  const headers: Record<string, string> = { "content-type": "application/json" };
  let body: string | undefined;
  const notes: string[] = [];
  if (base !== null) {
    const obj: Record<string, unknown> = structuredClone(base);
    for (let i = 0, n = 1 + rng.int(3); i < n; i++) {
      const field = rng.chance(0.7) ? rng.pick(FIELDS) : rng.pick(Object.keys(obj));
      if (rng.chance(0.15)) {
        delete obj[field];
        notes.push(`-${field}`);
      } else {
        obj[field] = value(rng);
        notes.push(`${field}=${JSON.stringify(obj[field])?.slice(0, 40)}`);
      }
    }
    if (rng.chance(0.3)) obj.stream = true;
    body = JSON.stringify(obj);
    if (rng.chance(0.1)) {
      body = rng.pick([
        "",
        "{",
        "null",
        "[]",
        '"string"',
        "{}",
        "[".repeat(10_000) + "]".repeat(10_000),
        '{"a":'.repeat(5000) + "1" + "}".repeat(5000),
        body.slice(0, rng.int(body.length)),
        body + "garbage",
      ]);
      notes.push(`body=${body.slice(0, 30)}`);
    }
  }
  if (rng.chance(0.08)) {
    method = rng.pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]);
    notes.push(`method ${method}`);
  }
  if (rng.chance(0.05)) {
    path = rng.pick([
      "/../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "//v1/models",
      "/v1/models/",
      "/V1/MODELS",
      "/v1/chat/completions%00",
      "/.git/config",
      "/index.html",
      "/nope",
    ]);
    notes.push(`path ${path}`);
  }
  if (rng.chance(0.05)) {
    headers["content-type"] = rng.pick([
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    ]);
    notes.push(`content-type ${headers["content-type"]}`);
  }
  if (rng.chance(0.05)) {
    headers["origin"] = rng.pick([
      "null",
      "http://evil.example",
      "http://127.0.0.1.evil.example",
      "file://",
    ]);
    notes.push(`origin ${headers["origin"]}`);
  }
  if (rng.chance(0.03)) {
    headers["authorization"] = rng.pick([
      "Bearer",
      "Bearer " + "x".repeat(10000),
      "Basic abc",
      "\u00ff",
    ]);
    notes.push("authorization");
  }
  const withBody = body !== undefined && method !== "GET" && method !== "HEAD";
  return {
    method,
    path,
    headers,
    ...(withBody && { body }),
    what: `${method} ${path} ${notes.join(" ")}`,
  };
}

/** A stack trace or an uncaught error in a body (not user input echoed in a message). */
const STACK = /\n\s+at \S+ \(|\.(ts|js):\d+:\d+\)|Uncaught \w*Error|panicked at/;

/**
 * Sends a request over a raw connection: for methods `fetch` refuses to send (TRACE), which a
 * client can still send to the server.
 */
export async function rawRequest(
  url: string,
  request: { method: string; path: string; headers: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<{ status: number; headers: Headers; text: string }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, timeoutMs);
  try {
    const body = new TextEncoder().encode(request.body ?? "");
    const head = [
      `${request.method} ${request.path} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${body.length}`,
      "Connection: close",
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(head));
    if (body.length > 0) await conn.write(body);
    const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    const [top = "", ...rest] = raw.split("\r\n\r\n");
    const lines = top.split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const at = line.indexOf(":");
      if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
    return { status, headers, text: rest.join("\r\n\r\n") };
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one case and classifies the answer. */
async function send(
  url: string,
  request: ReturnType<typeof requestCase>,
  timeoutMs: number,
): Promise<{ outcome: Outcome; serverError: boolean; detail: string }> {
  let status: number;
  let headers: Headers;
  let text: string;
  try {
    if (request.method === "TRACE") {
      ({ status, headers, text } = await rawRequest(url, request, timeoutMs));
    } else {
      const response = await fetch(`${url}${request.path}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined && { body: request.body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      headers = response.headers;
      text = await response.text();
    }
  } catch (error) {
    const name = (error as Error).name;
    return {
      outcome: name === "TimeoutError" ? "hang" : "crash",
      serverError: false,
      detail: String(error),
    };
  }
  const detail = `${status} ${text.slice(0, 300)}`;
  if (STACK.test(text)) return { outcome: "stack", serverError: status >= 500, detail };
  if (status < 400) return { outcome: "ok", serverError: false, detail };
  const busy = status === 503 && headers.has("retry-after");
  const serverError = status >= 500 && !busy;
  if (request.method === "HEAD") return { outcome: "clean", serverError, detail };
  try {
    const body = JSON.parse(text);
    const shaped = typeof body?.error?.message === "string" &&
      typeof body?.error?.type === "string";
    return { outcome: shaped ? "clean" : "stack", serverError, detail };
  } catch {
    return { outcome: "stack", serverError, detail };
  }
}

/** The server the `http` target and the soak test run against. */
export const SERVER_ARGS = [
  "-m",
  CHAT_MODEL,
  "-t",
  "1",
  "-c",
  "2048",
  "-np",
  "2",
  "--timeout",
  "60",
  // /metrics answers 501 without it, as llama.cpp's
  "--metrics",
];

/** Runs the `http` target. */
export async function fuzzHttp(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  let server: ServerProcess = await startServer(SERVER_ARGS);
  const dir = `${options.out}/http`;
  try {
    for (const index of caseIndexes(options)) {
      const request = requestCase(Rng.forCase(options.seed, index));
      const result = await send(server.url, request, options.timeoutMs);
      counts.cases++;
      let outcome = result.outcome;
      if (result.serverError) counts.serverErrors++;
      const alive = server.alive();
      if (!alive) outcome = "crash";
      const ok = alive && await healthy(server.url);
      if (!ok) counts.unhealthy++;
      counts.outcomes[outcome]++;
      if (
        outcome === "stack" || outcome === "crash" || outcome === "hang" || result.serverError ||
        !ok
      ) {
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(
          `${dir}/seed${options.seed}-case${index}.txt`,
          [
            `outcome: ${outcome}${result.serverError ? " (server error)" : ""}${
              ok ? "" : " (unhealthy after)"
            }`,
            `request: ${request.what}`,
            `again: deno task fuzz --target http --seed ${options.seed} --case ${index}`,
            `answer: ${result.detail}`,
            "server stderr (end):",
            server.stderr().slice(-3000),
          ].join("\n"),
        );
        if (options.verbose) console.error(`fuzz http case ${index}: ${outcome}: ${request.what}`);
      }
      if (!alive || !ok) {
        await server[Symbol.asyncDispose]();
        server = await startServer(SERVER_ARGS);
      }
    }
  } finally {
    await server[Symbol.asyncDispose]();
  }
  counts.ms = performance.now() - started;
  return counts;
}
