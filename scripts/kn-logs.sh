#!/usr/bin/env bash
# Follows the logs of the knllama Service's pods: the function, the model-cache init container
# (with --init) or Knative's queue-proxy (with --queue). kn has no logs command, so this is kubectl.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--init | --queue] [REVISION]
Follows the logs of every pod of the Service (or of one Revision), prefixed by pod name.
  --init    the model-cache init container's logs (download and verification)
  --queue   Knative's queue-proxy sidecar
  KNLLAMA_SERVICE    Service name (default: knllama)
  KNLLAMA_NAMESPACE  namespace (default: kubectl's current one)
  KNLLAMA_LOG_SINCE  how far back to start (default: 10m)
USAGE
}
container=function selector_key=serving.knative.dev/service selector_value="${KNLLAMA_SERVICE:-knllama}"
while (( $# )); do
  case "$1" in
    --init) container=model-cache ;;
    --queue) container=queue-proxy ;;
    -h|--help) usage; exit 0 ;;
    -*) usage; exit 2 ;;
    *) selector_key=serving.knative.dev/revision selector_value="$1" ;;
  esac
  shift
done
command -v kubectl >/dev/null || die "kubectl is needed (kn has no logs command)"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")
# A Service scaled to zero has no pods: say so instead of waiting silently.
if [[ -z "$(kubectl get pods "${ns_args[@]}" -l "$selector_key=$selector_value" -o name)" ]]; then
  log "no pods for $selector_key=$selector_value (scaled to zero?); send a request to start one"
fi
exec kubectl logs "${ns_args[@]}" -l "$selector_key=$selector_value" -c "$container" \
  --follow --prefix --max-log-requests 10 --since "${KNLLAMA_LOG_SINCE:-10m}"
