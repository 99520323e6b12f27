#!/usr/bin/env bash
# Lints .github/workflows with actionlint (pinned in versions.env, built once from the Go module proxy into
# the cache directory): syntax, expressions, job references, and shellcheck-free checks of run: blocks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs actionlint on .github/workflows/*.yml. Needs Go on PATH the first time (to build actionlint).
  KNLLAMA_CACHE_DIR   where the built actionlint is kept (default: $KNLLAMA_CACHE_DIR)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

bin_dir="$KNLLAMA_CACHE_DIR/tools/actionlint-$ACTIONLINT_VERSION"
if [[ ! -x "$bin_dir/actionlint" ]]; then
  command -v go >/dev/null || die "building actionlint needs Go on PATH"
  log "building actionlint $ACTIONLINT_VERSION from the Go module proxy (first run only)"
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
# -shellcheck= : run: blocks are short and shellcheck is not installed everywhere; the rest is checked.
"$bin_dir/actionlint" -shellcheck= "$KNLLAMA_ROOT"/.github/workflows/*.yml
log "workflows OK: $(cd "$KNLLAMA_ROOT" && ls .github/workflows/*.yml | tr '\n' ' ')"
