#!/usr/bin/env bash
# Builds the llama-server of the binding's era, for comparing serving layers on the same engine: llama.cpp as
# vendored by the llama-cpp-python $LLAMA_SERVER_SDIST_VERSION sdist on PyPI (commit 7841fc7, March 2025; the binding
# wraps b4916), without GGML_NATIVE so that, like the binding's library, it uses AVX2 and not AVX-512. Prints the
# binary's path; the build goes to the tools cache once (a few minutes on 2 cores) and is reused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/sdist.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints the path of llama-server from the llama-cpp-python $LLAMA_SERVER_SDIST_VERSION sdist, building it first if needed
(cmake, a C++ compiler, PyPI). KNLLAMA_CACHE_DIR: cache (default: $KNLLAMA_CACHE_DIR).
KNLLAMA_LLAMA_SERVER_SDIST: another llama-cpp-python version, e.g. a recent one where the PyPI wheel of a current
llama-server does not run on this CPU (then pass the printed path as KNLLAMA_LLAMA_SERVER to the benchmarks).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

version="${KNLLAMA_LLAMA_SERVER_SDIST:-$LLAMA_SERVER_SDIST_VERSION}"
prefix="$KNLLAMA_CACHE_DIR/tools/llama-server-sdist-$version"
bin="$prefix/llama-server"
[[ -x "$bin" ]] && { printf '%s\n' "$bin"; exit 0; }
for tool in cmake c++ python3; do command -v "$tool" >/dev/null || die "$tool is needed to build llama-server"; done
mkdir -p "$prefix"
exec 8>"$prefix/.lock"
flock 8
[[ -x "$bin" ]] && { printf '%s\n' "$bin"; exit 0; }
work="$prefix/build"
rm -rf "$work" && mkdir -p "$work"
log "fetching the llama-cpp-python $version sdist from PyPI"
fetch_llama_cpp_sdist "$version" "$work" '*/vendor/llama.cpp/*' \
  || die "PyPI did not serve llama-cpp-python $version"
log "building llama-server (GGML_NATIVE off: AVX2, as the binding's library; a few minutes)"
# Static, so the binary carries its libraries; no libcurl (the model is a local file).
(cd "$work"/llama_cpp_python-*/vendor/llama.cpp \
  && nice cmake -B "$work/out" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON >"$work/cmake.log" 2>&1 \
  && nice cmake --build "$work/out" --target llama-server --parallel "$(nproc)" >>"$work/cmake.log" 2>&1) \
  || { tail -n 20 "$work/cmake.log" >&2; die "llama-server did not build (log: $work/cmake.log)"; }
mv -f "$work/out/bin/llama-server" "$bin"
rm -rf "$work"
log "llama-server ready: $bin"
printf '%s\n' "$bin"
