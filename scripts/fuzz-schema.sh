#!/usr/bin/env bash
# Fuzzes structured output end to end (JSON text -> JsonSchemaGrammar -> llama.cpp's grammar parser -> a short
# generation on a tiny model) with Jazzer for a bounded time, then prints libFuzzer's totals and any findings.
# The run is a fork of its own, so a native abort ends only it, leaving the input as a crash file under the fuzz
# test's inputs directory, where every later `./mvnw verify` replays it: fix the converter, keep the input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs SchemaFuzzTest in fuzzing mode and reports executions, coverage and findings.
  KNLLAMA_FUZZ_DURATION  how long to fuzz, in Jazzer's syntax (default: 5m)
  KNLLAMA_FUZZ_LOG       where to keep the full output (default: function/target/fuzz-schema.log)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

duration="${KNLLAMA_FUZZ_DURATION:-5m}"
output="${KNLLAMA_FUZZ_LOG:-$KNLLAMA_ROOT/function/target/fuzz-schema.log}"
inputs="$KNLLAMA_ROOT/function/src/test/resources/io/knllama/grammar/SchemaFuzzTestInputs"
mkdir -p "$inputs" "$(dirname "$output")"
marker="$(mktemp)"
trap 'rm -f "$marker"' EXIT

log "fuzzing structured output for $duration (full output: $output)"
status=0
(cd "$KNLLAMA_ROOT" && JAZZER_MAX_DURATION="$duration" \
  ./mvnw -B -pl function -am test -Dknllama.images.skip -Dknllama.fuzz.only=true -Dtest=SchemaFuzzTest \
    -Dsurefire.failIfNoSpecifiedTests=false) >"$output" 2>&1 || status=$?

grep -E '^Done [0-9]+ runs|^schema fuzz:' "$output" | tail -n2 || true
findings="$(find "$inputs" -type f -newer "$marker" | wc -l)"
log "findings: $findings new input(s) under $inputs"
find "$inputs" -type f -newer "$marker" -printf '  %p\n'
if (( status != 0 )); then
  grep -E 'FuzzTestFindingException|== Java Exception|Exception:|terminate called' "$output" | head -n 20 >&2 || true
  die "the fuzz run failed (exit $status): see $output"
fi
