#!/usr/bin/env bash
# The API key's rotation against a real Kubernetes API server, with the RBAC the manifests ship: the API server
# and etcd of scripts/cluster-up.sh (links pki, etcd, control-plane), the function as a local process that
# authenticates as the manifests' service account (a token from the TokenRequest API and the cluster's CA, as in a
# pod), in a namespace of its own. Checks, in order, and stops at the first that fails:
#   1. the service account may read the key's Secret and nothing else (kubectl with its token: the key's Secret is
#      readable; knllama-secrets and a list of all Secrets are Forbidden);
#   2. the function takes the key read at start and starts its watch (list and watch as that account, allowed only
#      because it asks for the Secret by name);
#   3. a rotated key (kubectl apply of the Secret) is the only one accepted, without a restart; how long it took;
#   4. a deleted Secret leaves the key in force.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Needs a running API server from scripts/cluster-up.sh (e.g. 'scripts/cluster-up.sh link pki', then 'link etcd',
'link control-plane'); CLUSTER_DIR as there (default: \$KNLLAMA_CACHE_DIR/cluster).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

CLUSTER_DIR="${CLUSTER_DIR:-$KNLLAMA_CACHE_DIR/cluster}"
kubeconfig="$CLUSTER_DIR/pki/admin.kubeconfig"
[[ -s "$kubeconfig" ]] || die "no cluster-up.sh kubeconfig at $kubeconfig (see -h)"
kc() { kubectl --kubeconfig "$kubeconfig" "$@"; }
kc get --raw /readyz >/dev/null 2>&1 || die "the API server of cluster-up.sh does not answer (see -h)"

server="$(kc config view -o jsonpath='{.clusters[0].cluster.server}')"
ns="knllama-key-rotation-$RANDOM"
work="$(mktemp -d)"
FUNCTION_PID=""
cleanup() {
  stop_function
  kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
secret() { kc -n "$ns" create secret generic "$1" --from-literal="$2=$3" --dry-run=client -o yaml | kc -n "$ns" apply -f - >/dev/null; }

kc create namespace "$ns" >/dev/null
# The service account, Role and RoleBinding as the manifests ship them (the overlays render the base's file unchanged).
kc -n "$ns" apply -f "$KNLLAMA_ROOT/knative/base/200-api-key-watch.yaml" >/dev/null
first="rotation-first-$RANDOM-0123456789" second="rotation-second-$RANDOM-0123456789"
secret knllama-api-key KNLLAMA_API_KEY "$first"
secret knllama-secrets HF_TOKEN "hf_not-for-the-function"
kc -n "$ns" create token knllama --duration 1h > "$work/token"
log "namespace $ns: service account knllama, its Role and RoleBinding from knative/base/200-api-key-watch.yaml, two Secrets"

# 1. What the account may read.
# --kubeconfig /dev/null: the token alone, never a client certificate from a kubeconfig kubectl would otherwise read.
as_function() { kubectl --kubeconfig /dev/null --server "$server" \
  --certificate-authority "$CLUSTER_DIR/pki/ca.crt" --token "$(cat "$work/token")" -n "$ns" "$@"; }
as_function get secret knllama-api-key -o name >/dev/null || die "1: the service account cannot get knllama-api-key"
for forbidden in "get secret knllama-secrets" "get secrets" "get secrets --field-selector metadata.name=knllama-secrets"; do
  # shellcheck disable=SC2086 # a kubectl command line
  if out="$(as_function $forbidden 2>&1)"; then die "1: the service account may '$forbidden': $out"; fi
  [[ "$out" == *Forbidden* || "$out" == *forbidden* ]] || die "1: '$forbidden' failed otherwise than Forbidden: $out"
done
log "1. ok: the service account gets knllama-api-key; 'get secret knllama-secrets', 'get secrets' are Forbidden"

# 2. The function, authenticated as the account.
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_API_KEY="$first" KNLLAMA_API_WATCHED_SECRET=knllama-api-key KNLLAMA_API_WATCH_DELAY=0s \
  KUBERNETES_CLIENT_BASE_PATH="$server" KUBERNETES_CLIENT_CA_PATH="$CLUSTER_DIR/pki/ca.crt" \
  KUBERNETES_CLIENT_TOKEN_PATH="$work/token" KUBERNETES_CLIENT_NAMESPACE="$ns"
start_function "$(free_port)" "$work/function.log"
status() { curl -s -o /dev/null -w '%{http_code}' "$FUNCTION_URL/v1/models" -H "Authorization: Bearer $1"; }
wait_log "$work/function.log" "Watching Secret '$ns/knllama-api-key'" 30 "$FUNCTION_PID" || die "2: the watch did not start"
sleep 2 # the first list is answered in milliseconds: a refusal is logged by then
if grep -q "Cannot watch" "$work/function.log"; then grep "Cannot watch" "$work/function.log" >&2; die "2: the watch failed"; fi
[[ "$(status "$first")" == 200 ]] || die "2: the key read at start is refused"
log "2. ok: the function serves with the key read at start and watches Secret $ns/knllama-api-key, no errors"

# 3. Rotation.
start="${EPOCHREALTIME/./}"
secret knllama-api-key KNLLAMA_API_KEY "$second"
until [[ "$(status "$second")" == 200 ]]; do
  (( ${EPOCHREALTIME/./} - start < 30000000 )) || die "3: the rotated key was not taken within 30 s"
  sleep 0.01
done
taken_ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
[[ "$(status "$first")" == 401 ]] || die "3: the previous key is still accepted"
log "3. ok: the rotated key is accepted $taken_ms ms after kubectl apply began, and the previous key gets 401"

# 4. Deletion.
kc -n "$ns" delete secret knllama-api-key >/dev/null
wait_log "$work/function.log" "was deleted: the API key in force stays" 10 || die "4: the deletion was not seen within 10 s"
[[ "$(status "$second")" == 200 ]] || die "4: deleting the Secret changed the key in force"
log "4. ok: after the Secret's deletion the key in force stays (logged)"
log "the function's log about the key and its watch:"
grep -E "Watching Secret|API key|Cannot watch|was deleted" "$work/function.log" | sed 's/^/    /' >&2
log "all key rotation checks passed"
