/**
 * Measures llamafile.ts like llama-bench does: pp (one n-prompt batch on an empty context) and
 * tg (n-gen single-token decodes on an empty context), random tokens, one warmup run of each,
 * the mean over --reps runs. Prints one JSON object on stdout. Runs in its own process so
 * load time and peak RSS are its own.
 *
 *   deno run -A bench/ours_bench.ts --model M.gguf [--threads 1] [--reps 3] [--repack on|off]
 *     [--n-prompt 512] [--n-gen 128] [--decode nonblocking|sync] [--flash-attn on|off]
 *     [--gpu auto|nvidia|amd|vulkan] [--n-gpu-layers N|all]
 *
 * `--decode sync` decodes as the CLI does (one-token steps on the JS thread, one every 100 ms
 * off it), `nonblocking` as the server does (every step off the JS thread); the prompt batch is
 * decoded off the JS thread either way.
 *
 * With `--n-gpu-layers` the GPU is set up as the CLI sets it up (`setUpGpu`), and a GPU that
 * cannot be used is an error here, not a fallback: a benchmark must not quietly measure the CPU.
 *
 * @module
 */
import { TokenBatch } from "../ffi/batch.ts";
import { createContext } from "../lib/engine/context.ts";
import { type GpuMode, setUpGpu } from "../lib/engine/gpu_setup.ts";
import { formatPlacement } from "../lib/engine/layer_placement.ts";
import { loadModel } from "../lib/engine/model.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1]! : fallback;
}

/** Peak resident set size of this process in MiB. */
export function peakRssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

if (import.meta.main) {
  const modelPath = flag("model", "");
  const threads = Number(flag("threads", "1"));
  const reps = Number(flag("reps", "3"));
  const repack = flag("repack", "on") === "on";
  const nPrompt = Number(flag("n-prompt", "512"));
  const nGen = Number(flag("n-gen", "128"));
  const sync = flag("decode", "nonblocking") === "sync";
  const flashAttention = flag("flash-attn", "off") === "on";
  const gpuLayersFlag = flag("n-gpu-layers", "0");
  const gpuLayers = gpuLayersFlag === "all" ? "all" : Number(gpuLayersFlag);
  const gpu = gpuLayers === 0 ? null : await setUpGpu({
    mode: flag("gpu", "auto") as GpuMode,
    layers: gpuLayers,
  });
  if (gpu?.note) {
    console.error(`ours_bench: ${gpu.note}`);
    Deno.exit(1);
  }

  const t0 = performance.now();
  const model = await loadModel(modelPath, {
    repack,
    ...(gpu !== null && { devices: gpu.devices, gpuLayers }),
  });
  const loadMs = performance.now() - t0;
  const context = await createContext(model, {
    contextSize: nPrompt + nGen,
    batchSize: Math.max(1, nPrompt),
    ubatchSize: Math.max(1, nPrompt),
    threads,
    flashAttention,
  });

  let state = 12345;
  const randomToken = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % model.vocabSize;
  };
  const prompt = new TokenBatch(Math.max(1, nPrompt));
  const one = new TokenBatch(1);

  const runPrompt = async () => {
    context.clear();
    prompt.clear();
    for (let i = 0; i < nPrompt; i++) prompt.add(randomToken(), i, 0, i === nPrompt - 1);
    const start = performance.now();
    await context.decode(prompt);
    return nPrompt / ((performance.now() - start) / 1000);
  };
  const runGen = async () => {
    context.clear();
    const start = performance.now();
    let turned = start;
    for (let i = 0; i < nGen; i++) {
      one.clear();
      one.add(randomToken(), i, 0, true);
      if (sync && performance.now() - turned <= 100) context.decodeSync(one);
      else {
        // As generate() does with syncDecode (the CLI): one decode every 100 ms off this thread.
        await context.decode(one);
        turned = performance.now();
      }
    }
    return nGen / ((performance.now() - start) / 1000);
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  // --n-prompt 0: generation only.
  const pp: number[] = [];
  if (nPrompt > 0) {
    await runPrompt();
    for (let i = 0; i < reps; i++) pp.push(await runPrompt());
  }
  await runGen();
  const tg: number[] = [];
  for (let i = 0; i < reps; i++) tg.push(await runGen());

  console.log(JSON.stringify({
    pp: mean(pp),
    tg: mean(tg),
    ppSamples: pp,
    tgSamples: tg,
    loadMs,
    peakRssMiB: peakRssMiB(),
    threads,
    nPrompt,
    nGen,
    repack,
    decode: sync ? "sync" : "nonblocking",
    devices: gpu?.devices.map((d) => `${d.name}: ${d.description}`) ?? [],
    placement: model.placement === null ? null : formatPlacement(model.placement),
    modelBytes: model.sizeBytes,
  }));
  await context.close();
  model.close();
}
