/**
 * The start-up floor of a Deno-hosted llamafile: `first_token.c`'s calls, and nothing else,
 * made from Deno through FFI. No argument parser, no sandbox, no GGUF check, no chunks to
 * compile: what any program on Deno and libllama pays before it can print a first token.
 * bench/start_up.ts times it beside the llamafile, `first_token.c` and native
 * `llama-completion`.
 *
 * ```sh
 * deno run --allow-read --allow-ffi --allow-env bench/first_token.ts LIBDIR CPU_BACKEND.so MODEL OFFSET PROMPT
 * ```
 *
 * OFFSET > 0 reads the weights in place from inside a llamafile (through a `FILE *` at that
 * offset, as the app does); 0 opens MODEL as a GGUF file. Prints the first token's text.
 *
 * @module
 */

import {
  BATCH_STRUCT,
  CONTEXT_PARAMS,
  CONTEXT_PARAMS_STRUCT,
  MODEL_PARAMS_STRUCT,
} from "../ffi/structs.ts";
import { GGML_LIB, LLAMA_LIB } from "../ffi/library_path.ts";

const [libDir, cpuBackend, model, offsetText, prompt] = Deno.args;
if (prompt === undefined) {
  console.error("usage: first_token.ts LIBDIR CPU_BACKEND.so MODEL OFFSET PROMPT");
  Deno.exit(2);
}
const offset = BigInt(offsetText!);
const c = (text: string) => new TextEncoder().encode(`${text}\0`);

const libc = Deno.dlopen("libc.so.6", {
  fopen: { parameters: ["buffer", "buffer"], result: "pointer" },
  fseeko: { parameters: ["pointer", "i64", "i32"], result: "i32" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
}).symbols;
const ggml = Deno.dlopen(`${libDir}/${GGML_LIB}`, {
  ggml_backend_load: { parameters: ["buffer"], result: "pointer" },
}).symbols;
const llama = Deno.dlopen(`${libDir}/${LLAMA_LIB}`, {
  llama_log_set: { parameters: ["pointer", "pointer"], result: "void" },
  llama_backend_init: { parameters: [], result: "void" },
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS_STRUCT },
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS_STRUCT },
  llama_model_load_from_file: { parameters: ["buffer", MODEL_PARAMS_STRUCT], result: "pointer" },
  llama_model_load_from_file_ptr: {
    parameters: ["pointer", MODEL_PARAMS_STRUCT],
    result: "pointer",
  },
  llama_model_n_ctx_train: { parameters: ["pointer"], result: "i32" },
  llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS_STRUCT], result: "pointer" },
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  llama_tokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_batch_get_one: { parameters: ["buffer", "i32"], result: BATCH_STRUCT },
  llama_decode: { parameters: ["pointer", BATCH_STRUCT], result: "i32" },
  llama_sampler_init_greedy: { parameters: [], result: "pointer" },
  llama_sampler_sample: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  llama_token_to_piece: {
    parameters: ["pointer", "i32", "buffer", "i32", "i32", "bool"],
    result: "i32",
  },
}).symbols;

function fail(what: string): never {
  console.error(`first_token.ts: ${what}`);
  Deno.exit(1);
}

// Quiet, as first_token.c and the app are: `int abs(int)` as a native no-op log callback.
llama.llama_log_set(libc.dlsym(null, c("abs")), null);
if (ggml.ggml_backend_load(c(cpuBackend!)) === null) fail("cannot load the CPU backend");
llama.llama_backend_init();
const modelParams = llama.llama_model_default_params();
let weights: Deno.PointerValue;
if (offset > 0n) {
  const file = libc.fopen(c(model!), c("rb"));
  if (file === null || libc.fseeko(file, offset, 0) !== 0) fail("cannot open the llamafile");
  weights = llama.llama_model_load_from_file_ptr(file, modelParams);
} else {
  weights = llama.llama_model_load_from_file(c(model!), modelParams);
}
if (weights === null) fail("cannot load the model");

// The app's context: 4096 tokens or the trained size if smaller, one thread.
const contextParams = llama.llama_context_default_params();
const view = new DataView(contextParams.buffer);
const trained = llama.llama_model_n_ctx_train(weights);
const nCtx = trained > 0 && trained < 4096 ? trained : 4096;
view.setUint32(CONTEXT_PARAMS.n_ctx, nCtx, true);
view.setUint32(CONTEXT_PARAMS.n_batch, Math.min(nCtx, 2048), true);
view.setUint32(CONTEXT_PARAMS.n_ubatch, Math.min(nCtx, 512), true);
view.setInt32(CONTEXT_PARAMS.n_threads, 1, true);
view.setInt32(CONTEXT_PARAMS.n_threads_batch, 1, true);
const context = llama.llama_init_from_model(weights, contextParams);
if (context === null) fail("cannot create the context");

const vocab = llama.llama_model_get_vocab(weights);
const tokens = new Int32Array(512);
const text = new TextEncoder().encode(prompt);
const n = llama.llama_tokenize(vocab, text, text.length, tokens, tokens.length, true, true);
if (n <= 0) fail("cannot tokenize the prompt");
if (llama.llama_decode(context, llama.llama_batch_get_one(tokens, n)) !== 0) {
  fail("cannot decode the prompt");
}
const sampler = llama.llama_sampler_init_greedy();
const token = llama.llama_sampler_sample(sampler, context, -1);
const piece = new Uint8Array(256);
const length = llama.llama_token_to_piece(vocab, token, piece, piece.length, 0, true);
Deno.stdout.writeSync(piece.subarray(0, Math.max(0, length)));
Deno.stdout.writeSync(new Uint8Array([10]));
