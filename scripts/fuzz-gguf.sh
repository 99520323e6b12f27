#!/usr/bin/env bash
# Fuzzes the GGUF validator (GgufFile.read) with Jazzer for a bounded time, then prints libFuzzer's
# totals and any findings. A finding is saved under the fuzz test's inputs directory, where the next
# `./mvnw verify` replays it as a regression test: fix the validator, keep the input.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/fuzz.sh"

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

# Only the fuzz test's own surefire execution (see model-cache/gguf/pom.xml), after compiling the tests.
run_fuzz GgufFile.read "$KNLLAMA_ROOT/model-cache/gguf/src/test/resources/io/knllama/gguf/GgufFuzzTestInputs" \
  "${KNLLAMA_FUZZ_LOG:-$KNLLAMA_ROOT/model-cache/gguf/target/fuzz-gguf.log}" '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs' \
  -- env JAZZER_FUZZ=1 ./mvnw -B -pl model-cache/gguf test-compile surefire:test@fuzz
