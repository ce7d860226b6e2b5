/**
 * GPU offload end to end, run as users run it (the flags `planLaunch` gives, so under both
 * sandbox layers), on lavapipe: Mesa's Vulkan driver that runs on the CPU (Debian's
 * `mesa-vulkan-drivers`, which `deno task test` installs). ggml's Vulkan backend skips
 * CPU-type devices unless `GGML_VK_VISIBLE_DEVICES` names one, so these tests set it, as
 * llama.cpp's own CI does for its lavapipe job (`.github/workflows/build-vulkan.yml`,
 * `ubuntu-llvmpipe`: `GGML_VK_VISIBLE_DEVICES=0`).
 *
 * The greedy text is compared over 100 tokens: stories260K's weights are F32, and ggml's
 * Vulkan shaders compute in F32 where the CPU does, so the argmax never flips here (100 tokens
 * is 2.5x the 40 the other tests use). A model with F16 or quantized weights may legitimately
 * part from the CPU after some tokens, as llama.cpp's backends do from each other.
 */
import assert from "node:assert/strict";
import { probeSystem } from "../lib/engine/gpu_setup.ts";
import { planLaunch } from "../lib/cli/launch_plan.ts";
import { cliCommandArgs, MODELS, ROOT, runCli, STORIES, STORIES_GREEDY } from "./helpers.ts";

/** Lavapipe as ggml's Vulkan device 0. */
const LAVAPIPE = { GGML_VK_VISIBLE_DEVICES: "0" };
const GREEDY = ["-p", "Once upon a time", "--temp", "0", "-t", "1", "--no-display-prompt"];

interface Watched {
  code: number;
  stdout: string;
  stderr: string;
  /** The Seccomp mode of every thread while it generated. */
  seccomp: string[];
  /** The shared objects it had mapped while it generated. */
  libraries: string[];
}

/** Runs the CLI, looking at /proc/PID while it writes its first piece of text. */
async function watchCli(args: string[], env: Record<string, string> = {}): Promise<Watched> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let stdout = "";
  let seccomp: string[] = [];
  let libraries: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (stdout === "") {
      seccomp = [...Deno.readDirSync(`/proc/${child.pid}/task`)].map((task) =>
        /^Seccomp:\s*(\d)/m.exec(
          Deno.readTextFileSync(`/proc/${child.pid}/task/${task.name}/status`),
        )?.[1] ?? "?"
      );
      libraries = [
        ...new Set(
          Deno.readTextFileSync(`/proc/${child.pid}/maps`).split("\n")
            .map((line) => line.split(/\s+/).at(-1) ?? "")
            .filter((path) => path.includes(".so")),
        ),
      ];
    }
    stdout += decoder.decode(value, { stream: true });
  }
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr, seccomp, libraries };
}

function warnings(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("llamafile: warning:"));
}

Deno.test("CLI without GPU flags probes and loads nothing GPU, and prints nothing new", async () => {
  const out = await watchCli(["-m", STORIES, ...GREEDY, "-n", "40"]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, STORIES_GREEDY);
  assert.deepEqual(
    out.libraries.filter((lib) => /vulkan|cuda/i.test(lib)),
    [],
    "no GPU library mapped",
  );
  assert.deepEqual(
    out.stderr.trim().split("\n").map((line) => line.replace(/[\d.]+/g, "N")),
    ["llamafile: prompt N tokens in N ms (N tok/s), generated N tokens in N ms (N tok/s), stop: length"],
  );
});

Deno.test("CLI --gpu nvidia where CUDA cannot be used: one line, the CPU's text, exit 0", async () => {
  const probe = probeSystem();
  const usable = probe.nvidiaDriver && (probe.builds.cuda ?? probe.builds["cuda-ext"]);
  const out = await runCli(["-m", STORIES, ...GREEDY, "-n", "40", "--gpu", "nvidia"]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, STORIES_GREEDY);
  if (usable) return; // a machine with NVIDIA's driver and the CUDA backend offloads instead
  const lines = warnings(out.stderr);
  assert.equal(lines.length, 1, out.stderr);
  assert.match(
    lines[0]!,
    probe.nvidiaDriver
      ? /^llamafile: warning: --gpu nvidia: the CUDA backend \(libggml-cuda\.so\) is not installed .*; running on the CPU$/
      : /^llamafile: warning: --gpu nvidia: no NVIDIA driver \(\/dev\/nvidiactl is missing\); running on the CPU$/,
  );
});

Deno.test("CLI --gpu vulkan with only a CPU-type Vulkan device: one line naming GGML_VK_VISIBLE_DEVICES, the CPU", async () => {
  if (probeSystem().renderNode) return; // a real GPU would take the layers: nothing to fall back from
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(Deno.env.toObject())) {
    if (name !== "GGML_VK_VISIBLE_DEVICES") env[name] = value;
  }
  const child = await new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(["-m", STORIES, ...GREEDY, "-n", "40", "--gpu", "vulkan"]),
    clearEnv: true,
    env,
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(child.stderr);
  assert.equal(child.code, 0, stderr);
  assert.equal(new TextDecoder().decode(child.stdout), STORIES_GREEDY);
  assert.deepEqual(warnings(stderr), [
    "llamafile: warning: --gpu vulkan: the Vulkan driver reports no GPU (ggml skips CPU-type devices such as lavapipe unless GGML_VK_VISIBLE_DEVICES names one); running on the CPU",
  ]);
});

Deno.test("CLI -ngl 99 --gpu vulkan on lavapipe: every layer on Vulkan0, the CPU's greedy text, seccomp 2, one ggml", async () => {
  const args = ["-m", STORIES, ...GREEDY, "-n", "100"];
  const cpu = await runCli(args);
  assert.equal(cpu.code, 0, cpu.stderr);
  const gpu = await watchCli([...args, "-ngl", "99", "--gpu", "vulkan", "--verbose"], LAVAPIPE);
  assert.equal(gpu.code, 0, gpu.stderr);
  const ours = gpu.stderr.split("\n").filter((line) => line.startsWith("llamafile: "));
  assert.ok(
    ours.some((line) => /^llamafile: GPU Vulkan0: \S.* MiB free of \d+ MiB\)$/.test(line)),
    gpu.stderr,
  );
  assert.ok(
    ours.includes("llamafile: 6/6 layers offloaded: layers 0-4 and output on Vulkan0"),
    ours.join("\n"),
  );
  assert.deepEqual(warnings(gpu.stderr), []);
  assert.equal(gpu.stdout, cpu.stdout);
  assert.ok(gpu.stdout.startsWith(STORIES_GREEDY));
  assert.ok(gpu.seccomp.length > 1);
  assert.deepEqual([...new Set(gpu.seccomp)], ["2"], "every thread under the filter");
  assert.ok(
    gpu.libraries.some((lib) => lib.endsWith("/libggml-vulkan.so")),
    "Vulkan backend mapped",
  );
  assert.equal(
    gpu.libraries.filter((lib) => lib.endsWith("/libggml-base.so")).length,
    1,
    `one ggml: ${gpu.libraries.filter((lib) => lib.includes("ggml")).join(", ")}`,
  );
});

Deno.test("--list-devices and info -ngl 3 name lavapipe and where each layer would go", async () => {
  const list = await runCli(["--list-devices", "--gpu", "vulkan"], { env: LAVAPIPE });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^Available devices:\n {2}Vulkan0: \S.* \(\d+ MiB, \d+ MiB free\)\n$/);
  const info = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...planLaunch(["info"]).flags,
      `${ROOT}/cli.ts`,
      "info",
      STORIES,
      "-ngl",
      "3",
      "--gpu",
      "vulkan",
    ],
    env: { NO_COLOR: "1", ...LAVAPIPE },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(info.stdout);
  assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
  assert.match(
    stdout,
    /\noffload:\n {2}Vulkan0: .*\n {2}3\/6 layers offloaded: layers 0-2 on CPU; layers 3-4 and output on Vulkan0\n$/,
  );
});

Deno.test("server -ngl 99 --gpu vulkan on lavapipe: seccomp 2 on every thread, the CPU's text, no opens once ready", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const args = [
    "--server",
    "--nobrowser",
    "--port",
    String(port),
    "-m",
    `${MODELS}/stories260K-chatml-test.gguf`,
    "-t",
    "1",
    "-ngl",
    "99",
    "--gpu",
    "vulkan",
    "--verbose",
  ];
  const plan = planLaunch(args);
  assert.equal(plan.mode, "server");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...plan.flags, `${ROOT}/cli.ts`, ...args],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", NODE_EXTRA_CA_CERTS: "", ...LAVAPIPE },
  }).spawn();
  const stderr = new Response(child.stderr).text();
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
      if (i > 600) throw new Error("server did not become healthy");
      await new Promise((r) => setTimeout(r, 50));
    }
    const response = await fetch(`${base}/completion`, {
      method: "POST",
      body: JSON.stringify({ prompt: "Once upon a time", n_predict: 40, temperature: 0 }),
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).content, STORIES_GREEDY);
    const modes = [...Deno.readDirSync(`/proc/${child.pid}/task`)].map((task) =>
      /^Seccomp:\s*(\d)/m.exec(
        Deno.readTextFileSync(`/proc/${child.pid}/task/${task.name}/status`),
      )?.[1]
    );
    assert.ok(modes.length > 1);
    assert.deepEqual([...new Set(modes)], ["2"]);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
  const lines = (await stderr).split("\n").filter((line) => line.startsWith("llamafile: "));
  assert.ok(lines.includes("llamafile: 6/6 layers offloaded: layers 0-4 and output on Vulkan0"));
  const last = lines.filter((line) => line.startsWith("llamafile: sandbox: seccomp")).at(-1)!;
  assert.match(last, /EPERM for socket, connect, bind, listen; exec; opening files; /);
});
