// A synthetic model must load in libllama and generate: the benchmarks rely on it. This test
// binds the few libllama calls it needs itself, so it checks the generator independently of
// our own FFI layer.
import assert from "node:assert/strict";
import { ggufSummary, readGguf } from "../lib/gguf.ts";
import { ensureSynthModel, isSynthModel, synthSpec, type SynthType } from "../bench/synth_model.ts";

const LIB_DIR = new URL(
  "../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64",
  import.meta.url,
).pathname;

const SMALL = { layers: 2, embd: 256, ff: 512, heads: 4, kvHeads: 2 } as const;

/** 80-byte `llama_model_params`, 160-byte `llama_context_params`, 56-byte `llama_batch`. */
const MODEL_PARAMS = { struct: Array(10).fill("u64") } as const;
const CONTEXT_PARAMS = { struct: Array(20).fill("u64") } as const;
const BATCH = { struct: Array(7).fill("u64") } as const;

function openLlama() {
  const ggml = Deno.dlopen(`${LIB_DIR}/libggml.v0.5.0.so`, {
    ggml_backend_load_all_from_path: { parameters: ["buffer"], result: "void" },
  });
  const llama = Deno.dlopen(`${LIB_DIR}/libllama.v0.5.0.so`, {
    llama_backend_init: { parameters: [], result: "void" },
    llama_backend_free: { parameters: [], result: "void" },
    llama_log_set: { parameters: ["function", "pointer"], result: "void" },
    llama_model_default_params: { parameters: [], result: MODEL_PARAMS },
    llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS },
    llama_model_load_from_file: { parameters: ["buffer", MODEL_PARAMS], result: "pointer" },
    llama_model_free: { parameters: ["pointer"], result: "void" },
    llama_model_n_params: { parameters: ["pointer"], result: "u64" },
    llama_model_n_layer: { parameters: ["pointer"], result: "i32" },
    llama_model_n_embd: { parameters: ["pointer"], result: "i32" },
    llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
    llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" },
    llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS], result: "pointer" },
    llama_free: { parameters: ["pointer"], result: "void" },
    llama_tokenize: {
      parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
      result: "i32",
    },
    llama_batch_get_one: { parameters: ["buffer", "i32"], result: BATCH },
    llama_decode: { parameters: ["pointer", BATCH], result: "i32" },
    llama_get_logits_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  });
  const cstr = (s: string) => new TextEncoder().encode(s + "\0");
  const log = new Deno.UnsafeCallback(
    { parameters: ["i32", "pointer", "pointer"], result: "void" } as const,
    () => {},
  );
  const progress = new Deno.UnsafeCallback(
    { parameters: ["f32", "pointer"], result: "bool" } as const,
    () => true,
  );
  // The log callback first (it silences the backend loader too), then the CPU backends
  // (under Deno ggml would look for them beside the deno binary), then the backend.
  llama.symbols.llama_log_set(log.pointer, null);
  ggml.symbols.ggml_backend_load_all_from_path(cstr(LIB_DIR));
  llama.symbols.llama_backend_init();
  return {
    llama: llama.symbols,
    cstr,
    progress,
    close() {
      llama.symbols.llama_backend_free();
      llama.close();
      ggml.close();
      log.close();
      progress.close();
    },
  };
}

type Llama = ReturnType<typeof openLlama>;

/** Loads `path`, greedily generates `n` tokens after a prompt, returns them and facts. */
function generate(lib: Llama, path: string, n: number) {
  const { llama, cstr } = lib;
  const mparams = llama.llama_model_default_params();
  const mview = new DataView(mparams.buffer);
  assert.equal(mparams.length, 80);
  assert.equal(mview.getInt32(16, true), -1, "ABI: n_gpu_layers default at offset 16");
  mview.setBigUint64(48, BigInt(Deno.UnsafePointer.value(lib.progress.pointer)), true);
  const model = llama.llama_model_load_from_file(cstr(path), mparams);
  assert.ok(model, `libllama could not load "${path}"`);
  try {
    const cparams = llama.llama_context_default_params();
    const cview = new DataView(cparams.buffer);
    assert.equal(cview.getUint32(0, true), 512, "ABI: n_ctx default at offset 0");
    cview.setUint32(0, 256, true); // n_ctx
    cview.setUint32(4, 256, true); // n_batch
    cview.setUint32(8, 256, true); // n_ubatch
    cview.setInt32(28, 1, true); // n_threads
    cview.setInt32(32, 1, true); // n_threads_batch
    const ctx = llama.llama_init_from_model(model, cparams);
    assert.ok(ctx, "libllama could not create a context");
    try {
      const vocab = llama.llama_model_get_vocab(model);
      const nVocab = llama.llama_vocab_n_tokens(vocab);
      const text = new TextEncoder().encode("Once upon a time");
      const prompt = new Int32Array(64);
      const count = llama.llama_tokenize(vocab, text, text.length, prompt, 64, true, false);
      assert.ok(count > 1, `tokenize returned ${count}`);
      let batchTokens = prompt.subarray(0, count);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const rc = llama.llama_decode(
          ctx,
          llama.llama_batch_get_one(batchTokens, batchTokens.length),
        );
        assert.equal(rc, 0, `llama_decode returned ${rc}`);
        const ptr = llama.llama_get_logits_ith(ctx, -1);
        assert.ok(ptr);
        const logits = new Float32Array(new Deno.UnsafePointerView(ptr).getArrayBuffer(nVocab * 4));
        let best = 0;
        let min = Infinity;
        let max = -Infinity;
        for (let t = 0; t < nVocab; t++) {
          const v = logits[t]!;
          assert.ok(Number.isFinite(v), `logit ${t} is ${v}`);
          if (v > logits[best]!) best = t;
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        assert.ok(max - min > 1e-3, `logits are all the same (${min}..${max})`);
        out.push(best);
        batchTokens = new Int32Array([best]);
      }
      return {
        tokens: out,
        nVocab,
        nParams: Number(llama.llama_model_n_params(model)),
        nLayer: llama.llama_model_n_layer(model),
        nEmbd: llama.llama_model_n_embd(model),
      };
    } finally {
      llama.llama_free(ctx);
    }
  } finally {
    llama.llama_model_free(model);
  }
}

Deno.test("ensureSynthModel() makes small llama GGUFs that libllama loads and runs", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "synth_model_test_" });
  const lib = openLlama();
  try {
    for (const type of ["q8_0", "q4_0"] as SynthType[]) {
      await t.step(type, async () => {
        const path = `${dir}/small-${type}.gguf`;
        assert.equal(await ensureSynthModel({ ...SMALL, type }, { path }), path);
        assert.ok(await isSynthModel(path, synthSpec({ ...SMALL, type })));
        assert.equal(await isSynthModel(path, synthSpec({ ...SMALL, type, seed: 2 })), false);

        const summary = ggufSummary(await readGguf(path));
        assert.equal(summary.fileTypeName, type.toUpperCase());
        assert.equal(summary.vocabSize, 32000);
        assert.equal(summary.blockCount, 2);

        const first = generate(lib, path, 4);
        assert.equal(first.nVocab, 32000);
        assert.equal(first.nLayer, 2);
        assert.equal(first.nEmbd, 256);
        assert.equal(first.nParams, summary.parameterCount);
        // A valid model is reused; a remade one has the same bytes, so the same greedy tokens.
        const before = await Deno.readFile(path);
        const { mtime } = await Deno.stat(path);
        await ensureSynthModel({ ...SMALL, type }, { path });
        assert.deepEqual((await Deno.stat(path)).mtime, mtime);
        await Deno.remove(path);
        await ensureSynthModel({ ...SMALL, type }, { path });
        assert.deepEqual(await Deno.readFile(path), before);
        assert.deepEqual(generate(lib, path, 4).tokens, first.tokens);
      });
    }
  } finally {
    lib.close();
    await Deno.remove(dir, { recursive: true });
  }
});
