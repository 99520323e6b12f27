#!/usr/bin/env bash
# Sets up event-triggered prompts and batches with the kn CLI, equivalent to knative/eventing:
# an event display (dead-letter sink and stand-in consumer of answers), the knllama Broker with its
# delivery settings, the Triggers that route knllama's event types to the function, a nightly
# PingSource submitting a batch, and the SinkBinding that gives the function K_SINK for per-item
# results. Deploy the function first (scripts/kn-deploy.sh). Safe to re-run: objects that exist are
# updated, not created again. `--delete` removes them all.
#
# kn cannot give a Trigger's subscriber a path, so the scheduled-batch Trigger addresses the
# function's /events/batch by its cluster-local URL (the manifests use a reference plus `uri`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--delete] [-h]
Creates or updates knllama's eventing objects with kn (--delete removes them).
Settings (environment):
  KNLLAMA_SERVICE        the function's Service (default: knllama)
  KNLLAMA_BROKER         Broker name (default: knllama)
  KNLLAMA_NAMESPACE      namespace (default: kn's current one, else default)
  KNLLAMA_BATCH_SCHEDULE cron schedule of the nightly batch (default: "0 3 * * *", UTC)
  KNLLAMA_BATCH_DATA     the nightly batch's data (default: one example request)
  KNLLAMA_DISPLAY_IMAGE  image of the event display (default: Knative's event_display $KNATIVE_EVENT_DISPLAY_VERSION)
  KNLLAMA_KN             kn binary (default: kn on PATH, else one built from the Go module proxy)
USAGE
}
delete=false
case "${1:-}" in
  "") ;;
  --delete) delete=true ;;
  -h|--help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac
(( $# <= 1 )) || { usage; exit 2; }

service="${KNLLAMA_SERVICE:-knllama}"
broker="${KNLLAMA_BROKER:-knllama}"
display="$service-event-display"
schedule="${KNLLAMA_BATCH_SCHEDULE:-0 3 * * *}"
# (In a separate variable: a "}" inside ${VAR:-…} would end the expansion early.)
example_batch='{"requests":[{"custom_id":"daily-summary","body":{"messages":[{"role":"user","content":"Write one sentence about the sea."}],"max_tokens":48}}]}'
data="${KNLLAMA_BATCH_DATA:-$example_batch}"
image="${KNLLAMA_DISPLAY_IMAGE:-gcr.io/knative-releases/knative.dev/eventing/cmd/event_display:$KNATIVE_EVENT_DISPLAY_VERSION}"
kn="$(kn_bin)"
namespace="${KNLLAMA_NAMESPACE:-$(kubectl config view --minify -o 'jsonpath={..namespace}' 2>/dev/null || true)}"
namespace="${namespace:-default}"
ns=(--namespace "$namespace")

# upsert KIND NAME ARGS...: `kn KIND update` when the object exists, `kn KIND create` otherwise.
upsert() {
  local kind="$1" name="$2"
  shift 2
  # shellcheck disable=SC2086 # KIND may be two words (source ping)
  if "$kn" $kind describe "$name" "${ns[@]}" >/dev/null 2>&1; then
    "$kn" $kind update "$name" "${ns[@]}" "$@"
  else
    "$kn" $kind create "$name" "${ns[@]}" "$@"
  fi
}

if $delete; then
  for object in "trigger knllama-results" "source binding $service-item-results" "source ping $service-nightly-batch" \
      "trigger $service-scheduled-batches" "trigger $service-batches" "trigger $service-prompts" "broker $broker" "service $display"; do
    # shellcheck disable=SC2086
    "$kn" ${object% *} delete "${object##* }" "${ns[@]}" 2>/dev/null || log "${object} does not exist"
  done
  exit 0
fi

log "event display $display"
upsert service "$display" --image "$image" --scale-min 0 --request cpu=50m,memory=64Mi --limit memory=64Mi \
  --security-context strict

# The delivery settings every Trigger on the Broker inherits: see knative/eventing/100-broker.yaml.
delivery=(--retry 5 --backoff-policy exponential --backoff-delay PT2S --timeout PT590S --dl-sink "ksvc:$display")
log "broker $broker"
if "$kn" broker describe "$broker" "${ns[@]}" >/dev/null 2>&1; then
  "$kn" broker update "$broker" "${ns[@]}" "${delivery[@]}"
else
  "$kn" broker create "$broker" "${ns[@]}" --class MTChannelBasedBroker "${delivery[@]}"
fi

log "triggers"
upsert trigger "$service-prompts" --broker "$broker" --filter type=io.knllama.prompt.v1 --sink "ksvc:$service"
upsert trigger "$service-batches" --broker "$broker" --filter type=io.knllama.batch.v1 --sink "ksvc:$service"
upsert trigger "$service-scheduled-batches" --broker "$broker" \
  --filter type=dev.knative.sources.ping --filter knllamakind=scheduled-batch \
  --sink "http://$service.$namespace.svc.cluster.local/events/batch"
upsert trigger "knllama-results" --broker "$broker" --filter source=/knllama --sink "ksvc:$display"

log "nightly batch ($schedule UTC)"
upsert "source ping" "$service-nightly-batch" --schedule "$schedule" --data "$data" \
  --ce-override knllamakind=scheduled-batch --sink "broker:$broker"

log "K_SINK for per-item results"
upsert "source binding" "$service-item-results" --subject "Service:serving.knative.dev/v1:$service" --sink "broker:$broker"
log "done: send events to the Broker (kubectl get broker $broker -n $namespace shows its address)"
