#!/usr/bin/env bash
# The Knative checks that run without a cluster (tests/ runs this in `./mvnw verify`):
#  1. every overlay renders with `kubectl kustomize`;
#  2. every rendered object passes Kubernetes' and Knative's own validation, with the Knative
#     feature flags the overlay's config-features patch enables (scripts/tools/manifest-check);
#  3. kn-deploy.sh, run with `kn --target`, writes Services equivalent to the rendered cpu and gpu
#     ones (create, then update of the same file changes nothing);
#  4. knative/eventing renders and passes Knative Eventing's own validation, together with the cpu
#     overlay so the delivery timeouts are checked against the Service's; kn-events.sh, run against
#     a stand-in kn that records its commands, creates the same objects.
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
start="$(seconds)"
kubectl kustomize "$KNLLAMA_ROOT/knative/eventing" > "$out/eventing.yaml"
{ cat "$out/cpu.yaml"; echo "---"; cat "$out/eventing.yaml"; } > "$out/cpu-with-eventing.yaml"
"$checker" validate --features "$KNLLAMA_ROOT/knative/cluster/config-features.yaml" "$out/cpu-with-eventing.yaml"
grep -q "event_display:$KNATIVE_EVENT_DISPLAY_VERSION" "$out/eventing.yaml" \
  || die "knative/eventing's event_display tag differs from KNATIVE_EVENT_DISPLAY_VERSION ($KNATIVE_EVENT_DISPLAY_VERSION)"
# A stand-in kn: nothing exists yet (describe fails), and every other command is recorded.
cat > "$out/kn-recorder" <<'RECORDER'
#!/usr/bin/env bash
for a in "$@"; do [[ "$a" == describe ]] && exit 1; done
{ printf '%s\n' "$@"; echo ---; } >> "$KN_RECORD"
RECORDER
chmod +x "$out/kn-recorder"
rm -f "$out/kn-events.txt"
KN_RECORD="$out/kn-events.txt" KNLLAMA_KN="$out/kn-recorder" KNLLAMA_NAMESPACE=knllama "$KNLLAMA_ROOT/scripts/kn-events.sh" 2>/dev/null
"$checker" compare-events "$out/eventing.yaml" "$out/kn-events.txt" knllama
log "eventing checked in $(elapsed "$start")"

log "all Knative manifest checks passed"
