#!/usr/bin/env bash
# Builds k6 ($K6_VERSION from scripts/versions.env) from the Go module proxy into the tools cache and prints
# the binary's path. A binary already there at that version is reused, so it is safe to re-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints the path of k6 $K6_VERSION, building it with 'go install' first if needed (needs Go 1.25+; a few minutes).
  KNLLAMA_CACHE_DIR  cache directory (default: $KNLLAMA_CACHE_DIR); k6 goes to tools/k6-$K6_VERSION/k6
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

dir="$KNLLAMA_CACHE_DIR/tools/k6-$K6_VERSION"
bin="$dir/k6"
if [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q "k6 $K6_VERSION"; then
  printf '%s\n' "$bin"; exit 0
fi
command -v go >/dev/null || die "Go is needed to build k6 (https://go.dev/dl, or apt-get install golang-go >= 1.25)"
log "building k6 $K6_VERSION with $(go version | awk '{print $3}') into $dir (a few minutes)"
mkdir -p "$dir"
# A static binary; nice, because the build takes both cores for minutes on a small machine.
CGO_ENABLED=0 GOBIN="$dir" GOFLAGS="${GOFLAGS:-} -trimpath" nice go install "go.k6.io/k6@$K6_VERSION" \
  || die "could not build k6 $K6_VERSION (is the Go module proxy reachable?)"
"$bin" version | grep -q "k6 $K6_VERSION" || die "$bin does not report version $K6_VERSION"
log "k6 ready: $bin"
printf '%s\n' "$bin"
