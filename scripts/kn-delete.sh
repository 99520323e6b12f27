#!/usr/bin/env bash
# Deletes the knllama Service (all its Revisions and routes) with kn. The model volume is kept
# unless --volume is given, so a later deploy does not download the model again.
# Safe to re-run: deleting what is already gone is not an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--volume]
Deletes the knllama Service.
  --volume   also delete the model volume claim (the model is downloaded again on the next deploy)
  KNLLAMA_SERVICE    Service name (default: knllama)
  KNLLAMA_NAMESPACE  namespace (default: kn's current one)
  KNLLAMA_PVC        model volume claim (default: knllama-models)
  KNLLAMA_KN         kn binary (default: kn on PATH, else one built from the Go module proxy)
USAGE
}
volume=false
case "${1:-}" in
  "") ;;
  --volume) volume=true ;;
  -h|--help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac
(( $# <= 1 )) || { usage; exit 2; }

service="${KNLLAMA_SERVICE:-knllama}"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")
kn="$(kn_bin)"
if "$kn" service describe "$service" "${ns_args[@]}" >/dev/null 2>&1; then
  "$kn" service delete "$service" "${ns_args[@]}" --wait
else
  log "Service $service does not exist"
fi
if $volume; then
  kubectl delete pvc "${KNLLAMA_PVC:-knllama-models}" "${ns_args[@]}" --ignore-not-found
fi
