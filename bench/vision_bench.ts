/**
 * Image encode and prompt time, ours against llama.cpp's `llama-mtmd-cli` (built from the same
 * release, on the same npm libraries), on the synthetic Gemma-3 text model with the real
 * Gemma-3 projector `mmproj-tinygemma3.gguf` (32 px images, 256 image positions: the only
 * projector here) and llama.cpp's test JPEG; interleaved runs, medians.
 *
 * What each side reports: the encoder's time (llama-mtmd-cli: "mtmd batch encoding done in N
 * ms"; ours: the projector's encode calls) and the prompt's evaluation (the image's embeddings
 * and the text: llama-mtmd-cli's `llama_perf_context` prompt eval time; ours: the prompt's wall
 * time less the encoder's, our contexts keeping libllama's perf counters off), warm on both sides (llama-mtmd-cli warms its encoder and model up first; ours runs
 * the prompt once before the measured pass), plus the wall time of the whole run (process
 * start to one generated token; ours then includes that extra pass).
 *
 * ```sh
 * deno run -A bench/vision_bench.ts --rounds 5     # prints the JSON result
 * ```
 *
 * @module
 */
import { ensureVisionPair } from "./synth_vision.ts";
import { testJpegPath } from "./test_images.ts";
import { libraryDir } from "../ffi/library_path.ts";
import { ensureMtmdBuild } from "../scripts/build_mtmd.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** One run's numbers, in milliseconds. */
export interface VisionRun {
  encodeMs: number;
  promptEvalMs: number;
  promptTokens: number;
  wallMs: number;
}

/** Medians of both sides. */
export interface VisionBenchResult {
  image: string;
  threads: number;
  rounds: number;
  ours: VisionRun;
  native: VisionRun;
}

const PROMPT = "Describe the image.";

function median(xs: number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function medianRun(runs: VisionRun[]): VisionRun {
  return {
    encodeMs: median(runs.map((r) => r.encodeMs)),
    promptEvalMs: median(runs.map((r) => r.promptEvalMs)),
    promptTokens: median(runs.map((r) => r.promptTokens)),
    wallMs: median(runs.map((r) => r.wallMs)),
  };
}

/** One llama-mtmd-cli run, generating one token. */
async function runNative(
  cli: string,
  model: string,
  mmproj: string,
  image: string,
  threads: number,
): Promise<VisionRun> {
  const libs = libraryDir();
  const started = performance.now();
  const out = await new Deno.Command(cli, {
    args: [
      "-m",
      model,
      "--mmproj",
      mmproj,
      "--image",
      image,
      "-p",
      PROMPT,
      "-n",
      "1",
      "--temp",
      "0",
      "-t",
      String(threads),
      "-v", // its perf lines are printed at this verbosity
    ],
    cwd: libs,
    env: { LD_LIBRARY_PATH: libs },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - started;
  const log = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`llama-mtmd-cli failed: ${log.slice(-400)}`);
  const encode = /mtmd batch encoding done in (\d+) ms/.exec(log);
  const prompt = /prompt eval time =\s*([\d.]+) ms \/\s*(\d+) tokens/.exec(log);
  if (!encode || !prompt) throw new Error(`Cannot read llama-mtmd-cli's timings:\n${log}`);
  return {
    encodeMs: Number(encode[1]),
    promptEvalMs: Number(prompt[1]),
    promptTokens: Number(prompt[2]),
    wallMs,
  };
}

/** One run of ours, in a process of its own (this file's main, `--ours`). */
async function runOurs(
  model: string,
  mmproj: string,
  image: string,
  threads: number,
): Promise<VisionRun> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-all",
      `${ROOT}/bench/vision_bench.ts`,
      "--ours",
      model,
      mmproj,
      image,
      String(threads),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - started;
  if (!out.success) {
    throw new Error(`vision_bench --ours failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const run = JSON.parse(new TextDecoder().decode(out.stdout)) as VisionRun;
  return { ...run, wallMs };
}

/** Ours, in this process: what `llama-mtmd-cli` does, through our engine. */
async function oursInProcess(
  model: string,
  mmproj: string,
  image: string,
  threads: number,
): Promise<Omit<VisionRun, "wallMs">> {
  const { loadModel } = await import("../lib/engine/model.ts");
  const { createContext } = await import("../lib/engine/context.ts");
  const { generate } = await import("../lib/engine/generate.ts");
  const { loadProjector } = await import("../lib/engine/projector.ts");
  const { buildMediaPrompt, splitAtMarkers } = await import("../lib/engine/media_prompt.ts");
  using text = await loadModel(model);
  using projector = await loadProjector(text, mmproj, { threads });
  await using context = await createContext(text, { threads });
  using picture = await projector.readImage(await Deno.readFile(image), image);
  const formatted =
    `<start_of_turn>user\n<__media__>${PROMPT}<end_of_turn>\n<start_of_turn>model\n`;
  using prompt = await buildMediaPrompt(
    projector,
    splitAtMarkers(formatted, projector.marker, [picture]),
  );
  const once = async () => {
    const run = generate(context, prompt, { temperature: 0, maxTokens: 1 });
    let step = await run.next();
    while (!step.done) step = await run.next();
    return step.value;
  };
  // llama-mtmd-cli warms up the encoder and the text model before its prompt: so do we, by a
  // first pass, then the measured one.
  await once();
  const encodedBefore = projector.stats.encodeMs;
  const result = await once();
  const encodeMs = projector.stats.encodeMs - encodedBefore;
  // Our contexts keep libllama's perf counters off: the prompt's wall time less the encoder's
  // is its evaluation (the image's embeddings and the text, through our FFI).
  return {
    encodeMs,
    promptEvalMs: result.promptMs - encodeMs,
    promptTokens: result.promptTokens,
  };
}

/**
 * Runs both sides `rounds` times, interleaved, on `threads` threads (building llama-mtmd-cli
 * and writing the model first if needed).
 */
export async function measureVision(
  options: { threads?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<VisionBenchResult> {
  const threads = options.threads ?? 1;
  const rounds = options.rounds ?? 5;
  const build = await ensureMtmdBuild({
    reference: true,
    ...(options.log && { log: options.log }),
  });
  const pair = await ensureVisionPair();
  const image = testJpegPath();
  const ours: VisionRun[] = [];
  const native: VisionRun[] = [];
  for (let i = 0; i < rounds; i++) {
    native.push(await runNative(build.referenceCli!, pair.model, pair.mmproj, image, threads));
    ours.push(await runOurs(pair.model, pair.mmproj, image, threads));
  }
  return {
    image: image.split("/").pop()!,
    threads,
    rounds,
    ours: medianRun(ours),
    native: medianRun(native),
  };
}

if (import.meta.main) {
  if (Deno.args[0] === "--ours") {
    const [, model, mmproj, image, threads] = Deno.args;
    console.log(JSON.stringify(await oursInProcess(model!, mmproj!, image!, Number(threads))));
  } else {
    const at = Deno.args.indexOf("--rounds");
    const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 5;
    const result = await measureVision({
      rounds,
      log: (line) => console.error(`vision_bench: ${line}`),
    });
    console.log(JSON.stringify(result, null, 2));
  }
}
