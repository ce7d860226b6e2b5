#!/usr/bin/env bash
# The NVIDIA check of GPU offload (issue 16), for a machine with a GPU, CUDA 13 (nvcc), CMake and
# ninja but no network. Run from the repository root after bench/gpu_check_prepare.sh has filled
# .cache/gpu-check/ (carry that folder). It:
#   1. builds libllama, ggml's CPU backend, ggml's CUDA backend for sm_90 only (GGML_BACKEND_DL,
#      shared libraries) and llama-bench from the same llama.cpp source as our libllama;
#   2. writes a synthetic TinyLlama-1.1B-shaped Q4_0 model (bench/synth_model.ts);
#   3. runs bench/gpu_check.ts: our CLI under its sandbox with -ngl 99 --gpu nvidia (seccomp 2,
#      placement line), then llama-bench and bench/ours_bench.ts interleaved over the same
#      libraries with every layer offloaded: pp512 and tg128, the ratios, and tg128 against the
#      memory-bandwidth bound (GPU_BANDWIDTH_TBS, default 4.8 for an H200, over the model's bytes).
# Resumable: the build lives in .cache/gpu-check/build and is reused (a call that runs out of time
# during the build can be repeated). Results go to $OUT (or .cache/gpu-check/out).
#
#   bash bench/gpu_check.sh            # everything
#   bash bench/gpu_check.sh build      # only step 1
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.cache/gpu-check
out=${OUT:-$work/out}
arch=${CUDA_ARCH:-90}
mkdir -p "$out"
log() { echo "gpu_check: $*" >&2; }
for need in deno.gz llama-src.tar.gz llama-2-tiny-random.gguf; do
  [ -f "$work/$need" ] || { log "missing $work/$need: run bench/gpu_check_prepare.sh first"; exit 1; }
done
command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
command -v nvcc >/dev/null || { log "nvcc is not on PATH"; exit 1; }

# deno
if [ ! -x "$work/deno" ]; then gzip -dc "$work/deno.gz" >"$work/deno.tmp" && chmod +x "$work/deno.tmp" && mv "$work/deno.tmp" "$work/deno"; fi
export PATH=$work:$PATH DENO_NO_UPDATE_CHECK=1 DENO_DIR=$work/deno_dir

# 1. build (resumable)
if [ ! -f "$work/src/CMakeLists.txt" ]; then
  mkdir -p "$work/src" && tar -xzf "$work/llama-src.tar.gz" -C "$work/src"
fi
if [ ! -f "$work/build/build.ninja" ]; then
  log "configuring (CUDA $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), sm_$arch)"
  cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" -DGGML_BACKEND_DL=ON -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF >"$out/cmake.log" 2>&1 ||
    { tail -20 "$out/cmake.log" >&2; exit 1; }
fi
start=$(date +%s)
log "building llama, ggml-cpu, ggml-cuda, llama-bench with $(nproc) jobs"
cmake --build "$work/build" -j"$(nproc)" --target llama ggml-cpu ggml-cuda llama-bench >"$out/build.log" 2>&1 ||
  { tail -20 "$out/build.log" >&2; exit 1; }
log "built in $(($(date +%s) - start)) s"
[ "${1-}" = build ] && exit 0

# Our loader's file names, over the same build (the CUDA backend in a folder of its own).
bin=$work/build/bin
lib=$work/lib
rm -rf "$lib" && mkdir -p "$lib/cuda"
ln -s "$bin/libllama.so" "$lib/libllama.v0.5.0.so"
ln -s "$bin/libggml.so" "$lib/libggml.v0.5.0.so"
ln -s "$bin/libggml-base.so" "$lib/libggml-base.so"
ln -s "$bin/libggml-cpu.so" "$lib/libggml-cpu.so"
ln -s "$bin/libggml-cuda.so" "$lib/cuda/libggml-cuda.so"

# 2. the model
model=$work/tinyllama-1.1b-q4_0.gguf
[ -f "$model" ] || deno run -A bench/synth_model.ts --type q4_0 --vocab "$work/llama-2-tiny-random.gguf" -o "$model" >&2

# 3. measure
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$out/gpu.txt" 2>&1 || true
LLAMAFILE_LIBDIR=$lib deno run -A bench/gpu_check.ts --model "$model" --bench "$bin/llama-bench" \
  --bandwidth "${GPU_BANDWIDTH_TBS:-4.8}" --out "$out" --gpu-name "$(head -1 "$out/gpu.txt")"
