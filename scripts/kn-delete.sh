#!/usr/bin/env bash
# Deletes knllama's Knative Services (the API and the events Service, with all their Revisions and
# routes) with kn. The model volume is kept unless --volume is given, so a later deploy does not
# download the model again. Safe to re-run: deleting what is already gone is not an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--volume]
Deletes the knllama Services.
  --volume   also delete the model volume claim (the model is downloaded again on the next deploy)
  KNLLAMA_SERVICE    the API Service's name (default: knllama; the events Service is NAME-events)
  KNLLAMA_NAMESPACE  namespace (default: kn's current one)
  KNLLAMA_PVC        model volume claim (default: knllama-models)
  KNLLAMA_KN         kn binary (default: kn on PATH)
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
for name in "$service" "$service-events"; do
  if "$kn" service describe "$name" "${ns_args[@]}" >/dev/null 2>&1; then
    "$kn" service delete "$name" "${ns_args[@]}" --wait
  else
    log "Service $name does not exist"
  fi
done
if $volume; then
  kubectl delete pvc "${KNLLAMA_PVC:-knllama-models}" "${ns_args[@]}" --ignore-not-found
fi
