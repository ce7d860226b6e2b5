// Measures node-llama-cpp like llama-bench does: pp512 (one 512-token batch on an empty
// context) and tg128 (128 single-token decodes on an empty context), random tokens, after one
// warmup run of each, the mean over --reps runs. Prints one JSON object on stdout.
//
// Run under Node (not Deno), with node-llama-cpp installed in --lib (bench/node_llama_cpp.ts
// does both):
//   node bench/node_llama_cpp_bench.mjs --lib DIR --model M.gguf [--threads 1] [--reps 3]
//     [--n-prompt 512] [--n-gen 128] [--flash-attn on|off]
//
// node-llama-cpp 3.22.1 has no option for weight repacking (llama.cpp's use_extra_bufts): it
// always runs with llama.cpp's default, repacking on.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    lib: { type: "string" },
    model: { type: "string" },
    threads: { type: "string", default: "1" },
    reps: { type: "string", default: "3" },
    "n-prompt": { type: "string", default: "512" },
    "n-gen": { type: "string", default: "128" },
    "flash-attn": { type: "string", default: "off" },
  },
});
if (!values.lib || !values.model) {
  console.error("node_llama_cpp_bench: --lib and --model are required");
  process.exit(2);
}
const threads = Number(values.threads);
const reps = Number(values.reps);
const nPrompt = Number(values["n-prompt"]);
const nGen = Number(values["n-gen"]);
const flashAttention = values["flash-attn"] === "on";

const entry = join(values.lib, "node_modules", "node-llama-cpp", "dist", "index.js");
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(entry).href);

// Offline: use the prebuilt @node-llama-cpp/linux-x64 binaries, never download or build.
const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
  progressLogs: false,
  logLevel: LlamaLogLevel.error,
  maxThreads: threads,
});

const t0 = performance.now();
const model = await llama.loadModel({ modelPath: values.model, gpuLayers: 0 });
const loadMs = performance.now() - t0;
const context = await model.createContext({
  contextSize: nPrompt + nGen,
  batchSize: nPrompt,
  threads,
  flashAttention,
});
const sequence = context.getSequence();

// A seeded PRNG for token ids, like llama-bench's random tokens.
let state = 12345;
const nVocab = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length;
if (!(nVocab > 0)) {
  console.error(`node_llama_cpp_bench: Cannot find the vocab size of "${values.model}"`);
  process.exit(1);
}
const randomToken = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % nVocab;
};

async function runPrompt() {
  await sequence.clearHistory();
  const tokens = Array.from({ length: nPrompt }, randomToken);
  const start = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  return nPrompt / ((performance.now() - start) / 1000);
}

async function runGen() {
  await sequence.clearHistory();
  const start = performance.now();
  for (let i = 0; i < nGen; i++) {
    await sequence.evaluateWithoutGeneratingNewTokens([randomToken()]);
  }
  return nGen / ((performance.now() - start) / 1000);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stddev = (xs) => {
  const m = mean(xs);
  return xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

await runPrompt(); // warmup
const pp = [];
for (let i = 0; i < reps; i++) pp.push(await runPrompt());
await runGen(); // warmup
const tg = [];
for (let i = 0; i < reps; i++) tg.push(await runGen());

console.log(JSON.stringify({
  pp: mean(pp),
  tg: mean(tg),
  ppStddev: stddev(pp),
  tgStddev: stddev(tg),
  ppSamples: pp,
  tgSamples: tg,
  loadMs,
  threads,
  nPrompt,
  nGen,
  flashAttention,
  repack: "default (on)",
  cpuBackend: llama.buildType ?? null,
  llamaCppRelease: llama.llamaCppRelease?.release ?? null,
}));

await context.dispose();
await model.dispose();
await llama.dispose();
