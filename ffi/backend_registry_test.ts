import assert from "node:assert/strict";
import { _loadFailure } from "./backend_registry.ts";

Deno.test("_loadFailure() keeps the loader's reason, without ggml's prefix and the path", () => {
  const path = "/x/cuda/libggml-cuda.so";
  assert.equal(
    _loadFailure([
      `load_backend: failed to load ${path}: libcudart.so.13: cannot open shared object file: No such file or directory`,
    ], path),
    "libcudart.so.13: cannot open shared object file: No such file or directory",
  );
  assert.equal(
    _loadFailure([
      `load_backend: failed to initialize backend from ${path}: ggml_backend_init returned NULL`,
    ], path),
    "ggml_backend_init returned NULL",
  );
  assert.equal(_loadFailure([], path), "ggml could not load it");
});
