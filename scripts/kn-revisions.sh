#!/usr/bin/env bash
# Lists the knllama Service's Revisions with their traffic share, tags and readiness (kn revision list).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Lists the Revisions of the knllama Service, newest first.
  KNLLAMA_SERVICE    Service name (default: knllama)
  KNLLAMA_NAMESPACE  namespace (default: kn's current one)
  KNLLAMA_KN         kn binary (default: kn on PATH)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")
exec "$(kn_bin)" revision list --service "${KNLLAMA_SERVICE:-knllama}" "${ns_args[@]}"
