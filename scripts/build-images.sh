#!/usr/bin/env bash
# Builds knllama's container images with Jib, without a Docker daemon:
#   knllama/function:TAG           CPU build (llama.cpp's CPU library)
#   knllama/function:TAG-cuda12    CUDA build (-Pcuda), with --cuda
#   knllama/model-cache:TAG        the init container that fills the model volume
# Without KNLLAMA_REGISTRY the images are written as tarballs (function/target/jib-image*.tar,
# model-cache/target/jib-image.tar) on the stand-in base scripts/image-base.sh assembles, which
# needs no network at all; load them with `docker load`, `ctr images import` or `skopeo copy`.
# With KNLLAMA_REGISTRY they are pushed there, built on the public bases in scripts/versions.env.
# Safe to re-run: Jib's layers are reproducible, so an unchanged build pushes nothing new.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--cuda] [-h]
Builds the function (CPU) and model-cache images; --cuda also builds the CUDA function image.
  KNLLAMA_REGISTRY         push to this repository prefix (e.g. ghcr.io/me); unset: tarballs
  KNLLAMA_IMAGE_TAG        image tag (default: the Maven project version)
  KNLLAMA_BASE_IMAGE       base of the CPU and model-cache images
                           (default: $IMAGE_BASE_CPU with a registry, the local stand-in without)
  KNLLAMA_CUDA_BASE_IMAGE  base of the CUDA image (default: $IMAGE_BASE_CUDA with a registry)
  KNLLAMA_CUDA_NATIVE_DIR  directory holding a CUDA build of libjllama.so for the CUDA image
                           (de.kherud:llama's cuda12 jar on Maven Central has none); required
                           to push, optional for a tarball (which then cannot run on a GPU)
USAGE
}
cuda=false
while (( $# )); do
  case "$1" in
    --cuda) cuda=true ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
  shift
done

maven=("$KNLLAMA_ROOT/mvnw" -B -ntp -DskipTests)
[[ -n "${KNLLAMA_IMAGE_TAG:-}" ]] && maven+=("-Dknllama.image.tag=$KNLLAMA_IMAGE_TAG")
cpu_args=() cuda_args=() goals=(package)
if [[ -n "${KNLLAMA_REGISTRY:-}" ]]; then
  goals=(package jib:build)
  maven+=("-Dknllama.image.registry=$KNLLAMA_REGISTRY")
  cpu_args=("-Dknllama.image.base=${KNLLAMA_BASE_IMAGE:-$IMAGE_BASE_CPU}")
  cuda_args=("-Dknllama.image.base=${KNLLAMA_CUDA_BASE_IMAGE:-$IMAGE_BASE_CUDA}")
else
  [[ -n "${KNLLAMA_BASE_IMAGE:-}" ]] && cpu_args=("-Dknllama.image.base=$KNLLAMA_BASE_IMAGE")
  [[ -n "${KNLLAMA_CUDA_BASE_IMAGE:-}" ]] && cuda_args=("-Dknllama.image.base=$KNLLAMA_CUDA_BASE_IMAGE")
fi

if $cuda; then
  native="${KNLLAMA_CUDA_NATIVE_DIR:-}"
  if [[ -n "$native" ]]; then
    [[ -f "$native/libjllama.so" ]] || die "KNLLAMA_CUDA_NATIVE_DIR ($native) holds no libjllama.so"
    cuda_args+=("-Dknllama.cuda.native.dir=$(cd "$native" && pwd)")
  elif [[ -n "${KNLLAMA_REGISTRY:-}" ]]; then
    die "pushing the CUDA image needs KNLLAMA_CUDA_NATIVE_DIR: the cuda12 jar holds no native library"
  else
    log "warning: no KNLLAMA_CUDA_NATIVE_DIR: the CUDA image tarball will fail to load llama.cpp on start"
  fi
  # First, so that function/target/function.jar ends up the CPU build (the end-to-end tests use it).
  log "building the CUDA function image"
  "${maven[@]}" -Pcuda -pl function -am "${cuda_args[@]}" "${goals[@]}"
fi
log "building the CPU function image and the model-cache image"
"${maven[@]}" -pl model-cache,function -am "${cpu_args[@]}" "${goals[@]}"

if [[ -z "${KNLLAMA_REGISTRY:-}" ]]; then
  for tar in "$KNLLAMA_ROOT"/function/target/jib-image*.tar "$KNLLAMA_ROOT"/model-cache/target/jib-image.tar; do
    if [[ -f "$tar" ]]; then log "image tarball: $tar ($(du -h "$tar" | cut -f1))"; fi
  done
fi
