#!/usr/bin/env bash
# Build llama.cpp's OpenAI-compatible server (`llama-server`, with parallel slots and
# continuous batching) into the virtual environment's bin folder, from the llama.cpp
# source that the PyPI sdist of llama-cpp-python vendors (pip downloads it: no other
# network). Portable CPU flags: a native build used AMX/AVX-512 kernels that crashed on
# the first token on this kind of machine. Run once by `make`'s set-up; about 5 minutes
# on 2 cores. Usage: scripts/build_llama_server.sh VERSION BIN_DIR
set -euo pipefail
version="$1"; bin="$(cd "$2" && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log="$bin/../llama-server-build.log"  # cmake's output: kept, not on the console
echo "building llama-server (about 5 min; output in $log)"
"$bin/pip" download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
tar xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF >"$log" 2>&1
cmake --build "$work/build" --target llama-server -j "$(nproc)" >>"$log" 2>&1
install -m 755 "$work/build/bin/llama-server" "$bin/llama-server"
