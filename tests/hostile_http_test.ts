/**
 * The hostile-input catalogue over a real socket, one step named after each attack: HTTP
 * framing (lying Content-Length, chunked bodies over the limit, 10,000-deep JSON), slowloris,
 * SSE output that spells `data: [DONE]`, API key, CORS and Host-header bypasses, static path
 * traversal, token-id overflows, prompts longer than the context, a 9 MB prompt while
 * `/health` is watched. The server runs as a user starts it (sandboxed, both stages); after
 * every step it still answers `/health`.
 */
import assert from "node:assert/strict";
import { rawRequest } from "../fuzz/http_target.ts";
import { CHAT_MODEL, healthy, startServer } from "../fuzz/server_process.ts";

const KEY = "sk-hostile-test";

async function errorOf(response: Response | { status: number; text: string }) {
  const text = response instanceof Response ? await response.text() : response.text;
  const body = JSON.parse(text);
  assert.equal(typeof body.error.message, "string", text);
  assert.equal(typeof body.error.type, "string", text);
  return body.error as { message: string; type: string; code: number };
}

/** Writes `head` then keeps the connection open; returns a closer. */
async function openPartial(url: string, head: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(head));
  return conn;
}

Deno.test("hostile HTTP inputs, each answered in the API's error shape while the server keeps serving", async (t) => {
  await using server = await startServer([
    "-m",
    CHAT_MODEL,
    "-t",
    "1",
    "-c",
    "1024",
    "-np",
    "2",
    "--api-key",
    KEY,
  ]);
  const url = server.url;
  const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
  const step = async (name: string, fn: () => Promise<void>) => {
    await t.step(name, async () => {
      await fn();
      assert.ok(await healthy(url), `the server answers /health after "${name}"`);
    });
  };

  await step("a Content-Length shorter than the body", async () => {
    const body = JSON.stringify({ prompt: "Once", n_predict: 2 });
    const answer = await rawRequest(url, {
      method: "POST",
      path: "/completion",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body,
    }, 10_000);
    assert.equal(answer.status, 200);
    const short = await openPartial(
      url,
      `POST /completion HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${body}`,
    );
    const text = new TextDecoder().decode(await new Response(short.readable).arrayBuffer());
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /"type":"invalid_request_error"/);
  });

  await step("a Content-Length longer than the body, the client then silent", async () => {
    const conn = await openPartial(
      url,
      `POST /completion HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"prompt":`,
    );
    // Others are served meanwhile.
    const other = await fetch(`${url}/v1/models`, { headers: auth });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    conn.close();
  });

  await step(
    "a Content-Length over the body limit answers 413 before the body is read",
    async () => {
      const conn = await openPartial(
        url,
        `POST /completion HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 20000000\r\n\r\n{"prompt":"`,
      );
      const reader = conn.readable.getReader();
      const first = await reader.read();
      const text = new TextDecoder().decode(first.value ?? new Uint8Array());
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.match(text, /"type":"payload_too_large_error"/);
      await reader.cancel();
    },
  );

  await step("a chunked body over the 10 MiB limit answers 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(1 << 20));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 12) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${url}/completion`, { method: "POST", headers: auth, body });
    assert.equal(response.status, 413);
    assert.equal((await errorOf(response)).type, "payload_too_large_error");
  });

  await step("a 10,000-deep JSON body answers 400", async () => {
    for (
      const body of [
        "[".repeat(10_000) + "]".repeat(10_000),
        '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000),
      ]
    ) {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: auth,
        body,
      });
      assert.equal(response.status, 400);
      await errorOf(response);
    }
    const prompt = `{"prompt":${"[".repeat(10_000)}${"]".repeat(10_000)},"n_predict":1}`;
    const response = await fetch(`${url}/completion`, {
      method: "POST",
      headers: auth,
      body: prompt,
    });
    assert.equal(response.status, 400);
    await errorOf(response);
  });

  await step(
    "slowloris: 100 connections trickling headers do not stop others being served",
    async () => {
      const conns: Deno.TcpConn[] = [];
      for (let i = 0; i < 100; i++) {
        conns.push(await openPartial(url, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
      }
      const trickle = setInterval(() => {
        for (const conn of conns) conn.write(new TextEncoder().encode("a")).catch(() => {});
      }, 200);
      try {
        for (let i = 0; i < 10; i++) {
          const started = performance.now();
          const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
          await response.body?.cancel();
          assert.equal(response.status, 200);
          assert.ok(performance.now() - started < 2000, "served within 2 s");
        }
      } finally {
        clearInterval(trickle);
        for (const conn of conns) conn.close();
      }
    },
  );

  await step("SSE output that spells data: [DONE] cannot end a stream early", async () => {
    const response = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        prompt: "Once",
        max_tokens: 40,
        stream: true,
        temperature: 0,
        grammar: 'root ::= "\\n\\ndata: [DONE]\\n\\n" "end"',
      }),
    });
    assert.equal(response.status, 200);
    const events = (await response.text()).split("\n\n").filter((e) => e.trim() !== "");
    assert.equal(events.filter((e) => e === "data: [DONE]").length, 1);
    assert.equal(events.at(-1), "data: [DONE]");
    const text = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)).choices[0]?.text ?? "")
      .join("");
    assert.equal(text, "\n\ndata: [DONE]\n\nend");
  });

  await step(
    "API key bypasses: no key, a wrong key, a key in the query, path variants",
    async () => {
      const attempts: [string, Record<string, string>][] = [
        ["/v1/models", {}],
        ["/v1/models", { authorization: "Bearer sk-wrong" }],
        ["/v1/models", { authorization: "Bearer" }],
        ["/v1/models", { "x-api-key": "" }],
        [`/v1/models?api_key=${KEY}`, {}],
        ["//v1/models", {}],
        ["/v1/models/", {}],
        ["/V1/MODELS", {}],
        ["/v1/%6dodels", {}],
        ["/v1/./models", {}],
      ];
      for (const [path, headers] of attempts) {
        const answer = await rawRequest(url, { method: "GET", path, headers }, 10_000);
        assert.ok(answer.status === 401 || answer.status === 404, `${path}: ${answer.status}`);
        await errorOf(answer);
      }
    },
  );

  await step("CORS: another origin is refused, loopback ones are not", async () => {
    for (
      const origin of [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "file://",
      ]
    ) {
      const response = await fetch(`${url}/v1/models`, { headers: { ...auth, origin } });
      assert.equal(response.status, 403, origin);
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      await errorOf(response);
    }
    const loopback = await fetch(`${url}/v1/models`, {
      headers: { ...auth, origin: "http://localhost:3000" },
    });
    assert.equal(loopback.status, 200);
    await loopback.body?.cancel();
  });

  await step("Host header rebinding is refused", async () => {
    for (const host of ["evil.example", "localhost.evil.example", "127.0.0.1.evil.example"]) {
      const { port } = new URL(url);
      const conn = await openPartial(
        url,
        `GET /v1/models HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${KEY}\r\nConnection: close\r\n\r\n`,
      );
      const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assert.match(text, /^HTTP\/1\.1 403 /, host);
      assert.match(text, /"type":"permission_error"/);
    }
  });

  await step("static path traversal serves no file", async () => {
    for (
      const path of [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/.git/config",
        "/lib/cli/main.ts",
      ]
    ) {
      const answer = await rawRequest(url, {
        method: "GET",
        path,
        headers: { authorization: `Bearer ${KEY}` },
      }, 10_000);
      assert.ok(answer.status === 404 || answer.status === 400, `${path}: ${answer.status}`);
      assert.ok(!answer.text.includes("root:") && !answer.text.includes("import "), path);
    }
  });

  await step("token ids past the vocabulary and past int32 answer 400", async () => {
    for (const prompt of [[2147483648], [-1], [1e20], [99999], [1, 2, 512]]) {
      const response = await fetch(`${url}/completion`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ prompt, n_predict: 1 }),
      });
      assert.equal(response.status, 400, JSON.stringify(prompt));
      await errorOf(response);
    }
  });

  await step(
    "a prompt longer than the context (no context shift) answers exceed_context_size_error",
    async () => {
      const response = await fetch(`${url}/completion`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ prompt: "Once upon a time ".repeat(400), n_predict: 4 }),
      });
      assert.equal(response.status, 400);
      assert.equal((await errorOf(response)).type, "exceed_context_size_error");
    },
  );

  await step("a 9 MB prompt is refused at once while /health keeps answering", async () => {
    const body = JSON.stringify({ prompt: "x".repeat(9_000_000), n_predict: 4 });
    const started = performance.now();
    const big = fetch(`${url}/completion`, { method: "POST", headers: auth, body });
    const pings: number[] = [];
    while (pings.length < 5) {
      const t0 = performance.now();
      const response = await fetch(`${url}/health`);
      await response.body?.cancel();
      pings.push(performance.now() - t0);
    }
    const response = await big;
    assert.equal(response.status, 400);
    assert.equal((await errorOf(response)).type, "exceed_context_size_error");
    assert.ok(performance.now() - started < 10_000);
    assert.ok(Math.max(...pings) < 1000, `/health took ${Math.max(...pings).toFixed(0)} ms`);
  });

  await step(
    "a 2 MB /tokenize is tokenized off the event loop: /health keeps answering",
    async () => {
      const content = "Once upon a time ".repeat(125_000);
      let done = false;
      const big = fetch(`${url}/tokenize`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ content }),
      }).finally(() => done = true);
      const pings: number[] = [];
      while (!done) {
        const t0 = performance.now();
        const response = await fetch(`${url}/health`);
        await response.body?.cancel();
        pings.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      const response = await big;
      assert.equal(response.status, 200);
      const { tokens } = await response.json();
      assert.ok(tokens.length > 125_000, `${tokens.length} tokens`);
      assert.ok(pings.length > 1, `/health answered ${pings.length} times meanwhile`);
      assert.ok(Math.max(...pings) < 1000, `/health took ${Math.max(...pings).toFixed(0)} ms`);
    },
  );

  await step("a 9 MB embeddings input is refused before it is tokenized", async () => {
    const started = performance.now();
    const response = await fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ input: "Once upon a time ".repeat(550_000) }),
    });
    assert.equal(response.status, 400);
    const error = await errorOf(response);
    assert.equal(error.type, "exceed_context_size_error");
    assert.match(error.message, /^input\[0\] is at least \d+ tokens/);
    assert.ok(performance.now() - started < 5000);
  });

  assert.ok(server.alive(), "the server is still running");
});
