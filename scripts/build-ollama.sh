#!/usr/bin/env bash
# Builds Ollama $OLLAMA_VERSION from the Go module proxy into the tools cache, for the benchmarks that compare with
# it, and prints the binary's path. Exit status 3, with the reason, when it does not build here.
#
# A plain `go install github.com/ollama/ollama@...` does not work: module zips leave out every directory named
# vendor, so llama/llama.cpp/vendor (nlohmann/json, stb_image, miniaudio) is missing; those headers come from
# llama.cpp's own vendor tree in the llama-cpp-python sdist on PyPI. And the Go build alone gives a CPU backend
# for baseline x86-64 (no AVX); Ollama's releases add CPU backend libraries for each instruction-set level with
# their CMake preset "CPU", which is built here too and installed where the binary looks for it (../lib/ollama).
# Takes tens of minutes on 2 cores, once; safe to re-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/sdist.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints the path of ollama $OLLAMA_VERSION, building it first if needed (Go, cmake, a C++ compiler; PyPI for headers).
  KNLLAMA_CACHE_DIR             cache (default: $KNLLAMA_CACHE_DIR); Ollama goes to tools/ollama-$OLLAMA_VERSION/{bin,lib}
  KNLLAMA_OLLAMA_CPU_VARIANTS   CPU backend levels to build, comma-separated, of x64, sse42, sandybridge, haswell,
                                skylakex, icelake, alderlake; "all" builds every one as Ollama's releases do (default:
                                the one Ollama would load on this CPU, the highest level it supports: a build of all
                                takes several times as long)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

prefix="$KNLLAMA_CACHE_DIR/tools/ollama-$OLLAMA_VERSION"
bin="$prefix/bin/ollama"
[[ -x "$bin" ]] && { printf '%s\n' "$bin"; exit 0; }
cannot() { log "Ollama $OLLAMA_VERSION does not build here: $*"; exit 3; }
for tool in go cmake c++ python3; do command -v "$tool" >/dev/null || cannot "$tool is not installed"; done

mkdir -p "$prefix"
exec 8>"$prefix/.lock"
flock 8
[[ -x "$bin" ]] && { printf '%s\n' "$bin"; exit 0; }
work="$prefix/build"
rm -rf "$work" && mkdir -p "$work"

log "fetching github.com/ollama/ollama@$OLLAMA_VERSION from the Go module proxy"
module="$(GOFLAGS=-mod=mod go mod download -json "github.com/ollama/ollama@$OLLAMA_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Dir",""))')"
[[ -d "$module" ]] || cannot "the module proxy did not serve github.com/ollama/ollama@$OLLAMA_VERSION"
cp -r "$module/." "$work/src" && chmod -R u+w "$work/src"

log "fetching llama.cpp's vendored headers from the llama-cpp-python $LLAMA_CPP_PYTHON_SDIST_VERSION sdist (PyPI)"
fetch_llama_cpp_sdist "$LLAMA_CPP_PYTHON_SDIST_VERSION" "$work/sdist" '*/vendor/llama.cpp/vendor/*' \
  || cannot "PyPI did not serve llama-cpp-python $LLAMA_CPP_PYTHON_SDIST_VERSION"
mkdir -p "$work/src/llama/llama.cpp/vendor"
cp -r "$work"/sdist/llama_cpp_python-*/vendor/llama.cpp/vendor/. "$work/src/llama/llama.cpp/vendor/"

log "building the CPU backend libraries (CMake preset CPU; most of the time goes here)"
# The highest of the preset's x86 levels (ml/backend/ggml/ggml/src/CMakeLists.txt) whose instructions this CPU has.
best_variant() {
  local flags
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { local f; for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
  if has avx512f avx512vbmi avx512_vnni avx2 fma bmi2 f16c; then echo icelake
  elif has avx512f avx2 fma bmi2 f16c; then echo skylakex
  elif has avx_vnni avx2 fma bmi2 f16c; then echo alderlake
  elif has avx2 fma bmi2 f16c; then echo haswell
  elif has avx sse4_2; then echo sandybridge
  elif has sse4_2; then echo sse42
  else echo x64; fi
}
variants_wanted="${KNLLAMA_OLLAMA_CPU_VARIANTS:-$(best_variant)}"
targets=()
if [[ "$variants_wanted" != all ]]; then
  IFS=, read -ra variants <<<"$variants_wanted"
  targets=(--target ggml-base "${variants[@]/#/ggml-cpu-}")
fi
log "CPU backend levels: $variants_wanted"
(cd "$work/src" && nice cmake --preset CPU -DGGML_CCACHE=OFF >"$work/cmake.log" 2>&1 \
  && nice cmake --build build --parallel "$(nproc)" "${targets[@]}" >>"$work/cmake.log" 2>&1) \
  || { tail -n 20 "$work/cmake.log" >&2; cannot "the CPU backend libraries did not build (log: $work/cmake.log)"; }

log "building the ollama binary (cgo: llama.cpp's library and Ollama's engine)"
(cd "$work/src" && CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" nice go build -trimpath \
  -ldflags "-X=github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" -o "$work/ollama" . >"$work/go.log" 2>&1) \
  || { tail -n 20 "$work/go.log" >&2; cannot "the Go build failed (log: $work/go.log)"; }

mkdir -p "$prefix/bin" "$prefix/lib/ollama"
cp -f "$work"/src/build/lib/ollama/*.so* "$prefix/lib/ollama/"
mv -f "$work/ollama" "$bin"
rm -rf "$work"
log "Ollama ready: $bin (CPU backends: $(cd "$prefix/lib/ollama" && ls libggml-cpu-*.so 2>/dev/null | tr '\n' ' '))"
printf '%s\n' "$bin"
