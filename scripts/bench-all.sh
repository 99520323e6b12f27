#!/usr/bin/env bash
# The whole performance suite in one command, for a quiet machine: the engine-overhead comparison, the
# concurrency sweep and fixed-rate runs against the function (and a second server side by side when
# KNLLAMA_BENCH_COMPARE_URL is set), then the k6 load, stress, spike and soak profiles. Everything goes under
# one results directory, with a SUMMARY.md listing each step's outcome. Takes about 40 minutes with defaults.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs every benchmark in sequence and writes the results under one directory.
  KNLLAMA_BENCH_RESULTS        results directory (default bench-results/all-<time>)
  KNLLAMA_BENCH_STEPS          steps to run, comma-separated (default overhead,sweep,load,stress,spike,soak)
  KNLLAMA_BENCH_COMPARE_URL    a second OpenAI-compatible server (e.g. llama-server on the same model), benchmarked
                               side by side with the function in the sweep; KNLLAMA_BENCH_COMPARE_NAME names it
                               (default llama-server), KNLLAMA_BENCH_COMPARE_EXTRA adds JSON fields to its requests
                               (e.g. '{"cache_prompt":false}' so llama-server does not reuse prompts the function recomputes)
  KNLLAMA_BENCH_API            sweep: chat (default) or completions (the same transcript text to every server; use it with
                               a compared server that would render chat messages with another template)
  KNLLAMA_BENCH_REQUESTS       sweep: measured requests per level and target (default 30)
  KNLLAMA_BENCH_CONCURRENCY    sweep: levels (default 1,2,4,8)
  KNLLAMA_BENCH_MAX_TOKENS     sweep and rates: max_tokens (default 128)
  KNLLAMA_BENCH_RATES          fixed arrival rates in requests/s (default 0.25,0.5,1)
  KNLLAMA_BENCH_RATE_DURATION  seconds per rate (default 60)
  KNLLAMA_MODEL_PATH, KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2), KNLLAMA_BENCH_JAVA_OPTS: the function
  KNLLAMA_OVERHEAD_*, KNLLAMA_K6_*: passed to bench-engine-overhead.sh and k6/run.sh (see their -h)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

dir="${KNLLAMA_BENCH_RESULTS:-bench-results/all-$(date +%Y%m%d-%H%M%S)}"
steps=",${KNLLAMA_BENCH_STEPS:-overhead,sweep,load,stress,spike,soak},"
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
  echo "- Model: \`$(basename "$KNLLAMA_MODEL_PATH")\`, sha256 \`$(sha256_of "$KNLLAMA_MODEL_PATH")\`; function: $KNLLAMA_ENGINE_SLOTS slots, $KNLLAMA_ENGINE_THREADS threads"
  echo "- Commit: \`$(git -C "$KNLLAMA_ROOT" rev-parse --short HEAD)\`$(git -C "$KNLLAMA_ROOT" diff --quiet HEAD -- 2>/dev/null || echo " (with uncommitted changes)")"
  [[ -n "${KNLLAMA_BENCH_COMPARE_URL:-}" ]] && echo "- Compared with: ${KNLLAMA_BENCH_COMPARE_NAME:-llama-server} at $KNLLAMA_BENCH_COMPARE_URL"
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

compare=()
if [[ -n "${KNLLAMA_BENCH_COMPARE_URL:-}" ]]; then
  name="${KNLLAMA_BENCH_COMPARE_NAME:-llama-server}"
  compare=(--target "$name=$KNLLAMA_BENCH_COMPARE_URL")
  [[ -n "${KNLLAMA_BENCH_COMPARE_EXTRA:-}" ]] && compare+=(--extra-body "$name=$KNLLAMA_BENCH_COMPARE_EXTRA")
fi
step sweep "\`sweep/bench.json\`, \`sweep/bench.png\`" "$KNLLAMA_ROOT/scripts/bench.sh" --start-function "${compare[@]}" \
  --concurrency "${KNLLAMA_BENCH_CONCURRENCY:-1,2,4,8}" --requests "${KNLLAMA_BENCH_REQUESTS:-30}" --warmup 3 \
  --max-tokens "${KNLLAMA_BENCH_MAX_TOKENS:-128}" --api "${KNLLAMA_BENCH_API:-chat}" --rate "${KNLLAMA_BENCH_RATES:-0.25,0.5,1}" \
  --rate-duration "${KNLLAMA_BENCH_RATE_DURATION:-60}" --label "knllama suite $(date +%Y-%m-%d)" --out "$dir/sweep/bench.json"

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
