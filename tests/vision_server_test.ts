/**
 * Images through the server as a user starts it (`--mmproj`, the launch's permissions, both
 * sandbox layers): `/v1/chat/completions` with `image_url` data URIs and `/completion` with
 * `multimodal_data` give the CLI's text for the same image and prompt; `/props` and
 * `/v1/models` report vision; bad images and URLs get a 400 in OpenAI's shape and the server
 * goes on serving; an image request runs in a slot beside text requests; a server without a
 * projector refuses images with a 400 that says so.
 *
 * @module
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { ROOT, runCli } from "./helpers.ts";
import { gemmaTurn, visionFiles } from "./vision_helpers.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function withServer(
  args: string[],
  body: (base: string, pid: number) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const all = ["--server", "--nobrowser", "--port", String(port), "-t", "1", ...args];
  const plan = planLaunch(all);
  assert.equal(plan.mode, "server");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...plan.flags, `${ROOT}/cli.ts`, ...all],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0;; i++) {
      try {
        const r = await fetch(`${base}/health`);
        const health = await r.json();
        if (r.ok && health.status === "ok") break;
      } catch {
        // not listening yet
      }
      if (i > 600) throw new Error("server did not become healthy");
      await new Promise((r) => setTimeout(r, 50));
    }
    await body(base, child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.stderr.cancel();
    await child.status;
  }
}

function dataUri(bytes: Uint8Array, mime = "image/png"): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:${mime};base64,${btoa(binary)}`;
}

async function chat(base: string, content: unknown, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content }],
      max_tokens: 16,
      temperature: 0,
      ...extra,
    }),
  });
  return { status: res.status, body: await res.json() };
}

const PROMPT = "Describe the image.";

Deno.test("server --mmproj answers image_url data URIs and multimodal_data with the CLI's text", async () => {
  const files = await visionFiles();
  try {
    const png = await Deno.readFile(files.png);
    const cli = await runCli([
      "-m",
      files.model,
      "--mmproj",
      files.mmproj,
      "--image",
      files.png,
      "-p",
      gemmaTurn(PROMPT),
      "-n",
      "16",
      "--temp",
      "0",
      "-t",
      "1",
      "--no-display-prompt",
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    await withServer(["-m", files.model, "--mmproj", files.mmproj], async (base, pid) => {
      // Sandboxed: the projector was read in the first stage, every thread in mode 2.
      const status = await Deno.readTextFile(`/proc/${pid}/status`);
      assert.match(status, /^Seccomp:\s*2$/m);

      const props = await (await fetch(`${base}/props`)).json();
      assert.deepEqual(props.modalities, { vision: true, video: false, audio: false });
      assert.match(props.media_marker, /^<__media_[0-9a-f]{24}__>$/);
      const models = await (await fetch(`${base}/v1/models`)).json();
      assert.deepEqual(models.models[0].capabilities, ["completion", "multimodal"]);
      assert.deepEqual(models.data[0].meta.modalities, { vision: true, audio: false });

      const content = [
        { type: "image_url", image_url: { url: dataUri(png) } },
        { type: "text", text: PROMPT },
      ];
      const answer = await chat(base, content);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.choices[0].message.content, cli.stdout);
      assert.equal(answer.body.usage.prompt_tokens, 273);

      // The official client, streamed; the image again comes from the slot's cache.
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none" });
      const stream = await client.chat.completions.create({
        model: "any",
        messages: [{ role: "user", content } as OpenAI.ChatCompletionMessageParam],
        max_tokens: 16,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let cached = -1;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.usage) cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? -1;
      }
      assert.equal(text, cli.stdout);
      assert.equal(cached, 272);

      // llama.cpp's /completion: the marker from /props, the file in base64.
      const res = await fetch(`${base}/completion`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          prompt: {
            prompt_string: gemmaTurn(PROMPT, props.media_marker),
            multimodal_data: [dataUri(png).split(",")[1]],
          },
          n_predict: 16,
          temperature: 0,
          cache_prompt: false,
        }),
      });
      const completion = await res.json();
      assert.equal(res.status, 200, JSON.stringify(completion));
      assert.equal(completion.content, cli.stdout);
      assert.equal(completion.tokens_evaluated, 273);
    });
  } finally {
    await files.close();
  }
});

Deno.test("server --mmproj refuses bad images and URLs with a 400 and goes on serving", async () => {
  const files = await visionFiles();
  try {
    const png = await Deno.readFile(files.png);
    await withServer(["-m", files.model, "--mmproj", files.mmproj], async (base) => {
      const image = (url: unknown) => [{ type: "image_url", image_url: { url } }];
      const big = `data:image/png;base64,${"A".repeat(40 * 1024 * 1024)}`;
      const cases: [unknown, RegExp][] = [
        [image("https://example.com/cat.png"), /is a remote URL: this server has no network/],
        [image("data:image/png;base64,@@not base64@@"), /is not base64 data$/],
        [image("data:image/png,rawbytes"), /is a data: URI that is not base64/],
        [image("data:text/plain;base64,aGVsbG8="), /only images \(image\/\.\.\.\) are taken/],
        [image(dataUri(new TextEncoder().encode("hello"))), /it is not an image/],
        [image(dataUri(png.subarray(0, 150))), /the PNG data is truncated/],
        [image(big), /the largest image taken is 20971520 bytes/],
        [image(42), /image_url must be \{"url": /],
        [
          [{ type: "text", text: "no marker" }, ...image(dataUri(png)), {
            type: "input_audio",
            input_audio: {},
          }],
          /input_audio input is not supported/,
        ],
      ];
      for (const [content, pattern] of cases) {
        const res = await chat(base, content);
        assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.error.type, "invalid_request_error");
        assert.equal(res.body.error.code, 400);
        assert.match(res.body.error.message, pattern);
      }
      // A marker typed in the text does not make an image slot: the counts differ.
      const props = await (await fetch(`${base}/props`)).json();
      const injected = await chat(base, [
        { type: "text", text: `look ${props.media_marker}` },
        ...image(dataUri(png)),
      ]);
      assert.equal(injected.status, 400);
      assert.match(injected.body.error.message, /placed 2 images and the messages hold 1/);
      // /completion: markers and files must match.
      const mismatch = await fetch(`${base}/completion`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          prompt: { prompt_string: "no marker here", multimodal_data: ["AAAA"] },
        }),
      });
      assert.equal(mismatch.status, 400);
      assert.match((await mismatch.json()).error.message, /has 0 media markers/);
      // Still serving, text and images.
      assert.equal((await fetch(`${base}/health`)).status, 200);
      assert.equal((await chat(base, "Hello")).status, 200);
      assert.equal((await chat(base, [...image(dataUri(png))])).status, 200);
    });
  } finally {
    await files.close();
  }
});

Deno.test("server --mmproj runs an image request in a slot beside text requests", async () => {
  const files = await visionFiles();
  try {
    const png = await Deno.readFile(files.png);
    await withServer(
      ["-m", files.model, "--mmproj", files.mmproj, "-np", "3", "-c", "3072", "--metrics"],
      async (
        base,
      ) => {
        const content = [
          { type: "image_url", image_url: { url: dataUri(png) } },
          { type: "text", text: PROMPT },
        ];
        const long = { max_tokens: 64, cache_prompt: false, ignore_eos: true };
        const decodes = async () => {
          const metrics = await (await fetch(`${base}/metrics`)).text();
          const match = /^llamacpp:n_decode_total (\d+)/m.exec(metrics);
          assert.ok(match, metrics);
          return Number(match[1]);
        };
        // Alone first, then at once with two text requests.
        const alone = await chat(base, content, long);
        assert.equal(alone.status, 200, JSON.stringify(alone.body));
        const before = await decodes();
        const [withText, textA, textB] = await Promise.all([
          chat(base, content, long),
          chat(base, "Tell me a story.", long),
          chat(base, "Write a list.", long),
        ]);
        for (const r of [withText, textA, textB]) {
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.equal(r.body.usage.completion_tokens, 64);
        }
        assert.equal(withText.body.usage.prompt_tokens, 273);
        // 192 tokens were generated in fewer decodes: the slots shared them.
        const calls = await decodes() - before;
        assert.ok(calls < 150, `${calls} decodes for 3 x 64 tokens: the requests did not batch`);
      },
    );
  } finally {
    await files.close();
  }
});

Deno.test("server without --mmproj refuses an image with a 400 that says to start it with one", async () => {
  const files = await visionFiles();
  try {
    const png = await Deno.readFile(files.png);
    await withServer(["-m", files.model], async (base) => {
      const props = await (await fetch(`${base}/props`)).json();
      assert.deepEqual(props.modalities, { vision: false, video: false, audio: false });
      const res = await chat(base, [{ type: "image_url", image_url: { url: dataUri(png) } }]);
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /started without a projector \(--mmproj\)/);
      assert.equal((await chat(base, "Hello")).status, 200);
    });
  } finally {
    await files.close();
  }
});
