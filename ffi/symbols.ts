/**
 * The libllama / libggml functions we call, grouped like `llama.h`.
 *
 * Structs passed or returned by value are declared with the layouts in
 * `structs.ts`; `bool` is `u8` in a struct and `bool` as a parameter.
 *
 * @module
 */
import {
  BATCH_STRUCT,
  CONTEXT_PARAMS_STRUCT,
  MODEL_PARAMS_STRUCT,
  MTMD_BITMAP_WRAPPER_STRUCT,
  MTMD_CONTEXT_PARAMS_STRUCT,
  MTMD_HELPER_INIT_OPT_STRUCT,
  PERF_CONTEXT_STRUCT,
} from "./structs.ts";

/** Symbols of `libggml.v0.5.0.so` (backend registry). */
export const GGML_SYMBOLS = {
  // ggml_abort_callback_t ggml_set_abort_callback(ggml_abort_callback_t callback)
  // (in libggml-base, found through libggml's dependencies)
  ggml_set_abort_callback: { parameters: ["function"], result: "function" },
  // void ggml_backend_load_all_from_path(const char * dir_path)
  ggml_backend_load_all_from_path: { parameters: ["buffer"], result: "void" },
  // ggml_backend_reg_t ggml_backend_load(const char * path)
  ggml_backend_load: { parameters: ["buffer"], result: "pointer" },
  // ggml_backend_reg_t ggml_backend_reg_by_name(const char * name)
  ggml_backend_reg_by_name: { parameters: ["buffer"], result: "pointer" },
  // void * ggml_backend_reg_get_proc_address(ggml_backend_reg_t reg, const char * name)
  ggml_backend_reg_get_proc_address: { parameters: ["pointer", "buffer"], result: "pointer" },
  // size_t ggml_backend_dev_count(void)
  ggml_backend_dev_count: { parameters: [], result: "usize" },
  // ggml_backend_dev_t ggml_backend_dev_get(size_t index)
  ggml_backend_dev_get: { parameters: ["usize"], result: "pointer" },
  // enum ggml_backend_dev_type ggml_backend_dev_type(ggml_backend_dev_t device)
  ggml_backend_dev_type: { parameters: ["pointer"], result: "i32" },
  // const char * ggml_backend_dev_name(ggml_backend_dev_t device)
  ggml_backend_dev_name: { parameters: ["pointer"], result: "pointer" },
  // const char * ggml_version(void) (in libggml-base)
  ggml_version: { parameters: [], result: "pointer" },
  // const char * ggml_commit(void) (in libggml-base)
  ggml_commit: { parameters: [], result: "pointer" },
  // const char * ggml_backend_dev_description(ggml_backend_dev_t device)
  ggml_backend_dev_description: { parameters: ["pointer"], result: "pointer" },
  // void ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free, size_t * total)
  ggml_backend_dev_memory: { parameters: ["pointer", "buffer", "buffer"], result: "void" },
  // ggml_backend_reg_t ggml_backend_dev_backend_reg(ggml_backend_dev_t device)
  ggml_backend_dev_backend_reg: { parameters: ["pointer"], result: "pointer" },
  // ggml_backend_t ggml_backend_dev_init(ggml_backend_dev_t device, const char * params)
  ggml_backend_dev_init: { parameters: ["pointer", "pointer"], result: "pointer" },
  // ggml_backend_buffer_type_t ggml_backend_dev_buffer_type(ggml_backend_dev_t device)
  ggml_backend_dev_buffer_type: { parameters: ["pointer"], result: "pointer" },
  // const char * ggml_backend_buft_name(ggml_backend_buffer_type_t buft)
  ggml_backend_buft_name: { parameters: ["pointer"], result: "pointer" },
  // void ggml_backend_free(ggml_backend_t backend)
  ggml_backend_free: { parameters: ["pointer"], result: "void" },
  // const char * ggml_backend_reg_name(ggml_backend_reg_t reg)
  ggml_backend_reg_name: { parameters: ["pointer"], result: "pointer" },
  // size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg)
  ggml_backend_reg_dev_count: { parameters: ["pointer"], result: "usize" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Symbols of `libllama.v0.5.0.so`, plus libc's stdio found through it. */
export const LLAMA_SYMBOLS = {
  // --- defaults and backend ---
  // struct llama_model_params llama_model_default_params(void)
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS_STRUCT },
  // struct llama_context_params llama_context_default_params(void)
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS_STRUCT },
  // void llama_backend_init(void)
  llama_backend_init: { parameters: [], result: "void" },
  // void llama_log_set(ggml_log_callback log_callback, void * user_data)
  llama_log_set: { parameters: ["function", "pointer"], result: "void" },
  // const char * llama_version(void)
  llama_version: { parameters: [], result: "pointer" },
  // const char * llama_print_system_info(void)
  llama_print_system_info: { parameters: [], result: "pointer" },
  // bool llama_supports_gpu_offload(void)
  llama_supports_gpu_offload: { parameters: [], result: "bool" },
  // size_t llama_max_devices(void)
  llama_max_devices: { parameters: [], result: "usize" },
  // int64_t llama_time_us(void)
  llama_time_us: { parameters: [], result: "i64" },

  // --- model ---
  // struct llama_model * llama_model_load_from_file(const char * path_model, struct llama_model_params params)
  llama_model_load_from_file: {
    parameters: ["buffer", MODEL_PARAMS_STRUCT],
    result: "pointer",
    nonblocking: true,
  },
  // struct llama_model * llama_model_load_from_file_ptr(FILE * file, struct llama_model_params params)
  llama_model_load_from_file_ptr: {
    parameters: ["pointer", MODEL_PARAMS_STRUCT],
    result: "pointer",
    nonblocking: true,
  },
  // The same two on the calling thread, for weights small enough to load in a millisecond
  llama_model_load_from_file_sync: {
    name: "llama_model_load_from_file",
    parameters: ["buffer", MODEL_PARAMS_STRUCT],
    result: "pointer",
  },
  llama_model_load_from_file_ptr_sync: {
    name: "llama_model_load_from_file_ptr",
    parameters: ["pointer", MODEL_PARAMS_STRUCT],
    result: "pointer",
  },
  // void llama_model_free(struct llama_model * model)
  llama_model_free: { parameters: ["pointer"], result: "void" },
  // const struct llama_vocab * llama_model_get_vocab(const struct llama_model * model)
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  // int32_t llama_model_n_ctx_train(const struct llama_model * model)
  llama_model_n_ctx_train: { parameters: ["pointer"], result: "i32" },
  // int32_t llama_model_n_embd(const struct llama_model * model)
  llama_model_n_embd: { parameters: ["pointer"], result: "i32" },
  // int32_t llama_model_n_layer(const struct llama_model * model)
  llama_model_n_layer: { parameters: ["pointer"], result: "i32" },
  // int32_t llama_model_n_head(const struct llama_model * model)
  llama_model_n_head: { parameters: ["pointer"], result: "i32" },
  // int32_t llama_model_n_head_kv(const struct llama_model * model)
  llama_model_n_head_kv: { parameters: ["pointer"], result: "i32" },
  // uint32_t llama_model_n_cls_out(const struct llama_model * model)
  llama_model_n_cls_out: { parameters: ["pointer"], result: "u32" },
  // uint64_t llama_model_n_params(const struct llama_model * model)
  llama_model_n_params: { parameters: ["pointer"], result: "u64" },
  // uint64_t llama_model_size(const struct llama_model * model)
  llama_model_size: { parameters: ["pointer"], result: "u64" },
  // int32_t llama_model_desc(const struct llama_model * model, char * buf, size_t buf_size)
  llama_model_desc: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  // int32_t llama_model_meta_val_str(const struct llama_model * model, const char * key, char * buf, size_t buf_size)
  llama_model_meta_val_str: { parameters: ["pointer", "buffer", "buffer", "usize"], result: "i32" },
  // const char * llama_model_chat_template(const struct llama_model * model, const char * name)
  llama_model_chat_template: { parameters: ["pointer", "buffer"], result: "pointer" },
  // int32_t llama_chat_apply_template(const char * tmpl, const struct llama_chat_message * chat,
  //                                   size_t n_msg, bool add_ass, char * buf, int32_t length)
  llama_chat_apply_template: {
    parameters: ["buffer", "buffer", "usize", "bool", "buffer", "i32"],
    result: "i32",
  },
  // int32_t llama_chat_builtin_templates(const char ** output, size_t len)
  llama_chat_builtin_templates: { parameters: ["buffer", "usize"], result: "i32" },
  // bool llama_model_has_encoder(const struct llama_model * model)
  llama_model_has_encoder: { parameters: ["pointer"], result: "bool" },
  // bool llama_model_has_decoder(const struct llama_model * model)
  llama_model_has_decoder: { parameters: ["pointer"], result: "bool" },

  // --- vocab ---
  // int32_t llama_vocab_n_tokens(const struct llama_vocab * vocab)
  llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" },
  // bool llama_vocab_is_eog(const struct llama_vocab * vocab, llama_token token)
  llama_vocab_is_eog: { parameters: ["pointer", "i32"], result: "bool" },
  // llama_token llama_vocab_bos(const struct llama_vocab * vocab)
  llama_vocab_bos: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_eos(const struct llama_vocab * vocab)
  llama_vocab_eos: { parameters: ["pointer"], result: "i32" },
  // bool llama_vocab_get_add_bos(const struct llama_vocab * vocab)
  llama_vocab_get_add_bos: { parameters: ["pointer"], result: "bool" },
  // bool llama_vocab_get_add_eos(const struct llama_vocab * vocab)
  llama_vocab_get_add_eos: { parameters: ["pointer"], result: "bool" },
  // bool llama_vocab_get_add_sep(const struct llama_vocab * vocab)
  llama_vocab_get_add_sep: { parameters: ["pointer"], result: "bool" },
  // llama_token llama_vocab_sep(const struct llama_vocab * vocab)
  llama_vocab_sep: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_pre(const struct llama_vocab * vocab)
  llama_vocab_fim_pre: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_suf(const struct llama_vocab * vocab)
  llama_vocab_fim_suf: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_mid(const struct llama_vocab * vocab)
  llama_vocab_fim_mid: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_pad(const struct llama_vocab * vocab)
  llama_vocab_fim_pad: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_rep(const struct llama_vocab * vocab)
  llama_vocab_fim_rep: { parameters: ["pointer"], result: "i32" },
  // llama_token llama_vocab_fim_sep(const struct llama_vocab * vocab)
  llama_vocab_fim_sep: { parameters: ["pointer"], result: "i32" },
  // const char * llama_vocab_get_text(const struct llama_vocab * vocab, llama_token token)
  llama_vocab_get_text: { parameters: ["pointer", "i32"], result: "pointer" },
  // int32_t llama_tokenize(const struct llama_vocab * vocab, const char * text, int32_t text_len,
  //                        llama_token * tokens, int32_t n_tokens_max, bool add_special, bool parse_special)
  llama_tokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  // The same function off the JS thread, for long texts (llama-server tokenizes in its HTTP
  // threads while its main loop decodes: the vocabulary is read-only once loaded).
  llama_tokenize_nonblocking: {
    name: "llama_tokenize",
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
    nonblocking: true,
  },
  // int32_t llama_token_to_piece(const struct llama_vocab * vocab, llama_token token, char * buf,
  //                              int32_t length, int32_t lstrip, bool special)
  llama_token_to_piece: {
    parameters: ["pointer", "i32", "buffer", "i32", "i32", "bool"],
    result: "i32",
  },
  // int32_t llama_detokenize(const struct llama_vocab * vocab, const llama_token * tokens, int32_t n_tokens,
  //                          char * text, int32_t text_len_max, bool remove_special, bool unparse_special)
  llama_detokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },

  // --- context ---
  // struct llama_context * llama_init_from_model(struct llama_model * model, struct llama_context_params params)
  llama_init_from_model: {
    parameters: ["pointer", CONTEXT_PARAMS_STRUCT],
    result: "pointer",
    nonblocking: true,
  },
  // The same on the calling thread, for small models
  llama_init_from_model_sync: {
    name: "llama_init_from_model",
    parameters: ["pointer", CONTEXT_PARAMS_STRUCT],
    result: "pointer",
  },
  // void llama_free(struct llama_context * ctx)
  llama_free: { parameters: ["pointer"], result: "void" },
  // uint32_t llama_n_ctx(const struct llama_context * ctx)
  llama_n_ctx: { parameters: ["pointer"], result: "u32" },
  // uint32_t llama_n_ctx_seq(const struct llama_context * ctx)
  llama_n_ctx_seq: { parameters: ["pointer"], result: "u32" },
  // uint32_t llama_n_batch(const struct llama_context * ctx)
  llama_n_batch: { parameters: ["pointer"], result: "u32" },
  // uint32_t llama_n_seq_max(const struct llama_context * ctx)
  llama_n_seq_max: { parameters: ["pointer"], result: "u32" },
  // enum llama_pooling_type llama_pooling_type(const struct llama_context * ctx)
  llama_pooling_type: { parameters: ["pointer"], result: "i32" },
  // void llama_attach_threadpool(struct llama_context * ctx, ggml_threadpool_t tp, ggml_threadpool_t tp_batch)
  llama_attach_threadpool: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  // void llama_detach_threadpool(struct llama_context * ctx)
  llama_detach_threadpool: { parameters: ["pointer"], result: "void" },
  // void llama_set_n_threads(struct llama_context * ctx, int32_t n_threads, int32_t n_threads_batch)
  llama_set_n_threads: { parameters: ["pointer", "i32", "i32"], result: "void" },
  // void llama_set_embeddings(struct llama_context * ctx, bool embeddings)
  llama_set_embeddings: { parameters: ["pointer", "bool"], result: "void" },
  // llama_memory_t llama_get_memory(const struct llama_context * ctx)
  llama_get_memory: { parameters: ["pointer"], result: "pointer" },
  // void llama_memory_clear(llama_memory_t mem, bool data)
  llama_memory_clear: { parameters: ["pointer", "bool"], result: "void" },
  // bool llama_memory_seq_rm(llama_memory_t mem, llama_seq_id seq_id, llama_pos p0, llama_pos p1)
  llama_memory_seq_rm: { parameters: ["pointer", "i32", "i32", "i32"], result: "bool" },
  // void llama_memory_seq_cp(llama_memory_t mem, llama_seq_id src, llama_seq_id dst, llama_pos p0, llama_pos p1)
  llama_memory_seq_cp: { parameters: ["pointer", "i32", "i32", "i32", "i32"], result: "void" },
  // llama_pos llama_memory_seq_pos_max(llama_memory_t mem, llama_seq_id seq_id)
  llama_memory_seq_pos_max: { parameters: ["pointer", "i32"], result: "i32" },
  // void llama_memory_seq_add(llama_memory_t mem, llama_seq_id seq_id, llama_pos p0, llama_pos p1, llama_pos delta)
  llama_memory_seq_add: { parameters: ["pointer", "i32", "i32", "i32", "i32"], result: "void" },

  // --- LoRA adapters (loaded before the sandbox; scales set per batch) ---
  // struct llama_adapter_lora * llama_adapter_lora_init(struct llama_model * model, const char * path_lora)
  llama_adapter_lora_init: { parameters: ["pointer", "buffer"], result: "pointer" },
  // void llama_adapter_lora_free(struct llama_adapter_lora * adapter)
  llama_adapter_lora_free: { parameters: ["pointer"], result: "void" },
  // int32_t llama_adapter_meta_val_str(const struct llama_adapter_lora * adapter, const char * key, char * buf, size_t buf_size)
  llama_adapter_meta_val_str: {
    parameters: ["pointer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  // int32_t llama_set_adapters_lora(struct llama_context * ctx, struct llama_adapter_lora ** adapters, size_t n_adapters, float * scales)
  llama_set_adapters_lora: {
    parameters: ["pointer", "buffer", "usize", "buffer"],
    result: "i32",
  },

  // --- one sequence's state (slot save and restore) ---
  // size_t llama_state_seq_get_size(struct llama_context * ctx, llama_seq_id seq_id)
  llama_state_seq_get_size: { parameters: ["pointer", "i32"], result: "usize" },
  // size_t llama_state_seq_get_data(struct llama_context * ctx, uint8_t * dst, size_t size, llama_seq_id seq_id)
  llama_state_seq_get_data: { parameters: ["pointer", "buffer", "usize", "i32"], result: "usize" },
  // size_t llama_state_seq_set_data(struct llama_context * ctx, const uint8_t * src, size_t size, llama_seq_id dest_seq_id)
  llama_state_seq_set_data: { parameters: ["pointer", "buffer", "usize", "i32"], result: "usize" },

  // --- state (the CLI's --prompt-cache, written through a file opened before the sandbox) ---
  // size_t llama_state_get_size(struct llama_context * ctx)
  llama_state_get_size: { parameters: ["pointer"], result: "usize" },
  // size_t llama_state_get_data(struct llama_context * ctx, uint8_t * dst, size_t size)
  llama_state_get_data: {
    parameters: ["pointer", "buffer", "usize"],
    result: "usize",
    nonblocking: true,
  },
  // size_t llama_state_set_data(struct llama_context * ctx, const uint8_t * src, size_t size)
  llama_state_set_data: {
    parameters: ["pointer", "buffer", "usize"],
    result: "usize",
    nonblocking: true,
  },

  // --- decoding ---
  // struct llama_batch llama_batch_init(int32_t n_tokens, int32_t embd, int32_t n_seq_max)
  llama_batch_init: { parameters: ["i32", "i32", "i32"], result: BATCH_STRUCT },
  // void llama_batch_free(struct llama_batch batch)
  llama_batch_free: { parameters: [BATCH_STRUCT], result: "void" },
  // int32_t llama_decode(struct llama_context * ctx, struct llama_batch batch), off the event loop
  llama_decode: { parameters: ["pointer", BATCH_STRUCT], result: "i32", nonblocking: true },
  // int32_t llama_decode(...) on the calling thread: the fast path for one-token steps of the CLI
  llama_decode_sync: { name: "llama_decode", parameters: ["pointer", BATCH_STRUCT], result: "i32" },
  // int32_t llama_encode(struct llama_context * ctx, struct llama_batch batch)
  llama_encode: { parameters: ["pointer", BATCH_STRUCT], result: "i32", nonblocking: true },
  // float * llama_get_logits_ith(struct llama_context * ctx, int32_t i)
  llama_get_logits_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  // float * llama_get_embeddings_seq(struct llama_context * ctx, llama_seq_id seq_id)
  llama_get_embeddings_seq: { parameters: ["pointer", "i32"], result: "pointer" },
  // float * llama_get_embeddings_ith(struct llama_context * ctx, int32_t i)
  llama_get_embeddings_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  // void llama_synchronize(struct llama_context * ctx)
  llama_synchronize: { parameters: ["pointer"], result: "void" },
  // void llama_synchronize(...) off the event loop: waits for a GPU's queued work
  llama_synchronize_nonblocking: {
    name: "llama_synchronize",
    parameters: ["pointer"],
    result: "void",
    nonblocking: true,
  },

  // --- sampling ---
  // struct llama_sampler * llama_sampler_chain_init(struct llama_sampler_chain_params params)
  llama_sampler_chain_init: { parameters: [{ struct: ["u8"] }], result: "pointer" },
  // void llama_sampler_chain_add(struct llama_sampler * chain, struct llama_sampler * smpl)
  llama_sampler_chain_add: { parameters: ["pointer", "pointer"], result: "void" },
  // void llama_sampler_free(struct llama_sampler * smpl)
  llama_sampler_free: { parameters: ["pointer"], result: "void" },
  // void llama_sampler_reset(struct llama_sampler * smpl)
  llama_sampler_reset: { parameters: ["pointer"], result: "void" },
  // void llama_sampler_accept(struct llama_sampler * smpl, llama_token token)
  llama_sampler_accept: { parameters: ["pointer", "i32"], result: "void" },
  // void llama_sampler_apply(struct llama_sampler * smpl, llama_token_data_array * cur_p)
  llama_sampler_apply: { parameters: ["pointer", "buffer"], result: "void" },
  // llama_token llama_sampler_sample(struct llama_sampler * smpl, struct llama_context * ctx, int32_t idx)
  llama_sampler_sample: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  // struct llama_sampler * llama_sampler_init_greedy(void)
  llama_sampler_init_greedy: { parameters: [], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_dist(uint32_t seed)
  llama_sampler_init_dist: { parameters: ["u32"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_top_k(int32_t k)
  llama_sampler_init_top_k: { parameters: ["i32"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_top_p(float p, size_t min_keep)
  llama_sampler_init_top_p: { parameters: ["f32", "usize"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_min_p(float p, size_t min_keep)
  llama_sampler_init_min_p: { parameters: ["f32", "usize"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_typical(float p, size_t min_keep)
  llama_sampler_init_typical: { parameters: ["f32", "usize"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_temp(float t)
  llama_sampler_init_temp: { parameters: ["f32"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_mirostat(int32_t n_vocab, uint32_t seed, float tau, float eta, int32_t m)
  llama_sampler_init_mirostat: {
    parameters: ["i32", "u32", "f32", "f32", "i32"],
    result: "pointer",
  },
  // struct llama_sampler * llama_sampler_init_mirostat_v2(uint32_t seed, float tau, float eta)
  llama_sampler_init_mirostat_v2: { parameters: ["u32", "f32", "f32"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_grammar(const struct llama_vocab * vocab,
  //                                                   const char * grammar_str, const char * grammar_root)
  llama_sampler_init_grammar: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  // struct llama_sampler * llama_sampler_init_grammar_lazy_patterns(const struct llama_vocab * vocab,
  //     const char * grammar_str, const char * grammar_root, const char ** trigger_patterns,
  //     size_t num_trigger_patterns, const llama_token * trigger_tokens, size_t num_trigger_tokens)
  llama_sampler_init_grammar_lazy_patterns: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize", "buffer", "usize"],
    result: "pointer",
  },
  // struct llama_sampler * llama_sampler_init_penalties(int32_t n_vocab, int32_t penalty_last_n,
  //                                  float penalty_repeat, float penalty_freq, float penalty_present)
  llama_sampler_init_penalties: {
    parameters: ["i32", "i32", "f32", "f32", "f32"],
    result: "pointer",
  },
  // struct llama_sampler * llama_sampler_init_logit_bias(int32_t n_vocab, int32_t n_logit_bias,
  //                                                      const llama_logit_bias * logit_bias)
  llama_sampler_init_logit_bias: { parameters: ["i32", "i32", "buffer"], result: "pointer" },

  // --- performance ---
  // struct llama_perf_context_data llama_perf_context(const struct llama_context * ctx)
  llama_perf_context: { parameters: ["pointer"], result: PERF_CONTEXT_STRUCT },
  // void llama_perf_context_reset(struct llama_context * ctx)
  llama_perf_context_reset: { parameters: ["pointer"], result: "void" },

  // --- libc stdio, found through libllama's dependencies ---
  // FILE * fopen(const char * path, const char * mode)
  fopen: { parameters: ["buffer", "buffer"], result: "pointer" },
  // int fseeko(FILE * stream, off_t offset, int whence)
  fseeko: { parameters: ["pointer", "i64", "i32"], result: "i32" },
  // int fclose(FILE * stream)
  fclose: { parameters: ["pointer"], result: "i32" },
  // void * dlsym(void * handle, const char * symbol), with RTLD_DEFAULT (NULL)
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  // int pipe(int pipefd[2])
  pipe: { parameters: ["buffer"], result: "i32" },
  // int dup(int oldfd)
  dup: { parameters: ["i32"], result: "i32" },
  // int dup2(int oldfd, int newfd)
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t read(int fd, void * buf, size_t count)
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int fcntl(int fd, int cmd, ... /* int arg */)
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The libllama symbols bound up front with Deno's own calls (see `dlopen_lazy.ts`): those
 * called once per vocabulary entry (a chat template's control tokens, `ignore_eos`' bans),
 * since a function-pointer call costs 0.5 us and a vocabulary has up to 260k entries; the
 * decode, whose prompt batches were slower through a function pointer (pp512 213-234 against
 * 233-237 tok/s over three interleaved runs, TinyLlama-1.1B shape, 2 threads); and what every
 * slot calls each step (the server's 4 and 8 streams ran 0.82-0.90x llama-server with them
 * through function pointers, 0.87-0.92x bound). The others, called once per model, context or
 * request, on first use.
 */
export const LLAMA_EAGER_SYMBOLS = [
  "llama_decode",
  "llama_decode_sync",
  "llama_get_logits_ith",
  "llama_sampler_sample",
  "llama_sampler_accept",
  "llama_sampler_apply",
  "llama_token_to_piece",
  "llama_vocab_is_eog",
] as const satisfies readonly (keyof typeof LLAMA_SYMBOLS)[];

/**
 * Symbols of `libmtmd.so` (llama.cpp's tools/mtmd: `mtmd.h`, `mtmd-helper.h`), built from the
 * same release by `deno task build-mtmd`, plus the one function our build adds
 * (`scripts/mtmd/llamafile_mtmd.c`).
 */
export const MTMD_SYMBOLS = {
  // const char * mtmd_default_marker(void)
  mtmd_default_marker: { parameters: [], result: "pointer" },
  // struct mtmd_context_params mtmd_context_params_default(void)
  mtmd_context_params_default: { parameters: [], result: MTMD_CONTEXT_PARAMS_STRUCT },
  // mtmd_context * mtmd_init_from_file(const char * mmproj_fname, const struct llama_model * text_model,
  //                                    const struct mtmd_context_params ctx_params)
  mtmd_init_from_file: {
    parameters: ["buffer", "pointer", MTMD_CONTEXT_PARAMS_STRUCT],
    result: "pointer",
    nonblocking: true,
  },
  // void mtmd_free(mtmd_context * ctx)
  mtmd_free: { parameters: ["pointer"], result: "void" },
  // bool mtmd_support_vision(const mtmd_context * ctx)
  mtmd_support_vision: { parameters: ["pointer"], result: "bool" },
  // bool mtmd_support_audio(const mtmd_context * ctx)
  mtmd_support_audio: { parameters: ["pointer"], result: "bool" },
  // bool mtmd_decode_use_mrope(const mtmd_context * ctx)
  mtmd_decode_use_mrope: { parameters: ["pointer"], result: "bool" },
  // void mtmd_log_set(ggml_log_callback log_callback, void * user_data)
  mtmd_log_set: { parameters: ["function", "pointer"], result: "void" },
  // void mtmd_helper_log_set(ggml_log_callback log_callback, void * user_data)
  mtmd_helper_log_set: { parameters: ["function", "pointer"], result: "void" },

  // --- bitmaps ---
  // struct mtmd_helper_init_opt mtmd_helper_init_opt_default(void)
  mtmd_helper_init_opt_default: { parameters: [], result: MTMD_HELPER_INIT_OPT_STRUCT },
  // struct mtmd_helper_bitmap_wrapper mtmd_helper_bitmap_init_from_buf(const mtmd_context * ctx,
  //     const unsigned char * buf, size_t len, bool placeholder, struct mtmd_helper_init_opt opt)
  mtmd_helper_bitmap_init_from_buf: {
    parameters: ["pointer", "buffer", "usize", "bool", MTMD_HELPER_INIT_OPT_STRUCT],
    result: MTMD_BITMAP_WRAPPER_STRUCT,
    nonblocking: true,
  },
  // uint32_t mtmd_bitmap_get_nx(const mtmd_bitmap * bitmap)
  mtmd_bitmap_get_nx: { parameters: ["pointer"], result: "u32" },
  // uint32_t mtmd_bitmap_get_ny(const mtmd_bitmap * bitmap)
  mtmd_bitmap_get_ny: { parameters: ["pointer"], result: "u32" },
  // const char * mtmd_bitmap_get_id(const mtmd_bitmap * bitmap)
  mtmd_bitmap_get_id: { parameters: ["pointer"], result: "pointer" },
  // bool mtmd_bitmap_is_audio(const mtmd_bitmap * bitmap)
  mtmd_bitmap_is_audio: { parameters: ["pointer"], result: "bool" },
  // void mtmd_bitmap_free(mtmd_bitmap * bitmap)
  mtmd_bitmap_free: { parameters: ["pointer"], result: "void" },

  // --- chunks ---
  // mtmd_input_chunks * mtmd_input_chunks_init(void)
  mtmd_input_chunks_init: { parameters: [], result: "pointer" },
  // size_t mtmd_input_chunks_size(const mtmd_input_chunks * chunks)
  mtmd_input_chunks_size: { parameters: ["pointer"], result: "usize" },
  // const mtmd_input_chunk * mtmd_input_chunks_get(const mtmd_input_chunks * chunks, size_t idx)
  mtmd_input_chunks_get: { parameters: ["pointer", "usize"], result: "pointer" },
  // void mtmd_input_chunks_free(mtmd_input_chunks * chunks)
  mtmd_input_chunks_free: { parameters: ["pointer"], result: "void" },
  // enum mtmd_input_chunk_type mtmd_input_chunk_get_type(const mtmd_input_chunk * chunk)
  mtmd_input_chunk_get_type: { parameters: ["pointer"], result: "i32" },
  // const llama_token * mtmd_input_chunk_get_tokens_text(const mtmd_input_chunk * chunk, size_t * n_tokens_output)
  mtmd_input_chunk_get_tokens_text: { parameters: ["pointer", "buffer"], result: "pointer" },
  // size_t mtmd_input_chunk_get_n_tokens(const mtmd_input_chunk * chunk)
  mtmd_input_chunk_get_n_tokens: { parameters: ["pointer"], result: "usize" },
  // llama_pos mtmd_input_chunk_get_n_pos(const mtmd_input_chunk * chunk)
  mtmd_input_chunk_get_n_pos: { parameters: ["pointer"], result: "i32" },
  // const char * mtmd_input_chunk_get_id(const mtmd_input_chunk * chunk)
  mtmd_input_chunk_get_id: { parameters: ["pointer"], result: "pointer" },
  // int32_t mtmd_tokenize(const mtmd_context * ctx, mtmd_input_chunks * output, const mtmd_input_text * text,
  //                       const mtmd_bitmap * const * bitmaps, size_t n_bitmaps)
  mtmd_tokenize: {
    parameters: ["pointer", "pointer", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },

  // --- encoding and decoding ---
  // int32_t mtmd_encode_chunk(mtmd_context * ctx, const mtmd_input_chunk * chunk)
  mtmd_encode_chunk: { parameters: ["pointer", "pointer"], result: "i32", nonblocking: true },
  // float * mtmd_get_output_embd(mtmd_context * ctx)
  mtmd_get_output_embd: { parameters: ["pointer"], result: "pointer" },
  // int32_t mtmd_helper_decode_image_chunk(mtmd_context * ctx, struct llama_context * lctx,
  //     const mtmd_input_chunk * chunk, float * encoded_embd, llama_pos n_past, llama_seq_id seq_id,
  //     int32_t n_batch, llama_pos * new_n_past, mtmd_helper_post_decode_callback callback, void * user_data)
  mtmd_helper_decode_image_chunk: {
    parameters: [
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "i32",
      "i32",
      "i32",
      "buffer",
      "pointer",
      "pointer",
    ],
    result: "i32",
    nonblocking: true,
  },

  // --- ours (scripts/mtmd/llamafile_mtmd.c) ---
  // int llamafile_mtmd_set_offset(const char * path, uint64_t offset): a projector inside a file
  llamafile_mtmd_set_offset: { parameters: ["buffer", "u64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The CPU backend's threadpool functions, reached through `ggml_backend_reg_get_proc_address`. */
export const THREADPOOL_SYMBOLS = {
  // struct ggml_threadpool * ggml_threadpool_new(struct ggml_threadpool_params * params)
  ggml_threadpool_new: { parameters: ["buffer"], result: "pointer" },
  // void ggml_threadpool_free(struct ggml_threadpool * threadpool)
  ggml_threadpool_free: { parameters: ["pointer"], result: "void" },
} as const;

/**
 * What `ffi/rpc.ts` binds: ggml's device and backend calls (in libggml and, through its
 * dependencies, libggml-base) and the libc calls that find the RPC worker's listening socket.
 */
export const RPC_SYMBOLS = {
  // void ggml_backend_register(ggml_backend_reg_t reg)
  ggml_backend_register: { parameters: ["pointer"], result: "void" },
  // const char * ggml_backend_reg_name(ggml_backend_reg_t reg)
  ggml_backend_reg_name: { parameters: ["pointer"], result: "pointer" },
  // size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg)
  ggml_backend_reg_dev_count: { parameters: ["pointer"], result: "usize" },
  // ggml_backend_dev_t ggml_backend_reg_dev_get(ggml_backend_reg_t reg, size_t index)
  ggml_backend_reg_dev_get: { parameters: ["pointer", "usize"], result: "pointer" },
  // ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type type)
  ggml_backend_dev_by_type: { parameters: ["i32"], result: "pointer" },
  // const char * ggml_backend_dev_name(ggml_backend_dev_t device)
  ggml_backend_dev_name: { parameters: ["pointer"], result: "pointer" },
  // const char * ggml_backend_dev_description(ggml_backend_dev_t device)
  ggml_backend_dev_description: { parameters: ["pointer"], result: "pointer" },
  // void ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free, size_t * total)
  ggml_backend_dev_memory: { parameters: ["pointer", "buffer", "buffer"], result: "void" },
  // ggml_backend_t ggml_backend_dev_init(ggml_backend_dev_t device, const char * params)
  ggml_backend_dev_init: { parameters: ["pointer", "pointer"], result: "pointer" },
  // void ggml_backend_free(ggml_backend_t backend)
  ggml_backend_free: { parameters: ["pointer"], result: "void" },
  // int getsockopt(int sockfd, int level, int optname, void * optval, socklen_t * optlen)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int getsockname(int sockfd, struct sockaddr * addr, socklen_t * addrlen)
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The RPC backend's own functions, reached through `ggml_backend_reg_get_proc_address`. */
export const RPC_BACKEND_SYMBOLS = {
  // ggml_backend_reg_t ggml_backend_rpc_add_server(const char * endpoint)
  ggml_backend_rpc_add_server: { parameters: ["buffer"], result: "pointer" },
  // void ggml_backend_rpc_start_server(const char * endpoint, const char * cache_dir,
  //                                    size_t n_threads, size_t n_devices, ggml_backend_dev_t * devices)
  ggml_backend_rpc_start_server: {
    parameters: ["buffer", "pointer", "usize", "usize", "buffer"],
    result: "void",
    nonblocking: true,
  },
} as const;
