#!/usr/bin/env bash
# Moves the knllama Service's traffic between Revisions with kn: splits, tags, rollbacks, and gradual
# rollouts. Each run sets what it names, so re-running the same command changes nothing.
#   kn-traffic.sh split knllama-00002=10 knllama-00001=90   canary: 10% to the new Revision
#   kn-traffic.sh tag knllama-00002=candidate               a URL of its own (candidate-knllama.…), any share
#   kn-traffic.sh untag candidate
#   kn-traffic.sh latest                                    all traffic to the latest ready Revision
#   kn-traffic.sh rollout 10m                               from now on, move traffic to each new Revision
#                                                           over 10 minutes (serving.knative.dev/rollout-duration)
#   kn-traffic.sh rollback knllama-00001                    all traffic to one Revision, pinned
# A pinned split stays pinned: new Revisions (from kn-deploy.sh) get no traffic until `latest`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} split REVISION=PERCENT... | tag REVISION=TAG... | untag TAG... | latest | rollout DURATION | rollback REVISION
  split      set the traffic split; percentages must add up to 100 (@latest names the latest Revision)
  tag        give Revisions a tag: a route of their own (TAG-SERVICE.NAMESPACE.DOMAIN) whatever their share
  untag      remove tags
  latest     send all traffic to the latest ready Revision (follows new Revisions again)
  rollout    shift traffic to a new latest Revision gradually over DURATION (e.g. 10m; 0s: at once),
             Knative's serving.knative.dev/rollout-duration; applies to Revisions that follow
  rollback   send all traffic to REVISION (see kn-revisions.sh)
  KNLLAMA_SERVICE    Service name (default: knllama; knllama-events for the events Service)
  KNLLAMA_NAMESPACE  namespace (default: kn's current one)
  KNLLAMA_KN         kn binary (default: kn on PATH)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# >= 1 )) || { usage; exit 2; }

service="${KNLLAMA_SERVICE:-knllama}"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")
kn="$(kn_bin)"

command="$1"
shift
update=()
case "$command" in
  split)
    (( $# >= 1 )) || { usage; exit 2; }
    total=0
    for spec in "$@"; do
      [[ "$spec" =~ ^[^=]+=([0-9]+)$ ]] || die "expected REVISION=PERCENT, got '$spec'"
      total=$((total + BASH_REMATCH[1]))
      update+=(--traffic "$spec")
    done
    (( total == 100 )) || die "the percentages add up to $total, not 100"
    ;;
  tag)
    (( $# >= 1 )) || { usage; exit 2; }
    for spec in "$@"; do
      [[ "$spec" =~ ^[^=]+=[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "expected REVISION=TAG (TAG: lower-case letters, digits, -), got '$spec'"
      update+=(--tag "$spec")
    done
    ;;
  untag)
    (( $# >= 1 )) || { usage; exit 2; }
    for tag in "$@"; do update+=(--untag "$tag"); done
    ;;
  latest)
    (( $# == 0 )) || { usage; exit 2; }
    update=(--traffic @latest=100)
    ;;
  rollout)
    (( $# == 1 )) || { usage; exit 2; }
    [[ "$1" =~ ^[0-9]+(s|m|h)$ ]] || die "expected a duration such as 600s or 10m, got '$1'"
    update=(--annotation-service "serving.knative.dev/rollout-duration=$1")
    ;;
  rollback)
    (( $# == 1 )) || { usage; exit 2; }
    "$kn" revision describe "$1" "${ns_args[@]}" >/dev/null || die "no Revision '$1' (see kn-revisions.sh)"
    update=(--traffic "$1=100")
    ;;
  *) usage; exit 2 ;;
esac

log "updating $service: ${update[*]}"
"$kn" service update "$service" "${ns_args[@]}" "${update[@]}"
"$kn" revision list --service "$service" "${ns_args[@]}"
