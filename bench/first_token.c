/*
 * The start-up floor of libllama itself: the libraries a llamafile runs on (its libllama,
 * libggml, and the CPU variant it picks), driven from C to the first token the way the app
 * drives them, with no runtime around them. bench/start_up.ts compiles it against the
 * llama.cpp source of the same release and times it beside the llamafile and native
 * llama-completion.
 *
 *   first_token CPU_BACKEND.so MODEL OFFSET PROMPT
 *
 * OFFSET > 0 reads the weights in place from inside a llamafile (through a FILE * at that
 * offset, as the app does); 0 opens MODEL as a GGUF file. Prints the first token's text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

static void quiet(enum ggml_log_level level, const char * text, void * data) {
    (void) level; (void) text; (void) data;
}

static int fail(const char * what) {
    fprintf(stderr, "first_token: %s\n", what);
    return 1;
}

int main(int argc, char ** argv) {
    if (argc != 5) return fail("usage: first_token CPU_BACKEND.so MODEL OFFSET PROMPT");
    const char * prompt = argv[4];
    const long long offset = atoll(argv[3]);
    llama_log_set(quiet, NULL);
    if (ggml_backend_load(argv[1]) == NULL) return fail("cannot load the CPU backend");
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    struct llama_model * model = NULL;
    FILE * file = NULL;
    if (offset > 0) {
        file = fopen(argv[2], "rb");
        if (file == NULL || fseeko(file, (off_t) offset, SEEK_SET) != 0) return fail("cannot open the llamafile");
        model = llama_model_load_from_file_ptr(file, mp);
    } else {
        model = llama_model_load_from_file(argv[2], mp);
    }
    if (model == NULL) return fail("cannot load the model");

    /* The app's context: 4096 tokens or the trained size if smaller, one thread. */
    struct llama_context_params cp = llama_context_default_params();
    const int trained = llama_model_n_ctx_train(model);
    cp.n_ctx = trained > 0 && trained < 4096 ? trained : 4096;
    cp.n_batch = cp.n_ctx < 2048 ? cp.n_ctx : 2048;
    cp.n_ubatch = cp.n_batch < 512 ? cp.n_batch : 512;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == NULL) return fail("cannot create the context");

    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    llama_token tokens[512];
    const int n = llama_tokenize(vocab, prompt, (int) strlen(prompt), tokens, 512, true, true);
    if (n <= 0) return fail("cannot tokenize the prompt");
    if (llama_decode(ctx, llama_batch_get_one(tokens, n)) != 0) return fail("cannot decode the prompt");
    struct llama_sampler * sampler = llama_sampler_init_greedy();
    const llama_token token = llama_sampler_sample(sampler, ctx, -1);
    char piece[256];
    const int len = llama_token_to_piece(vocab, token, piece, sizeof piece, 0, true);
    if (len > 0) fwrite(piece, 1, (size_t) len, stdout);
    fputc('\n', stdout);

    llama_sampler_free(sampler);
    llama_free(ctx);
    llama_model_free(model);
    if (file != NULL) fclose(file);
    llama_backend_free();
    return 0;
}
