#!/usr/bin/env bash
# Deploys knllama from its manifests with the kn CLI: renders a kustomize overlay (knative/overlays/*),
# hands each Knative Service in it to `kn service apply` and the other objects (the model settings'
# ConfigMap, the model volume, a NetworkPolicy…) to `kubectl apply`. The YAML is the one description of
# the deployment; kn then manages what it is good at: Revisions (kn-revisions.sh), traffic splits, tags and
# rollbacks (kn-traffic.sh), deletion (kn-delete.sh). Safe to re-run: an unchanged overlay makes no new
# Revision, and traffic set with kn-traffic.sh is kept (kn service apply merges like kubectl apply).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--features] [OVERLAY]
Creates or updates knllama's Knative Services (and what they need) from a kustomize overlay.
  OVERLAY      cpu | gpu | local, or the path of your own overlay (default: cpu)
  --features   first enable the Knative features the Services need (patches config-features in
               knative-serving; needs cluster-admin rights; once per cluster; with the Knative Operator,
               set them in the KnativeServing resource instead: knative/cluster/knative-serving-operator.yaml)
Settings (environment):
  KNLLAMA_NAMESPACE  namespace (default: the current one)
  KNLLAMA_REGISTRY   image repository prefix, e.g. ghcr.io/me: sets the overlay's images to
                     \$KNLLAMA_REGISTRY/function and \$KNLLAMA_REGISTRY/model-cache (kustomize's images)
  KNLLAMA_KN         kn binary (default: kn on PATH)
USAGE
}

features=false overlay=cpu
while (( $# )); do
  case "$1" in
    --features) features=true ;;
    -h|--help) usage; exit 0 ;;
    -*) usage; exit 2 ;;
    *) overlay="$1" ;;
  esac
  shift
done
[[ -d "$overlay" ]] || overlay="$KNLLAMA_ROOT/knative/overlays/$overlay"
[[ -f "$overlay/kustomization.yaml" ]] || die "no kustomize overlay at $overlay"
overlay="$(cd "$overlay" && pwd)"
command -v kubectl >/dev/null || die "kubectl is needed to render the overlay and apply what kn does not manage"
kn="$(kn_bin)"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The registry, as kustomize's own image override on top of the overlay: still rendered from the YAML.
if [[ -n "${KNLLAMA_REGISTRY:-}" ]]; then
  mkdir "$work/registry"
  cat > "$work/registry/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $overlay
images:
  - {name: knllama/function, newName: $KNLLAMA_REGISTRY/function}
  - {name: knllama/model-cache, newName: $KNLLAMA_REGISTRY/model-cache}
YAML
  overlay="$work/registry"
fi
kubectl kustomize "$overlay" > "$work/rendered.yaml"

# One file per object; Knative Services go to kn, everything else to kubectl.
awk -v dir="$work" 'BEGIN { n = 1 } /^---$/ { n++; next } { print > (dir "/object-" sprintf("%03d", n) ".yaml") }' "$work/rendered.yaml"
services=() others=()
for object in "$work"/object-*.yaml; do
  if grep -qx 'apiVersion: serving.knative.dev/v1' "$object" && grep -qx 'kind: Service' "$object"; then
    services+=("$object")
  else
    others+=("$object")
  fi
done
(( ${#services[@]} > 0 )) || die "$overlay renders no Knative Service"

if $features; then
  variant_features="$KNLLAMA_ROOT/knative/cluster/config-features.yaml"
  grep -q 'runtimeClassName' "$work/rendered.yaml" && variant_features="$KNLLAMA_ROOT/knative/cluster/config-features-gpu.yaml"
  log "enabling Knative features from ${variant_features#"$KNLLAMA_ROOT/"}"
  kubectl patch configmap/config-features -n knative-serving --type merge --patch-file "$variant_features"
fi

if (( ${#others[@]} > 0 )); then
  # shellcheck disable=SC2046 # one -f per file
  kubectl apply "${ns_args[@]}" $(printf -- '-f %s ' "${others[@]}")
fi
for service in "${services[@]}"; do
  name="$(awk '/^metadata:/ { m = 1; next } m && /^  name:/ { print $2; exit }' "$service")"
  log "kn service apply $name (the first rollout includes the model download)"
  "$kn" service apply "${ns_args[@]}" --filename "$service" --wait-timeout 900
done
"$kn" service list "${ns_args[@]}"
