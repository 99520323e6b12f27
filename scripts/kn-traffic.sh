#!/usr/bin/env bash
# Splits the knllama Service's traffic between Revisions, or rolls back to one, with kn.
# Each run sets the whole split, so re-running the same command changes nothing.
#   kn-traffic.sh split knllama-00002=10 knllama-00001=90   canary: 10% to the new Revision
#   kn-traffic.sh latest                                    all traffic to the latest ready Revision
#   kn-traffic.sh rollback knllama-00001                    all traffic to one Revision, pinned
# A pinned split stays pinned: new Revisions (from kn-deploy.sh) get no traffic until `latest`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} split REVISION=PERCENT... | latest | rollback REVISION
  split      set the traffic split; percentages must add up to 100 (@latest names the latest Revision)
  latest     send all traffic to the latest ready Revision (follows new Revisions again)
  rollback   send all traffic to REVISION (see kn-revisions.sh)
  KNLLAMA_SERVICE    Service name (default: knllama)
  KNLLAMA_NAMESPACE  namespace (default: kn's current one)
  KNLLAMA_KN         kn binary (default: kn on PATH, else one built from the Go module proxy)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# >= 1 )) || { usage; exit 2; }

service="${KNLLAMA_SERVICE:-knllama}"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")
kn="$(kn_bin)"

traffic=()
case "$1" in
  split)
    shift
    (( $# >= 1 )) || { usage; exit 2; }
    total=0
    for spec in "$@"; do
      [[ "$spec" =~ ^[^=]+=([0-9]+)$ ]] || die "expected REVISION=PERCENT, got '$spec'"
      total=$((total + BASH_REMATCH[1]))
      traffic+=(--traffic "$spec")
    done
    (( total == 100 )) || die "the percentages add up to $total, not 100"
    ;;
  latest)
    (( $# == 1 )) || { usage; exit 2; }
    traffic=(--traffic @latest=100)
    ;;
  rollback)
    (( $# == 2 )) || { usage; exit 2; }
    "$kn" revision describe "$2" "${ns_args[@]}" >/dev/null || die "no Revision '$2' (see kn-revisions.sh)"
    traffic=(--traffic "$2=100")
    ;;
  *) usage; exit 2 ;;
esac

log "setting the traffic of $service: ${traffic[*]}"
"$kn" service update "$service" "${ns_args[@]}" "${traffic[@]}"
"$kn" revision list --service "$service" "${ns_args[@]}"
