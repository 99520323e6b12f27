#!/usr/bin/env bash
# Builds the Go tools the Knative checks and tests run (manifest-check, Knative's queue-proxy) from the
# Go module proxy into a cache keyed by their pinned sources (scripts/lib/tools.sh), and says what each
# cost. `./mvnw verify` runs it as its own step before the tests (tests/pom.xml), so a fresh machine's
# minutes of Go builds show up here and not inside a test; a re-run with nothing changed takes a second.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Builds (or finds in the cache) manifest-check and queue-proxy, and prints their paths.
  KNLLAMA_TOOLS_DIR  where the builds are cached (default: $KNLLAMA_TOOLS_DIR)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

for tool in manifest_check queue_proxy; do
  start="$(date +%s)"
  bin="$("${tool}_bin")"
  log "${tool//_/-}: $bin ($(($(date +%s) - start)) s)"
done
