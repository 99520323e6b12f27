#!/usr/bin/env bash
# The whole performance suite in one command, for a quiet machine: the engine-overhead comparison, the
# concurrency sweep and fixed-rate runs against the function and llama-server (of the binding's era and current)
# side by side, the multi-turn conversations against the function and its peers, cold start and memory, what
# Knative's queue-proxy adds to the first chunk, structured output at the converter's limits, then the k6 load, stress, spike and soak profiles. Everything goes under one results directory, with a SUMMARY.md
# listing each step's outcome. Takes over an hour with defaults (more the first time: the peers are built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs every benchmark in sequence and writes the results under one directory.
  KNLLAMA_BENCH_RESULTS        results directory (default bench-results/all-<time>)
  KNLLAMA_BENCH_STEPS          steps to run, comma-separated (default
                               overhead,sweep,conversation,cold-start,memory,queue-proxy,grammar,load,stress,spike,soak)
  KNLLAMA_BENCH_TARGETS        sweep: servers side by side (default knllama,llama-server-7841fc7,llama-server: the
                               binding's llama.cpp for the serving layers alone, and a current one; see bench.sh -h)
  KNLLAMA_BENCH_API            sweep: chat or completions (default completions: the same transcript text to every server)
  KNLLAMA_BENCH_REQUESTS       sweep: measured requests per level and server (default 30)
  KNLLAMA_BENCH_CONCURRENCY    sweep: levels (default 1,2,4,8)
  KNLLAMA_BENCH_MAX_TOKENS     sweep and rates: max_tokens (default 128)
  KNLLAMA_BENCH_RATES          fixed arrival rates in requests/s (default 0.25,0.5,1)
  KNLLAMA_BENCH_RATE_DURATION  seconds per rate (default 60)
  KNLLAMA_MODEL_PATH, KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2), KNLLAMA_BENCH_JAVA_OPTS: every server
  KNLLAMA_OVERHEAD_*, KNLLAMA_CONV_*, KNLLAMA_COLD_*, KNLLAMA_K6_*: passed to bench-engine-overhead.sh,
  bench-conversation.sh, bench-cold-start.sh and k6/run.sh (see their -h)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

dir="${KNLLAMA_BENCH_RESULTS:-bench-results/all-$(date +%Y%m%d-%H%M%S)}"
steps=",${KNLLAMA_BENCH_STEPS:-overhead,sweep,conversation,cold-start,memory,queue-proxy,grammar,load,stress,spike,soak},"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}" KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
export KNLLAMA_OVERHEAD_THREADS="${KNLLAMA_OVERHEAD_THREADS:-$KNLLAMA_ENGINE_THREADS}"
export KNLLAMA_OVERHEAD_SLOTS="${KNLLAMA_OVERHEAD_SLOTS:-$KNLLAMA_ENGINE_SLOTS}"
mkdir -p "$dir"
summary="$dir/SUMMARY.md"
{
  echo "# knllama performance suite: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ {print $2 " GiB memory"}'), $(uname -sr); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Model: \`$(basename "$KNLLAMA_MODEL_PATH")\`, sha256 \`$(sha256_of "$KNLLAMA_MODEL_PATH")\`; every server: $KNLLAMA_ENGINE_SLOTS slots, $KNLLAMA_ENGINE_THREADS threads"
  echo "- Commit: \`$(git -C "$KNLLAMA_ROOT" rev-parse --short HEAD)\`$(git -C "$KNLLAMA_ROOT" diff --quiet HEAD -- 2>/dev/null || echo " (with uncommitted changes)")"
  echo
  echo "| Step | Outcome | Output |"
  echo "| --- | --- | --- |"
} >"$summary"

failed=0
# step NAME OUTPUT COMMAND...: runs one step, its output to NAME.log, and records the outcome; the suite goes on.
step() {
  local name="$1" output="$2"
  shift 2
  [[ "$steps" == *",$name,"* ]] || return 0
  log "=== $name ==="
  local started=$SECONDS status
  set +e # the step's own status, from PIPESTATUS (an `|| true` would reset it)
  "$@" 2>&1 | tee "$dir/$name.log"
  status=${PIPESTATUS[0]}
  set -e
  (( status == 0 )) || failed=$((failed + 1))
  echo "| $name | $( ((status == 0)) && echo passed || echo "FAILED (exit status $status)") in $((SECONDS - started)) s | $output, \`$name.log\` |" >>"$summary"
}

step overhead "\`overhead/overhead.txt\`" env KNLLAMA_OVERHEAD_OUT="$dir/overhead" "$KNLLAMA_ROOT/scripts/bench-engine-overhead.sh"
step sweep "\`sweep/sweep.txt\`, \`sweep/sweep.png\`" env KNLLAMA_BENCH_OUT="$dir/sweep" \
  KNLLAMA_BENCH_TARGETS="${KNLLAMA_BENCH_TARGETS:-knllama,llama-server-7841fc7,llama-server}" KNLLAMA_BENCH_API="${KNLLAMA_BENCH_API:-completions}" \
  KNLLAMA_BENCH_CONCURRENCY="${KNLLAMA_BENCH_CONCURRENCY-1,2,4,8}" KNLLAMA_BENCH_REQUESTS="${KNLLAMA_BENCH_REQUESTS:-30}" \
  KNLLAMA_BENCH_WARMUP=3 KNLLAMA_BENCH_MAX_TOKENS="${KNLLAMA_BENCH_MAX_TOKENS:-128}" \
  KNLLAMA_BENCH_RATES="${KNLLAMA_BENCH_RATES:-0.25,0.5,1}" KNLLAMA_BENCH_RATE_DURATION="${KNLLAMA_BENCH_RATE_DURATION:-60}" \
  KNLLAMA_BENCH_LABEL="knllama suite $(date +%Y-%m-%d)" "$KNLLAMA_ROOT/scripts/bench.sh"
step conversation "\`conversation/conversation.txt\`, \`conversation/conversation.png\`" env KNLLAMA_BENCH_OUT="$dir/conversation" \
  "$KNLLAMA_ROOT/scripts/bench-conversation.sh"
step cold-start "\`cold-start/cold-start.txt\`" env KNLLAMA_BENCH_OUT="$dir/cold-start" "$KNLLAMA_ROOT/scripts/bench-cold-start.sh"
step memory "\`memory/memory.txt\`" env KNLLAMA_BENCH_OUT="$dir/memory" "$KNLLAMA_ROOT/scripts/bench-memory.sh"
# Its own request count and length: the sweep's settings above are not meant for it.
step queue-proxy "the figures in" env KNLLAMA_BENCH_REQUESTS=30 KNLLAMA_BENCH_MAX_TOKENS=16 "$KNLLAMA_ROOT/scripts/bench-queue-proxy.sh"
step grammar "the figures in" "$KNLLAMA_ROOT/scripts/bench-grammar.sh"
for profile in load stress spike soak; do
  step "$profile" "\`k6/\` ($profile)" env KNLLAMA_K6_RESULTS="$dir/k6" "$KNLLAMA_ROOT/scripts/k6/run.sh" "$profile"
done

{
  echo
  echo "k6 records (\`k6/*.md\`, \`k6/*.json\`) are what scripts/k6/results/ keeps: copy them there to commit them."
} >>"$summary"
log "results: $dir (summary: $summary)"
cat "$summary"
(( failed == 0 )) || die "$failed step(s) failed; see $summary"
