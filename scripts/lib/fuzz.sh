#!/usr/bin/env bash
# The part the fuzz scripts share: run a Jazzer fuzz test for a bounded time, print its totals and list the new
# findings it saved under the test's inputs directory (where every later `./mvnw verify` replays them).
# Sourced after lib/common.sh.

# run_fuzz WHAT INPUTS OUTPUT TOTALS -- COMMAND...: fuzzes by running COMMAND (with JAZZER_MAX_DURATION set to
# $KNLLAMA_FUZZ_DURATION, default 5m) from the repository root, its output to OUTPUT; then prints the output's
# lines matching the regular expression TOTALS and the inputs newer than the run; dies if COMMAND failed.
run_fuzz() {
  local what="$1" inputs="$2" output="$3" totals="$4" status=0 marker
  shift 5
  local duration="${KNLLAMA_FUZZ_DURATION:-5m}"
  # With this directory present Jazzer saves findings in it rather than in the working directory.
  mkdir -p "$inputs" "$(dirname "$output")"
  marker="$(mktemp)"
  log "fuzzing $what for $duration (full output: $output)"
  (cd "$KNLLAMA_ROOT" && JAZZER_MAX_DURATION="$duration" "$@") >"$output" 2>&1 || status=$?
  grep -E "$totals" "$output" | tail -n2 || true
  log "findings: $(find "$inputs" -type f -newer "$marker" | wc -l) new input(s) under $inputs"
  find "$inputs" -type f -newer "$marker" -printf '  %p\n'
  rm -f "$marker"
  if (( status != 0 )); then
    grep -E 'FuzzTestFindingException|== Java Exception|Exception:|terminate called' "$output" | head -n 20 >&2 || true
    die "the fuzz run failed (exit $status): see $output"
  fi
  rmdir "$inputs" 2>/dev/null || true # left only where it was made empty for this run
}
