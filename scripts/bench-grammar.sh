#!/usr/bin/env bash
# Structured output at the limits of the JSON Schema converter: the function on the real model, and schemas just
# inside each budget (enum text, repetitions, alternatives) and one just beyond, each sent twice (the second run is
# printed): time to first token, median and slowest token, and the function's resident memory before and after.
# What a hostile but accepted schema can cost a slot (issue 11); prints figures, records nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints a table of schemas at the converter's limits with their token timings on the real model.
  KNLLAMA_MODEL_PATH      model (default: ./scripts/fetch-model.sh's)
  KNLLAMA_ENGINE_THREADS  llama.cpp threads (default 2); the function runs 1 slot
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_ENGINE_SLOTS=1 KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
out="$(mktemp -d)"
FUNCTION_PID=""
trap 'stop_function; rm -rf "$out"' EXIT
start_function "$(free_port)" "$out/function.log"
before="$(rss_kib "$FUNCTION_PID")"
python3 "$KNLLAMA_ROOT/scripts/lib/grammar_limits.py" "$FUNCTION_URL" "$(basename "$KNLLAMA_MODEL_PATH" .gguf)"
log "resident memory: $((before / 1024)) MiB before, $(($(rss_kib "$FUNCTION_PID") / 1024)) MiB after"
