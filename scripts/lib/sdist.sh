# shellcheck shell=bash
# llama.cpp's sources as this machine can get them: vendored in llama-cpp-python's source distribution on PyPI
# (GitHub is not reachable). Used by the peer builds (build-llama-server.sh, build-ollama.sh). Source it after
# common.sh.

# fetch_llama_cpp_sdist VERSION DIR SUBTREE: downloads llama-cpp-python VERSION's source distribution from PyPI into
# DIR and extracts SUBTREE from it (a tar wildcard, e.g. '*/vendor/llama.cpp/*': the llama.cpp it vendors, which is
# how llama.cpp's sources reach this machine); the files land under DIR/llama_cpp_python-VERSION/. Fails (status 1)
# when PyPI does not serve it; the caller says what that means for it.
fetch_llama_cpp_sdist() {
  local version="$1" dir="$2" subtree="$3"
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$dir" \
    "llama-cpp-python==$version" || return 1
  tar -xzf "$dir"/llama_cpp_python-*.tar.gz -C "$dir" --wildcards "$subtree"
}
