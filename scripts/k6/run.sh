#!/usr/bin/env bash
# Runs one k6 load profile (load, stress, spike, soak) against the function, which it starts on 127.0.0.1
# unless KNLLAMA_BENCH_URL names a running server, and writes the k6 summary with a header (date, machine,
# model and its sha256, git commit) to scripts/k6/results/<date>-<profile>.{json,md}. For the soak it samples
# the function's memory throughout and fails on growth of memory or latency from the start to the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} load|stress|spike|soak
Runs a k6 profile (scripts/k6/PROFILE.js) and records its summary; exit status 0 only if its thresholds hold.
  KNLLAMA_BENCH_URL        a running server to test (default: start the function on 127.0.0.1, stop it after)
  KNLLAMA_BENCH_PID        that server's process id, for memory from /proc (else the soak reads JVM memory from /metrics)
  KNLLAMA_MODEL_PATH       model for the started function (default: ./scripts/fetch-model.sh's)
  KNLLAMA_ENGINE_SLOTS     slots of the started function (default 2); KNLLAMA_ENGINE_THREADS (default 2)
  KNLLAMA_K6_RESULTS       results directory (default scripts/k6/results)
  KNLLAMA_K6_TAG           suffix for the result names, e.g. smoke (default: none)
  KNLLAMA_SOAK_RSS_TOLERANCE_PCT      soak: allowed memory growth, end window over start window (default 10)
  KNLLAMA_SOAK_LATENCY_TOLERANCE_PCT  soak: allowed growth of p50 and p90 latency (default 25)
  KNLLAMA_SOAK_SAMPLE_S    soak: seconds between memory samples (default 5)
Profile settings, KNLLAMA_K6_ + DURATION, VUS, RAMP, STAGE, STEPS, BASELINE, SPIKE, SPIKE_VUS, RECOVERY, RATE,
  MAX_TOKENS (32), STREAM_RATIO (0.5) (each .js file says which it reads; not K6_*, which k6 itself reads).
  Defaults are the full runs: load 5.5 min, stress 5 x 65 s, spike 2.6 min, soak 10 min.
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 1 )) || { usage; exit 2; }
profile="$1"
case "$profile" in load|stress|spike|soak) ;; *) usage; die "unknown profile '$profile'" ;; esac

results="${KNLLAMA_K6_RESULTS:-$KNLLAMA_ROOT/scripts/k6/results}"
tag="${KNLLAMA_K6_TAG:+-$KNLLAMA_K6_TAG}"
rss_tolerance="${KNLLAMA_SOAK_RSS_TOLERANCE_PCT:-10}"
latency_tolerance="${KNLLAMA_SOAK_LATENCY_TOLERANCE_PCT:-25}"
sample_s="${KNLLAMA_SOAK_SAMPLE_S:-5}"
k6="$("$KNLLAMA_ROOT/scripts/k6/install.sh")"
mkdir -p "$results"
name="$(date -u +%Y-%m-%d)-$profile$tag"
[[ -e "$results/$name.json" ]] && name="$(date -u +%Y-%m-%d-%H%M%S)-$profile$tag"
work="$(mktemp -d)"
sampler=""
cleanup() {
  [[ -n "$sampler" ]] && { kill "$sampler" 2>/dev/null || true; }
  stop_function
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "${KNLLAMA_BENCH_URL:-}" ]]; then
  url="${KNLLAMA_BENCH_URL%/}"; url="${url%/v1}"
  pid="${KNLLAMA_BENCH_PID:-}"
  wait_ready "$url" 10
else
  export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
  export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}" KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
  start_function "$(free_port)" "$work/function.log"
  url="$FUNCTION_URL"
  pid="$FUNCTION_PID"
fi
model_id="$(curl -fsS --max-time 10 "$url/v1/models" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')" \
  || die "$url/v1/models did not list a model"

# Memory, every few seconds: resident set size from /proc when the process is known (the JVM's metrics miss
# native memory, where llama.cpp lives), and the JVM's own used memory from /metrics either way.
sample_memory() {
  local deadline=$((SECONDS + 6 * 3600)) rss heap
  while (( SECONDS < deadline )); do
    rss="$([[ -n "$pid" ]] && rss_kib "$pid" || echo "")"
    heap="$(curl -fsS --max-time 2 "$url/metrics" 2>/dev/null | awk '/^jvm_memory_used_bytes/ {s += $NF} END {printf "%.0f", s}' || echo "")"
    printf '%s %s %s\n' "$(date +%s)" "${rss:-}" "${heap:-}" >>"$work/memory.txt"
    sleep "$sample_s"
  done
}
if [[ "$profile" == soak ]]; then
  sample_memory &
  sampler=$!
fi

log "k6 $profile against $url (model '$model_id')"
# k6 exits 99 when thresholds fail; its status is read from PIPESTATUS with errexit off (an `|| true` would reset it).
set +e
"$k6" run --quiet --summary-export "$work/summary.json" -e BASE_URL="$url" -e MODEL="$model_id" \
  "$KNLLAMA_ROOT/scripts/k6/$profile.js" 2>&1 | tee "$work/k6.txt"
status=${PIPESTATUS[0]}
set -e
[[ -f "$work/summary.json" ]] || die "k6 wrote no summary (exit status $status); its output is above"
if [[ -n "$sampler" ]]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""; fi

soak_verdict=""
if [[ "$profile" == soak ]]; then
  # Start window = 10-30% of the run, end window = the last 20%, as the phase tags in soak.js.
  soak_verdict="$(python3 - "$work/memory.txt" "$work/summary.json" "$rss_tolerance" "$latency_tolerance" <<'PY'
import json, statistics, sys
samples = [l.split() for l in open(sys.argv[1]) if l.strip()]
summary = json.load(open(sys.argv[2]))["metrics"]
rss_tol, lat_tol = float(sys.argv[3]) / 100, float(sys.argv[4]) / 100
t0, t1 = int(samples[0][0]), int(samples[-1][0])
span = max(1, t1 - t0)
def window(col, lo, hi):
    vals = [float(s[col]) for s in samples if len(s) > col and s[col] and lo <= (int(s[0]) - t0) / span <= hi]
    return statistics.mean(vals) if vals else None
ok = True
lines = []
for col, label, tol in ((1, "RSS (KiB, /proc)", rss_tol), (2, "JVM memory used (bytes, /metrics)", None)):
    a, b = window(col, 0.1, 0.3), window(col, 0.8, 1.0)
    if a is None or b is None:
        lines.append(f"- {label}: not sampled")
        continue
    growth = (b - a) / a
    verdict = "" if tol is None else (" ok" if growth <= tol else f" FAIL (> {tol:.0%})")
    if tol is not None and growth > tol:
        ok = False
    lines.append(f"- {label}: start {a:,.0f}, end {b:,.0f}, growth {growth:+.1%}{verdict}" + ("" if tol is not None else " (informational: the heap follows GC)"))
for stat in ("med", "p(90)"):
    s, e = summary.get("e2e{phase:start}", {}).get(stat), summary.get("e2e{phase:end}", {}).get(stat)
    if s is None or e is None:
        lines.append(f"- latency {stat}: no requests in one of the windows"); ok = False; continue
    growth = (e - s) / s
    if growth > lat_tol:
        ok = False
    lines.append(f"- latency {stat}: start {s:.0f} ms, end {e:.0f} ms, growth {growth:+.1%}" + (" ok" if growth <= lat_tol else f" FAIL (> {lat_tol:.0%})"))
lines.append(f"- {len(samples)} memory samples over {span} s")
print(("PASS" if ok else "FAIL") + "\n" + "\n".join(lines))
PY
)" || die "could not evaluate the soak's samples"
  cp "$work/memory.txt" "$results/$name-memory.txt"
fi

# The record: k6's summary export as it is, plus a Markdown page with what it ran on and the verdict.
cp "$work/summary.json" "$results/$name.json"
model_file="${KNLLAMA_MODEL_PATH:-}"
{
  echo "# k6 $profile: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  [[ -n "$tag" ]] && echo "**Tagged '${tag#-}': not a full-length run.**" && echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| Verdict | $( ((status == 0)) && echo "thresholds passed" || echo "THRESHOLDS FAILED (k6 exit status $status)")$([[ -n "$soak_verdict" ]] && echo "; soak growth check: ${soak_verdict%%$'\n'*}") |"
  echo "| Target | $url, model \`$model_id\`$([[ -z "${KNLLAMA_BENCH_URL:-}" ]] && echo ", function started by run.sh: ${KNLLAMA_ENGINE_SLOTS} slots, ${KNLLAMA_ENGINE_THREADS} threads") |"
  echo "| Model file | $([[ -f "$model_file" ]] && echo "\`$(basename "$model_file")\`, $(stat -c %s "$model_file") bytes, sha256 \`$(sha256_of "$model_file")\`" || echo "not known (external server; set KNLLAMA_MODEL_PATH)") |"
  echo "| Machine | $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ {print $2 " GiB memory, " $7 " GiB available"}'), $(uname -sr) |"
  echo "| Commit | \`$(git -C "$KNLLAMA_ROOT" rev-parse --short HEAD)\`$(git -C "$KNLLAMA_ROOT" diff --quiet HEAD -- 2>/dev/null || echo " (with uncommitted changes)") |"
  echo "| k6 | $("$k6" version | head -n1) |"
  echo "| Settings | $(env | grep -E '^KNLLAMA_K6_[A-Z_]+=' | grep -vE '^KNLLAMA_K6_(RESULTS|TAG)=' | sort | tr '\n' ' ')(unset ones at their defaults in scripts/k6/$profile.js) |"
  echo "| Summary | \`$name.json\` (k6 --summary-export) |"
  if [[ -n "$soak_verdict" ]]; then
    echo
    echo "## Soak: start window (10-30%) against end window (80-100%)"
    echo
    echo "${soak_verdict#*$'\n'}"
    echo
    echo "Memory samples: \`$name-memory.txt\` (epoch seconds, RSS KiB, JVM memory used bytes)."
  fi
  echo
  echo "## k6 output"
  echo
  echo '```'
  sed 's/\x1b\[[0-9;]*m//g' "$work/k6.txt"
  echo '```'
} >"$results/$name.md"
log "results: $results/$name.md, $results/$name.json"
[[ -n "$soak_verdict" ]] && log "soak growth check: ${soak_verdict%%$'\n'*}"
if (( status != 0 )); then
  die "k6 $profile: thresholds failed (exit status $status); see $results/$name.md"
fi
if [[ -n "$soak_verdict" && "${soak_verdict%%$'\n'*}" != PASS ]]; then
  die "k6 soak: memory or latency grew beyond tolerance; see $results/$name.md"
fi
