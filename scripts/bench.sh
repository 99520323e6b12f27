#!/usr/bin/env bash
# Runs the streaming benchmark client (scripts/bench/Bench.java) with JDK 25, against any OpenAI-compatible
# servers given as --target NAME=URL, and optionally against the function, which it then builds, starts on
# 127.0.0.1, waits for and stops itself. All load stays on the URLs given (use loopback ones).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--start-function] [--target NAME=URL ...] [bench options]
Benchmarks OpenAI-compatible servers with streamed requests (java scripts/bench/Bench.java --help: all options).
  --start-function         also build and start the function on 127.0.0.1 as target 'knllama', stop it afterwards
Environment for --start-function:
  KNLLAMA_MODEL_PATH       model (default: the Gemma 3 270M model from ./scripts/fetch-model.sh)
  KNLLAMA_ENGINE_SLOTS     parallel slots (default 2)
  KNLLAMA_ENGINE_THREADS   llama.cpp threads (default 2)
  KNLLAMA_BENCH_PORT       port (default: a free one)
  KNLLAMA_BENCH_JAVA_OPTS  extra JVM options for the function
  KNLLAMA_BENCH_LOG        the function's log (default: beside --out, or bench-results/function.log)
Examples:
  ${0##*/} --start-function --requests 20 --max-tokens 128
  ${0##*/} --start-function --target llama-server=http://127.0.0.1:8081 --rate 0.5,1
USAGE
}

start=false
args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --start-function) start=true ;;
    *) args+=("$arg") ;;
  esac
done

java_home="$(find_java_home)"
if $start; then
  export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
  export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}"
  export KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
  port="${KNLLAMA_BENCH_PORT:-$(free_port)}"
  out_dir="bench-results"
  for ((i = 0; i < ${#args[@]}; i++)); do
    [[ "${args[$i]}" == "--out" && $((i + 1)) -lt ${#args[@]} ]] && out_dir="$(dirname "${args[$((i + 1))]}")"
    [[ "${args[$i]}" == --out=* ]] && out_dir="$(dirname "${args[$i]#--out=}")"
  done
  mkdir -p "$out_dir"
  trap stop_function EXIT
  start_function "$port" "${KNLLAMA_BENCH_LOG:-$out_dir/function.log}"
  args=(--target "knllama=$FUNCTION_URL" "${args[@]}")
fi

(( ${#args[@]} > 0 )) || { usage; exit 2; }
# Not exec: the EXIT trap must stop the function once the client is done.
status=0
"$java_home/bin/java" "$KNLLAMA_ROOT/scripts/bench/Bench.java" "${args[@]}" || status=$?
exit "$status"
