#!/usr/bin/env bash
# What the function costs on top of the engine: the same model, prompt, max_tokens, threads and slots, single
# stream, temperature 0, through the bare binding (scripts/bench/engine-overhead, in-process) and through the
# function over HTTP, taking turns request by request in one run; prints both and the verdict against issue #6's
# targets (>= 95% of the binding's tokens/s; TTFT within 10 ms).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"
source "$KNLLAMA_ROOT/scripts/lib/peers.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Binding vs function, single stream, same settings, in one run; prints both and function/binding.
  KNLLAMA_MODEL_PATH          model (default: the Gemma 3 270M model from ./scripts/fetch-model.sh)
  KNLLAMA_OVERHEAD_THREADS    llama.cpp threads on both sides (default 2)
  KNLLAMA_OVERHEAD_SLOTS      parallel slots on both sides (default 2; context is slots x 4096 on both)
  KNLLAMA_OVERHEAD_PROMPT     the prompt text, as is, on both sides (default: a transcript asking for a short story)
  KNLLAMA_OVERHEAD_MAX_TOKENS (default 128)
  KNLLAMA_OVERHEAD_REQUESTS   measured requests per side (default 30)
  KNLLAMA_OVERHEAD_WARMUP     unmeasured requests per side first (default 3)
  KNLLAMA_OVERHEAD_PROMPT_CACHE  false (default) or true: the function's KNLLAMA_MODEL_PROMPT_CACHE and the binding's
                              cache_prompt alike
  KNLLAMA_OVERHEAD_OUT        results directory (default bench-results/overhead-<time>)
  KNLLAMA_BENCH_JAVA_OPTS     extra JVM options for the function (the image runs it with -XX:TieredStopAtLevel=1)
Several saved runs: python3 scripts/lib/bench_report.py overhead DIR/overhead.json... (the median verdict).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

threads="${KNLLAMA_OVERHEAD_THREADS:-2}"
slots="${KNLLAMA_OVERHEAD_SLOTS:-2}"
prompt="${KNLLAMA_OVERHEAD_PROMPT:-$'User: Write a short story about a llama who learns to fly.\nAssistant:'}"
cache="${KNLLAMA_OVERHEAD_PROMPT_CACHE:-false}"
[[ "$cache" == true || "$cache" == false ]] || die "KNLLAMA_OVERHEAD_PROMPT_CACHE must be true or false"
out="${KNLLAMA_OVERHEAD_OUT:-bench-results/overhead-$(date +%Y%m%d-%H%M%S)}"

export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
# The function's side: the same slots, threads and reuse; context per slot left at the default 4096 on both.
export KNLLAMA_ENGINE_SLOTS="$slots" KNLLAMA_ENGINE_THREADS="$threads" KNLLAMA_MODEL_PROMPT_CACHE="$cache"
classpath="$(engine_overhead_classpath)"
mkdir -p "$out"
trap stop_function EXIT
start_function "$(free_port)" "$out/function.log"

# Both processes map the same model file, so the weights are in memory once; only one side works at a time.
cache_flag=()
[[ "$cache" == true ]] && cache_flag=(--cache-prompt)
"$(find_java_home)/bin/java" --enable-native-access=ALL-UNNAMED -cp "$classpath" io.knllama.bench.EngineOverhead compare \
  --model "$KNLLAMA_MODEL_PATH" --threads "$threads" --slots "$slots" --prompt "$prompt" \
  --max-tokens "${KNLLAMA_OVERHEAD_MAX_TOKENS:-128}" --requests "${KNLLAMA_OVERHEAD_REQUESTS:-30}" \
  --warmup "${KNLLAMA_OVERHEAD_WARMUP:-3}" "${cache_flag[@]}" --function-url "$FUNCTION_URL" --out "$out/overhead.json"
python3 "$KNLLAMA_ROOT/scripts/lib/bench_report.py" overhead "$out/overhead.json" --json "$out/verdict.json" | tee "$out/overhead.txt"
# The function's own view (time to first token and inter-token latency measured at the engine, before HTTP),
# to tell engine time from delivery time when the two sides differ.
curl -fsS --max-time 5 "$FUNCTION_URL/metrics" -o "$out/function-metrics.txt" || log "could not read $FUNCTION_URL/metrics"
grep -E '^knllama_(time_to_first_token|inter_token_latency)_seconds_(sum|count|max)' "$out/function-metrics.txt" 2>/dev/null \
  | awk '{ split($1, n, "_seconds_"); v[n[1] "_" n[2]] = $2 }
         END { if (v["knllama_inter_token_latency_count"] > 0)
                 printf "function, measured inside the engine: TTFT mean %.1f ms, inter-token mean %.2f ms (%d gaps)\n",
                   1000 * v["knllama_time_to_first_token_sum"] / v["knllama_time_to_first_token_count"],
                   1000 * v["knllama_inter_token_latency_sum"] / v["knllama_inter_token_latency_count"],
                   v["knllama_inter_token_latency_count"] }' | tee -a "$out/overhead.txt"
