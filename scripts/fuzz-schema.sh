#!/usr/bin/env bash
# Fuzzes structured output end to end (JSON text -> JsonSchemaGrammar -> llama.cpp's grammar parser -> a short
# generation on a tiny model) with Jazzer for a bounded time, then prints libFuzzer's totals and any findings.
# The run is a fork of its own, so a native abort ends only it, leaving the input as a crash file under the fuzz
# test's inputs directory, where every later `./mvnw verify` replays it: fix the converter, keep the input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/fuzz.sh"

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

run_fuzz "structured output" "$KNLLAMA_ROOT/function/src/test/resources/io/knllama/grammar/SchemaFuzzTestInputs" \
  "${KNLLAMA_FUZZ_LOG:-$KNLLAMA_ROOT/function/target/fuzz-schema.log}" '^Done [0-9]+ runs|^schema fuzz:' \
  -- ./mvnw -B -pl function -am test -Dknllama.images.skip -Dknllama.fuzz.only=true -Dtest=SchemaFuzzTest \
  -Dsurefire.failIfNoSpecifiedTests=false
