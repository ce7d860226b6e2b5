/**
 * node-llama-cpp as a benchmark reference: installs `node-llama-cpp@3.22.1` with its prebuilt
 * linux-x64 binaries into `${XDG_CACHE_HOME:-~/.cache}/llamafile-bench/node-llama-cpp/` (npm,
 * `--ignore-scripts`: nothing is downloaded from elsewhere or built) and runs
 * `node_llama_cpp_bench.mjs` under Node to measure pp512 and tg128.
 *
 * ```sh
 * deno run -A bench/node_llama_cpp.ts MODEL.gguf [THREADS]
 * ```
 *
 * @module
 */

import { cacheDir, exists, run } from "./cache_dir.ts";
import { NODE_LLAMA_CPP_VERSION } from "./native.ts";

/** Options of {@linkcode runNodeLlamaCpp}. */
export interface NodeLlamaCppOptions {
  /** GGUF model path. */
  model: string;
  /** Threads (default 1: this machine's cores are shared). */
  threads?: number;
  /** Measured runs of each test after one warmup (default 3). */
  reps?: number;
  /** Prompt length of the pp test (default 512). */
  nPrompt?: number;
  /** Generated tokens of the tg test (default 128). */
  nGen?: number;
  /** Flash attention (default false: node-llama-cpp's default). */
  flashAttention?: boolean;
}

/** Throughput measured through node-llama-cpp. */
export interface NodeLlamaCppResult {
  /** Prompt processing, mean tok/s (`nPrompt` tokens in one batch). */
  pp512: number;
  /** Generation, mean tok/s (`nGen` single-token decodes). */
  tg128: number;
  /** Model load time, ms. */
  loadMs: number;
  /** Every measured run, tok/s. */
  ppSamples: number[];
  tgSamples: number[];
}

const SCRIPT = new URL("./node_llama_cpp_bench.mjs", import.meta.url).pathname;

/**
 * Installs node-llama-cpp (once) into the cache and returns the folder holding its
 * `node_modules`.
 *
 * @throws {Error} When npm fails.
 */
export async function ensureNodeLlamaCpp(): Promise<string> {
  const dir = cacheDir("node-llama-cpp");
  const stamp = `${dir}/ok-${NODE_LLAMA_CPP_VERSION}`;
  if (await exists(stamp)) return dir;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/package.json`, '{ "private": true, "type": "module" }\n');
  // --omit=optional skips the CUDA and Vulkan builds node-llama-cpp lists as optional
  // dependencies; the CPU one is named explicitly.
  await run("npm", [
    "install",
    "--ignore-scripts",
    "--omit=optional",
    "--no-audit",
    "--no-fund",
    "--silent",
    `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`,
    `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP_VERSION}`,
  ], { cwd: dir, quiet: true });
  await Deno.writeTextFile(stamp, "");
  return dir;
}

/**
 * Measures pp512 and tg128 of `model` through node-llama-cpp (run under Node).
 *
 * @throws {Error} When the install or the benchmark run fails.
 */
export async function runNodeLlamaCpp(options: NodeLlamaCppOptions): Promise<NodeLlamaCppResult> {
  const lib = await ensureNodeLlamaCpp();
  const out = await run("node", [
    SCRIPT,
    "--lib",
    lib,
    "--model",
    options.model,
    "--threads",
    String(options.threads ?? 1),
    "--reps",
    String(options.reps ?? 3),
    "--n-prompt",
    String(options.nPrompt ?? 512),
    "--n-gen",
    String(options.nGen ?? 128),
    "--flash-attn",
    options.flashAttention ? "on" : "off",
  ], { quiet: true });
  const line = out.trim().split("\n").pop() ?? "";
  let r;
  try {
    r = JSON.parse(line);
  } catch (err) {
    throw new Error(`Cannot read the node-llama-cpp result: not JSON: ${line.slice(0, 200)}`, {
      cause: err,
    });
  }
  return {
    pp512: r.pp,
    tg128: r.tg,
    loadMs: r.loadMs,
    ppSamples: r.ppSamples,
    tgSamples: r.tgSamples,
  };
}

if (import.meta.main) {
  const [model, threads] = Deno.args;
  if (!model) {
    console.error("Usage: deno run -A bench/node_llama_cpp.ts MODEL.gguf [THREADS]");
    Deno.exit(2);
  }
  const result = await runNodeLlamaCpp({ model, threads: Number(threads ?? 1) });
  console.log(JSON.stringify({ model, threads: Number(threads ?? 1), ...result }));
}
