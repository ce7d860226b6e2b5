/**
 * The server as a user starts it (launch flags from planLaunch), under both sandbox layers:
 * seccomp mode 2 on every thread, and serving still works through the official client.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { MODELS, ROOT } from "./helpers.ts";

const CHATML = `${MODELS}/stories260K-chatml-test.gguf`;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function withServer(
  extra: string[],
  body: (base: string, pid: number) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const args = [
    "--server",
    "--nobrowser",
    "--port",
    String(port),
    "-m",
    CHATML,
    "-t",
    "1",
    "-np",
    "2",
    ...extra,
  ];
  const plan = planLaunch(args);
  assert.equal(plan.mode, "server");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...plan.flags, `${ROOT}/cli.ts`, ...args],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", NODE_EXTRA_CA_CERTS: "" },
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`${base}/health`);
        const body = await r.json();
        if (r.ok && body.status === "ok") break;
      } catch {
        // not listening yet
      }
      if (i > 300) throw new Error("server did not become healthy");
      await new Promise((r) => setTimeout(r, 50));
    }
    await body(base, child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.stderr.cancel();
    await child.status;
  }
}

async function seccompModes(pid: number): Promise<string[]> {
  const modes: string[] = [];
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const status = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/status`);
    modes.push(/^Seccomp:\s*(\d)/m.exec(status)?.[1] ?? "?");
  }
  return modes;
}

Deno.test("server runs sandboxed: seccomp 2 on every thread, and the OpenAI client still works", async () => {
  await withServer([], async (base, pid) => {
    const modes = await seccompModes(pid);
    assert.ok(modes.length > 1);
    assert.deepEqual([...new Set(modes)], ["2"]);
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "no-key" });
    const chat = await client.chat.completions.create({
      model: "LLaMA_CPP",
      messages: [{ role: "system", content: "You are a storyteller." }, {
        role: "user",
        content: "Tell me a story about a cat.",
      }],
      max_tokens: 16,
      temperature: 0,
    });
    assert.equal(chat.object, "chat.completion");
    assert.ok((chat.choices[0]?.message.content ?? "").length > 0);
    const stream = await client.chat.completions.create({
      model: "LLaMA_CPP",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 8,
      stream: true,
    });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
    assert.ok(streamed.length > 0);
    const completion = await client.completions.create({
      model: "LLaMA_CPP",
      prompt: "Once upon a time",
      max_tokens: 8,
      temperature: 0,
    });
    assert.ok(completion.choices[0]!.text.length > 0);
    const embedding = await client.embeddings.create({ model: "LLaMA_CPP", input: "hello" });
    assert.equal(embedding.data[0]!.embedding.length, 64);
    const models = await client.models.list();
    assert.ok(models.data.length >= 1);
  });
});

Deno.test("slot save and restore under the sandbox: a helper writes --slot-save-path, the server opens nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withServer(["--slot-save-path", dir], async (base, pid) => {
      assert.deepEqual([...new Set(await seccompModes(pid))], ["2"]);
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) });
      const first = await post("/completion", {
        prompt: "Once upon a time",
        id_slot: 1,
        n_predict: 4,
      });
      assert.equal(first.status, 200);
      await first.body?.cancel();
      const saved = await (await post("/slots/1?action=save", { filename: "one.bin" })).json();
      assert.ok(saved.n_saved > 4, JSON.stringify(saved));
      assert.equal((await Deno.stat(`${dir}/one.bin`)).size, saved.n_written);
      const restored = await (await post("/slots/0?action=restore", { filename: "one.bin" }))
        .json();
      assert.equal(restored.n_restored, saved.n_saved);
      // A path out of the folder is refused by name; nothing is written outside it.
      const evil = await post("/slots/0?action=save", { filename: "../evil.bin" });
      assert.equal(evil.status, 400);
      await evil.body?.cancel();
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["one.bin"]);
      // The server itself holds no file of the folder: the helper process does the I/O.
      const held: string[] = [];
      for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
        try {
          held.push(await Deno.readLink(`/proc/${pid}/fd/${fd.name}`));
        } catch {
          // closed meanwhile
        }
      }
      assert.deepEqual(held.filter((p) => p.startsWith(dir)), []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server --unsecure runs without seccomp", async () => {
  await withServer(["--unsecure"], async (_base, pid) => {
    assert.deepEqual([...new Set(await seccompModes(pid))], ["0"]);
  });
});
