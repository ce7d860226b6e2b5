#!/usr/bin/env bash
# Prepares what bench/gpu_check.sh needs on a GPU machine that has no network and takes 64 MiB of
# files per call: a llama.cpp source subset of our release (ggml with its CPU and CUDA backends,
# libllama, common, the tools; no other backend, no models or docs), the deno binary, and the
# GGUF whose tokenizer the synthetic model copies. Writes them to .cache/gpu-check/ (ignored by
# git) and checks the total fits.
#
#   bash bench/gpu_check_prepare.sh [LLAMA_CPP_SOURCE]     # default /work/src/llama.cpp
#
# Then, on the GPU machine, from the repository root (the device tool copies the working tree;
# carry .cache/gpu-check):  bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-${LLAMA_CPP_SRC:-/work/src/llama.cpp}}
out=.cache/gpu-check
mkdir -p "$out"

[ -f "$src/CMakeLists.txt" ] || { echo "gpu_check_prepare: no llama.cpp source in \"$src\"" >&2; exit 1; }

# The source: everything CMake reads for libllama, ggml's CPU and CUDA backends and llama-bench.
tar -C "$src" -czf "$out/llama-src.tar.gz" \
  --exclude='ggml/src/ggml-vulkan' --exclude='ggml/src/ggml-sycl' --exclude='ggml/src/ggml-opencl' \
  --exclude='ggml/src/ggml-metal' --exclude='ggml/src/ggml-hexagon' --exclude='ggml/src/ggml-et' \
  --exclude='ggml/src/ggml-webgpu' --exclude='ggml/src/ggml-openvino' --exclude='ggml/src/ggml-cann' \
  --exclude='ggml/src/ggml-zdnn' --exclude='ggml/src/ggml-zendnn' --exclude='ggml/src/ggml-virtgpu' \
  --exclude='tools/ui' --exclude='tools/server' --exclude='tools/cli' --exclude='vendor/miniaudio' \
  CMakeLists.txt cmake common ggml include src tools vendor LICENSE licenses

# deno, as it runs here (the same version the tests use).
gzip -6 -c "$(command -v deno)" > "$out/deno.gz"

# The tokenizer the synthetic TinyLlama-shaped model copies (bench/synth_model.ts --vocab).
cp ../shared/models/llama-2-tiny-random.gguf "$out/"

total=$(du -cb "$out/llama-src.tar.gz" "$out/deno.gz" "$out/llama-2-tiny-random.gguf" | tail -1 | cut -f1)
ls -l "$out"
echo "gpu_check_prepare: $((total / 1048576)) MiB to carry (the limit is 64 MiB with the working tree)"
[ "$total" -lt $((60 * 1048576)) ] || { echo "gpu_check_prepare: too big to carry" >&2; exit 1; }
