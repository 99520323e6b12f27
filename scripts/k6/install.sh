#!/usr/bin/env bash
# Builds k6 ($K6_VERSION from scripts/versions.env, pinned in scripts/k6/build/go.mod) with the streaming extension
# k6/x/sse (scripts/k6/build/sse.go) from the Go module proxy into the tools cache, and prints the binary's path.
# The build is keyed by its sources, so a second run costs nothing and an edited extension is rebuilt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints the path of k6 $K6_VERSION with k6/x/sse, building it first if needed (needs Go 1.25+; a few minutes).
  KNLLAMA_CACHE_DIR  cache directory (default: $KNLLAMA_CACHE_DIR); k6 goes to tools/k6-$K6_VERSION-<sources>/k6
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

src="$KNLLAMA_ROOT/scripts/k6/build"
grep -q "go.k6.io/k6 $K6_VERSION\$" "$src/go.mod" || die "scripts/k6/build/go.mod does not require go.k6.io/k6 $K6_VERSION (versions.env)"
key="$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-12)"
dir="$KNLLAMA_CACHE_DIR/tools/k6-$K6_VERSION-$key"
bin="$dir/k6"
if [[ ! -x "$bin" ]]; then
  command -v go >/dev/null || die "Go is needed to build k6 (https://go.dev/dl, or apt-get install golang-go >= 1.25)"
  mkdir -p "$dir"
  (
    flock 8
    if [[ ! -x "$bin" ]]; then
      log "building k6 $K6_VERSION with k6/x/sse, $(go version | awk '{print $3}'), into $dir (a few minutes)"
      # nice: the build takes every core for minutes on a small machine. -mod=readonly: go.sum pins every module;
      # GOTOOLCHAIN=local: no toolchain download; static, and no VCS stamping (a worktree or tarball has none).
      (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" nice go build -trimpath -o "$bin.tmp" .) \
        || die "could not build k6 $K6_VERSION (is the Go module proxy reachable?)"
      mv -f "$bin.tmp" "$bin"
    fi
  ) 8>"$dir/.lock"
fi
"$bin" version 2>/dev/null | grep -q "k6 $K6_VERSION" || die "$bin does not report version $K6_VERSION"
printf '%s\n' "$bin"
