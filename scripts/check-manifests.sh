#!/usr/bin/env bash
# The Knative checks that run without a cluster (tests/ runs this in `./mvnw verify`):
#  1. every overlay renders with `kubectl kustomize`, and so does the cpu overlay with every optional
#     component (knative/components);
#  2. every rendered object passes Kubernetes' and Knative's own validation, with the Knative
#     feature flags the overlay's config-features patch enables, the pod Knative builds for each
#     Service is Guaranteed by Kubernetes' own QoS code, and knllama's rules hold
#     (scripts/tools/manifest-check);
#  3. knative/eventing renders and passes Knative Eventing's own validation, together with the cpu
#     overlay, so the Triggers are checked against the Service they deliver to;
#  4. the pinned Kubernetes versions are at least what Knative's libraries require, and the Operator's
#     KnativeServing snippet enables the same feature flags as config-features*.yaml;
#  5. kn-deploy.sh, run against stand-in kn and kubectl, hands kn exactly the rendered Services and
#     kubectl the other objects.
# The Go tools are built from the Go module proxy on first use and cached (scripts/build-tools.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [OUT_DIR]
Renders and validates knllama's Knative manifests; writes them to OUT_DIR (default: target/manifests)
and exits non-zero on the first failing step.
  KNLLAMA_TOOLS_DIR  where the Go tools are cached (default: $KNLLAMA_TOOLS_DIR)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# <= 1 )) || { usage; exit 2; }
out="${1:-$KNLLAMA_ROOT/target/manifests}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
command -v kubectl >/dev/null || die "kubectl is needed to render the overlays (Debian: apt-get install kubectl)"

seconds() { date +%s%N; }
elapsed() { local ms=$((($(seconds) - $1) / 1000000)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }

start="$(seconds)"
checker="$(manifest_check_bin)"
log "tools ready in $(elapsed "$start")"

# overlay -> the config-features patch a cluster needs for it
declare -A features=([cpu]=config-features.yaml [gpu]=config-features-gpu.yaml [local]=config-features.yaml [components]=config-features.yaml)
# The cpu overlay with every optional component, from a kustomization of our own (kustomize wants
# relative paths).
mkdir -p "$out/components-overlay"
rel="$(realpath --relative-to="$out/components-overlay" "$KNLLAMA_ROOT/knative")"
{
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s/overlays/cpu\ncomponents:\n' "$rel"
  for component in "$KNLLAMA_ROOT"/knative/components/*/; do
    printf '  - %s/components/%s\n' "$rel" "$(basename "$component")"
  done
} > "$out/components-overlay/kustomization.yaml"
for overlay in cpu gpu local components; do
  start="$(seconds)"
  dir="$KNLLAMA_ROOT/knative/overlays/$overlay"
  [[ "$overlay" == components ]] && dir="$out/components-overlay"
  kubectl kustomize "$dir" > "$out/$overlay.yaml"
  log "rendered $overlay in $(elapsed "$start") -> $out/$overlay.yaml"
  start="$(seconds)"
  "$checker" validate --features "$KNLLAMA_ROOT/knative/cluster/${features[$overlay]}" "$out/$overlay.yaml"
  log "validated $overlay in $(elapsed "$start")"
done

start="$(seconds)"
kubectl kustomize "$KNLLAMA_ROOT/knative/eventing" > "$out/eventing.yaml"
{ cat "$out/cpu.yaml"; echo "---"; cat "$out/eventing.yaml"; } > "$out/cpu-with-eventing.yaml"
"$checker" validate --features "$KNLLAMA_ROOT/knative/cluster/config-features.yaml" "$out/cpu-with-eventing.yaml"
grep -q "event_display:$KNATIVE_EVENT_DISPLAY_VERSION" "$out/eventing.yaml" \
  || die "knative/eventing's event_display tag differs from KNATIVE_EVENT_DISPLAY_VERSION ($KNATIVE_EVENT_DISPLAY_VERSION)"
log "validated eventing in $(elapsed "$start")"

# Pins: a Kubernetes older than knative.dev/pkg's minimum makes Knative's controllers exit at start-up.
min="$("$checker" min-kubernetes)"
k3s="${K3S_IMAGE##*:}"
k3s="${k3s%%-k3s*}"
for pin in "K3S_IMAGE $k3s" "KUBERNETES_VALIDATION_VERSION $KUBERNETES_VALIDATION_VERSION"; do
  version="${pin#* }"
  [[ "$(printf '%s\n%s\n' "${min#v}" "${version#v}" | sort -V | head -1)" == "${min#v}" ]] \
    || die "${pin%% *} pins Kubernetes $version, below $min, the minimum of the knative.dev/pkg Knative Serving $KNATIVE_SERVING_VERSION is built on"
  log "${pin%% *}: Kubernetes $version >= Knative's minimum $min"
done
flags() { grep -hEo '^ *#? *kubernetes\.[a-z.-]+: enabled' "$@" | sed -E 's/^ *#? *//' | sort -u; }
diff <(flags "$KNLLAMA_ROOT/knative/cluster/knative-serving-operator.yaml") \
  <(flags "$KNLLAMA_ROOT/knative/cluster/config-features.yaml" "$KNLLAMA_ROOT/knative/cluster/config-features-gpu.yaml") \
  || die "knative/cluster/knative-serving-operator.yaml and config-features*.yaml enable different flags"

# kn-deploy.sh against stand-ins that record what they are given (kubectl still renders for real).
start="$(seconds)"
stand_ins="$out/stand-ins"
rm -rf "$stand_ins"
mkdir -p "$stand_ins/bin" "$stand_ins/given"
real_kubectl="$(command -v kubectl)"
cat > "$stand_ins/bin/kubectl" <<STANDIN
#!/usr/bin/env bash
[[ "\$1" == kustomize ]] && exec "$real_kubectl" "\$@"
echo "kubectl \$*" >> "$stand_ins/calls"
for a in "\$@"; do [[ -f "\$a" ]] && cp "\$a" "$stand_ins/given/"; done
exit 0
STANDIN
cat > "$stand_ins/bin/kn" <<STANDIN
#!/usr/bin/env bash
echo "kn \$*" >> "$stand_ins/calls"
for a in "\$@"; do [[ -f "\$a" ]] && cp "\$a" "$stand_ins/given/"; done
exit 0
STANDIN
chmod +x "$stand_ins/bin/"*
PATH="$stand_ins/bin:$PATH" KNLLAMA_KN="$stand_ins/bin/kn" "$KNLLAMA_ROOT/scripts/kn-deploy.sh" cpu 2>/dev/null
# Reassembled in the order of the rendering, the objects handed over are the rendered file.
first=true
for object in "$stand_ins"/given/object-*.yaml; do
  $first || echo "---"
  first=false
  cat "$object"
done > "$stand_ins/handed-over.yaml"
diff -u "$out/cpu.yaml" "$stand_ins/handed-over.yaml" >&2 || die "kn-deploy.sh did not hand over exactly the rendered cpu overlay"
for object in "$stand_ins"/given/object-*.yaml; do
  name="$(basename "$object")" tool=kubectl
  grep -qx 'apiVersion: serving.knative.dev/v1' "$object" && grep -qx 'kind: Service' "$object" && tool="kn service apply"
  grep -q "^$tool .*/$name" "$stand_ins/calls" || die "kn-deploy.sh did not hand $name to $tool"
done
services="$(grep -c '^kn service apply' "$stand_ins/calls")"
log "kn-deploy.sh checked in $(elapsed "$start"): $services Services to kn service apply, the other objects to kubectl apply"

log "all Knative manifest checks passed"
