#!/usr/bin/env bash
# The streaming benchmark: a concurrency sweep (closed loop) and fixed arrival rates (open loop) against the
# function and, side by side in the same run, llama-server, Ollama or any OpenAI-compatible server. Every server
# runs on the same model, slots and threads; levels go server after server, so drift on the machine hits all alike.
# k6 (scripts/k6/sweep.js) sends the load; scripts/lib/bench_report.py prints the tables and draws the chart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"
source "$KNLLAMA_ROOT/scripts/lib/peers.sh"
source "$KNLLAMA_ROOT/scripts/lib/python.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
  KNLLAMA_BENCH_TARGETS       servers, comma-separated, the first the reference (default knllama): knllama (the function),
                              llama-server, llama-server-7841fc7 (the binding's era, AVX2) and ollama are started here
                              on the same model, slots and threads (scripts/lib/peers.sh); NAME=URL
                              names a server already running (loopback only)
  KNLLAMA_BENCH_CONCURRENCY   closed-loop levels (default 1,2,4,8; set it empty for none)
  KNLLAMA_BENCH_REQUESTS      measured requests per level and server (default 20); KNLLAMA_BENCH_WARMUP (2) before them
  KNLLAMA_BENCH_RATES         open-loop arrival rates in requests/s (default none; e.g. 0.25,0.5,1)
  KNLLAMA_BENCH_RATE_DURATION seconds of arrivals per rate (default 30), or KNLLAMA_BENCH_RATE_REQUESTS requests
  KNLLAMA_BENCH_ARRIVAL       poisson (default) or constant; KNLLAMA_BENCH_MAX_IN_FLIGHT (64) caps open requests
  KNLLAMA_BENCH_MAX_TOKENS    (default 128); KNLLAMA_BENCH_API chat (default) or completions (the same transcript
                              text to every server, whatever chat template each would apply)
  KNLLAMA_BENCH_PROMPT_CACHE  off (default) or on: the function's KNLLAMA_MODEL_PROMPT_CACHE (KNLLAMA_BENCH_REUSE_SETTING
                              names another setting) and llama-server's cache_prompt alike; Ollama always reuses prompts
  KNLLAMA_BENCH_EXTRA_<NAME>  JSON fields merged into every request to target NAME (upper case, - as _)
  KNLLAMA_MODEL_PATH, KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2), KNLLAMA_MODEL_CONTEXT_SIZE (4096): every server
  KNLLAMA_BENCH_JAVA_OPTS     extra JVM options for the function
  KNLLAMA_BENCH_OUT           results directory (default bench-results/bench-<time>); KNLLAMA_BENCH_LABEL the chart's title
Output: a k6 summary per level and server, sweep.json, sweep.png, the tables on stdout (sweep.txt).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

IFS=, read -ra targets <<<"${KNLLAMA_BENCH_TARGETS:-knllama}"
IFS=, read -ra levels <<<"${KNLLAMA_BENCH_CONCURRENCY-1,2,4,8}"
IFS=, read -ra rates <<<"${KNLLAMA_BENCH_RATES:-}"
case "${KNLLAMA_BENCH_PROMPT_CACHE:-off}" in on) cache=true ;; off) cache=false ;; *) die "KNLLAMA_BENCH_PROMPT_CACHE must be on or off" ;; esac
out="${KNLLAMA_BENCH_OUT:-bench-results/bench-$(date +%Y%m%d-%H%M%S)}"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}" KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
export KNLLAMA_MODEL_CONTEXT_SIZE="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}"
reuse_setting="${KNLLAMA_BENCH_REUSE_SETTING:-KNLLAMA_MODEL_PROMPT_CACHE}"
[[ "$reuse_setting" =~ ^KNLLAMA_[A-Z0-9_]+$ ]] || die "KNLLAMA_BENCH_REUSE_SETTING '$reuse_setting' is not a KNLLAMA_* setting"
export "$reuse_setting=$cache"
k6="$("$KNLLAMA_ROOT/scripts/k6/install.sh")"
python="$(matplotlib_python)"
mkdir -p "$out"

# Every server up before the first level, so that levels can go server after server.
peer_pids=()
cleanup() {
  stop_function
  local pid
  for pid in "${peer_pids[@]}"; do PEER_PID="$pid" stop_peer; done
}
trap cleanup EXIT
declare -A url model extra
names=()
for target in "${targets[@]}"; do
  name="${target%%=*}"
  case "$target" in
    *=*) url[$name]="${target#*=}"; url[$name]="${url[$name]%/}"; url[$name]="${url[$name]%/v1}"
         [[ "${url[$name]}" =~ ^http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$ ]] || die "$name: loopback URLs only, not ${url[$name]}"
         wait_ready "${url[$name]}" 10
         model[$name]="$(curl -fsS --max-time 10 "${url[$name]}/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')" \
           || die "$name: ${url[$name]}/v1/models lists no model" ;;
    knllama) start_function "$(free_port)" "$out/knllama.log"; url[$name]="$FUNCTION_URL"; model[$name]="$(basename "$KNLLAMA_MODEL_PATH" .gguf)" ;;
    llama-server|llama-server-7841fc7|ollama)
      peer_available "$name" || continue
      start_peer "$name" "$(free_port)" "$out/$name.log"
      peer_pids+=("$PEER_PID"); PEER_PID=""
      url[$name]="$PEER_URL"; model[$name]="$PEER_MODEL" ;;
    *) die "unknown target '$target' (knllama, ${PEERS[*]} or NAME=URL)" ;;
  esac
  variable="KNLLAMA_BENCH_EXTRA_$(tr 'a-z-' 'A-Z_' <<<"$name")"
  extra[$name]="${!variable:-$([[ "$name" == llama-server* ]] && echo "{\"cache_prompt\":$cache}" || echo '{}')}"
  names+=("$name")
done

# run NAME SUMMARY VAR=VALUE...: one k6 run of sweep.js against NAME. k6 reads the environment: the settings above
# reach it as they are, and these name the run.
run() {
  local name="$1" summary="$2"
  shift 2
  env KNLLAMA_BENCH_URL="${url[$name]}" KNLLAMA_BENCH_MODEL="${model[$name]}" KNLLAMA_BENCH_TARGET="$name" \
    KNLLAMA_BENCH_EXTRA="${extra[$name]}" KNLLAMA_BENCH_SUMMARY="$summary" "$@" \
    "$k6" run --quiet "$KNLLAMA_ROOT/scripts/k6/sweep.js" || die "$name: the k6 run failed (see above)"
}
for c in "${levels[@]}"; do
  for name in "${names[@]}"; do
    log "closed loop: $name, $c client(s), ${KNLLAMA_BENCH_REQUESTS:-20} requests"
    run "$name" "$out/$name-c$c.summary.json" KNLLAMA_BENCH_CONCURRENCY="$c" KNLLAMA_BENCH_RATE=0
  done
done
for rate in "${rates[@]}"; do
  for name in "${names[@]}"; do
    log "open loop: $name, $rate requests/s (${KNLLAMA_BENCH_ARRIVAL:-poisson})"
    run "$name" "$out/$name-r$rate.summary.json" KNLLAMA_BENCH_RATE="$rate" KNLLAMA_BENCH_CONCURRENCY=0
  done
done
"$python" "$KNLLAMA_ROOT/scripts/lib/bench_report.py" sweep "$out" --targets "$(IFS=,; echo "${names[*]}")" \
  --label "${KNLLAMA_BENCH_LABEL:-}" | tee "$out/sweep.txt"
