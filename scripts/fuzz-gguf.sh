#!/usr/bin/env bash
# Fuzzes the GGUF validator (GgufFile.read) with Jazzer for a bounded time, then prints libFuzzer's
# totals and any findings. A finding is saved under the fuzz test's inputs directory, where the next
# `./mvnw verify` replays it as a regression test: fix the validator, keep the input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs GgufFuzzTest in fuzzing mode and reports executions, coverage and findings.
  KNLLAMA_FUZZ_DURATION  how long to fuzz, in Jazzer's syntax (default: 5m)
  KNLLAMA_FUZZ_LOG       where to keep the full output (default: model-cache/gguf/target/fuzz-gguf.log)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

duration="${KNLLAMA_FUZZ_DURATION:-5m}"
output="${KNLLAMA_FUZZ_LOG:-$KNLLAMA_ROOT/model-cache/gguf/target/fuzz-gguf.log}"
inputs="$KNLLAMA_ROOT/model-cache/gguf/src/test/resources/io/knllama/gguf/GgufFuzzTestInputs"
# With this directory present Jazzer saves findings in it rather than in the working directory.
mkdir -p "$inputs" "$(dirname "$output")"
marker="$(mktemp)"
trap 'rm -f "$marker"' EXIT

log "fuzzing GgufFile.read for $duration (full output: $output)"
status=0
# Only the fuzz test's own surefire execution (see model-cache/gguf/pom.xml), after compiling the tests.
(cd "$KNLLAMA_ROOT" && JAZZER_FUZZ=1 JAZZER_MAX_DURATION="$duration" \
  ./mvnw -B -pl model-cache/gguf test-compile surefire:test@fuzz) >"$output" 2>&1 || status=$?

grep -E '^#[0-9]+[[:space:]]+DONE' "$output" | tail -n1 || true
grep -E '^Done [0-9]+ runs' "$output" | tail -n1 || true
findings="$(find "$inputs" -type f -newer "$marker" | wc -l)"
log "findings: $findings new input(s) under $inputs"
find "$inputs" -type f -newer "$marker" -printf '  %p\n'
if (( status != 0 )); then
  grep -E 'FuzzTestFindingException|== Java Exception|Exception:' "$output" | head -n 20 >&2 || true
  die "the fuzz run failed (exit $status): see $output"
fi
rmdir "$inputs" 2>/dev/null || true
