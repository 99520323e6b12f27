#!/usr/bin/env bash
# The Knative checks that run without a cluster (tests/ runs this in `./mvnw verify`):
#  1. every overlay renders with `kubectl kustomize`;
#  2. every rendered object passes Kubernetes' and Knative's own validation, with the Knative
#     feature flags the overlay's config-features patch enables (scripts/tools/manifest-check);
#  3. kn-deploy.sh, run with `kn --target`, writes Services equivalent to the rendered cpu and gpu
#     ones (create, then update of the same file changes nothing).
# The Go tools are built from the Go module proxy on first use and cached (scripts/lib/tools.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [OUT_DIR]
Renders, validates and compares knllama's Knative manifests; writes them to OUT_DIR
(default: target/manifests) and exits non-zero on the first failing step.
  KNLLAMA_TOOLS_DIR  where the Go tools are cached (default: $KNLLAMA_TOOLS_DIR)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# <= 1 )) || { usage; exit 2; }
out="${1:-$KNLLAMA_ROOT/target/manifests}"
mkdir -p "$out"
command -v kubectl >/dev/null || die "kubectl is needed to render the overlays (Debian: apt-get install kubectl)"

seconds() { date +%s%N; }
elapsed() { local ms=$((($(seconds) - $1) / 1000000)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }

start="$(seconds)"
checker="$(manifest_check_bin)"
kn="$(pinned_kn_bin)"
log "tools ready in $(elapsed "$start")"

# overlay -> the config-features patch a cluster needs for it
declare -A features=([cpu]=config-features.yaml [gpu]=config-features-gpu.yaml [local]=config-features.yaml)
for overlay in cpu gpu local; do
  start="$(seconds)"
  kubectl kustomize "$KNLLAMA_ROOT/knative/overlays/$overlay" > "$out/$overlay.yaml"
  log "rendered $overlay in $(elapsed "$start") -> $out/$overlay.yaml"
  start="$(seconds)"
  "$checker" validate --features "$KNLLAMA_ROOT/knative/cluster/${features[$overlay]}" "$out/$overlay.yaml"
  log "validated $overlay in $(elapsed "$start")"
done

for variant in cpu gpu; do
  start="$(seconds)"
  target="$out/kn-$variant.yaml"
  rm -f "$target"
  KNLLAMA_KN="$kn" KNLLAMA_VARIANT="$variant" "$KNLLAMA_ROOT/scripts/kn-deploy.sh" --target "$target" 2>/dev/null
  "$checker" compare "$out/$variant.yaml" "$target"
  # Re-running is an update of the existing Service: it must leave it as it was.
  cp "$target" "$target.first"
  KNLLAMA_KN="$kn" KNLLAMA_VARIANT="$variant" "$KNLLAMA_ROOT/scripts/kn-deploy.sh" --target "$target" 2>/dev/null
  "$checker" compare "$out/$variant.yaml" "$target"
  "$checker" validate --features "$KNLLAMA_ROOT/knative/cluster/${features[$variant]}" "$target" >/dev/null
  log "kn-deploy.sh ($variant) checked in $(elapsed "$start")"
done
log "all Knative manifest checks passed"
