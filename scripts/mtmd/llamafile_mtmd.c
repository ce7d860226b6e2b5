// Added to libmtmd by scripts/mtmd/CMakeLists.txt; not part of llama.cpp's source.
//
// A llamafile stores the projector as an uncompressed ZIP entry: its GGUF starts at a byte
// offset inside the llamafile. libmtmd opens a projector by path only (clip_model_loader reads
// the GGUF header with gguf_init_from_file(path), then the tensor data with an ifstream on the
// same path at gguf_get_data_offset() + the tensor's offset). The library is linked with
// --wrap=gguf_init_from_file, so clip's call lands here: for the one path registered with
// llamafile_mtmd_set_offset(), the header is read from that offset with
// gguf_init_from_file_ptr(), whose data offset is then absolute in the file, and clip's own
// reads of the tensors land on the entry's bytes. Nothing is copied or extracted.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "gguf.h"

struct gguf_context * __real_gguf_init_from_file(const char * fname, struct gguf_init_params params);
struct gguf_context * __wrap_gguf_init_from_file(const char * fname, struct gguf_init_params params);

static char     g_path[4096];
static uint64_t g_offset;
static int      g_set;

// Registers `path` as a file whose projector GGUF starts at byte `offset` (NULL: none).
// Returns 0, or -1 when the path is too long. Not thread-safe: call it around
// mtmd_init_from_file() on one thread.
__attribute__((visibility("default"))) int llamafile_mtmd_set_offset(const char * path, uint64_t offset) {
    if (path == NULL) {
        g_set = 0;
        return 0;
    }
    size_t n = strlen(path);
    if (n >= sizeof(g_path)) {
        return -1;
    }
    memcpy(g_path, path, n + 1);
    g_offset = offset;
    g_set = 1;
    return 0;
}

struct gguf_context * __wrap_gguf_init_from_file(const char * fname, struct gguf_init_params params) {
    if (!g_set || fname == NULL || strcmp(fname, g_path) != 0) {
        return __real_gguf_init_from_file(fname, params);
    }
    FILE * file = fopen(fname, "rb");
    if (file == NULL) {
        return NULL;
    }
    if (fseeko(file, (off_t) g_offset, SEEK_SET) != 0) {
        fclose(file);
        return NULL;
    }
    struct gguf_context * ctx = gguf_init_from_file_ptr(file, params);
    fclose(file);
    return ctx;
}
