#!/usr/bin/env bash
# Deploys knllama with the kn CLI: creates the Knative Service, or updates it if it exists, with
# flags equivalent to knative/overlays/cpu (or gpu). Safe to re-run: an unchanged configuration
# makes no new Revision. The kustomize manifests are the other way to deploy the same Service;
# the manifest checks (scripts/check-manifests.sh) prove the two agree.
#
# kn has no flags for init containers, startup probes, a full security context, optional Secret
# references, the response-start and idle timeouts or runtimeClassName (and its tolerations flag
# is not idempotent), so those come from a small
# Service skeleton (written below) that `kn service create --filename` starts from. `kn service
# update` keeps them, so a change there (the model source, for example) needs KNLLAMA_KN_FORCE=1,
# which replaces the Service and resets its traffic to the latest Revision.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [--features] [--target FILE] [-h]
Creates or updates the knllama Knative Service with kn.
  --features      first enable the Knative features the Service needs (patches config-features in
                  knative-serving; needs cluster-admin rights; once per cluster)
  --target FILE   write the Service to FILE instead of a cluster (kn --target; nothing else is done)
Settings (environment):
  KNLLAMA_VARIANT        cpu | gpu (default: cpu)
  KNLLAMA_SERVICE        Service name (default: knllama)
  KNLLAMA_NAMESPACE      namespace (default: kn's current one)
  KNLLAMA_REGISTRY       image repository prefix (default: knllama)
  KNLLAMA_IMAGE_TAG      image tag (default: 0.1.0-SNAPSHOT; gpu adds -cuda12)
  KNLLAMA_MODEL_SOURCE   hf://org/repo/file.gguf[@rev] | https://… | file://… (default: Gemma 3 270M)
  KNLLAMA_MODEL_SHA256   pinned digest (default: the default model's)
  KNLLAMA_MODEL_FILE     file name on the model volume; KNLLAMA_MODEL_ID, KNLLAMA_MODEL_CONTEXT_SIZE,
                         KNLLAMA_MODEL_VERIFY, KNLLAMA_MODEL_EMBEDDINGS as in knative/base/knllama-model.env
  KNLLAMA_SLOTS          parallel generations = containerConcurrency (default: cpu 2, gpu 4)
  KNLLAMA_CPUS           CPU cores = generation threads (default: cpu 2, gpu 4)
  KNLLAMA_MEMORY         memory request and limit (default: cpu 1536Mi, gpu 4Gi)
  KNLLAMA_MAX_SCALE      most pods (default: 4); KNLLAMA_SCALE_DOWN_DELAY (default: 5m)
  KNLLAMA_PVC            model volume claim (default: knllama-models), created if missing with
                         KNLLAMA_PVC_SIZE (default: 2Gi) and KNLLAMA_PVC_ACCESS_MODE (default: ReadWriteMany)
  KNLLAMA_KN             kn binary (default: kn on PATH, else one built from the Go module proxy)
  KNLLAMA_KN_FORCE=1     replace an existing Service (needed when skeleton settings change)
USAGE
}

features=false target=""
while (( $# )); do
  case "$1" in
    --features) features=true ;;
    --target) [[ -n "${2:-}" ]] || { usage; exit 2; }; target="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
  shift
done

variant="${KNLLAMA_VARIANT:-cpu}"
case "$variant" in
  cpu) slots_default=2 memory_default=1536Mi tag_suffix="" gpu_layers=0 features_file=config-features.yaml ;;
  gpu) slots_default=4 memory_default=4Gi tag_suffix=-cuda12 gpu_layers=999 features_file=config-features-gpu.yaml ;;
  *) die "KNLLAMA_VARIANT must be cpu or gpu, not '$variant'" ;;
esac
service="${KNLLAMA_SERVICE:-knllama}"
registry="${KNLLAMA_REGISTRY:-knllama}"
tag="${KNLLAMA_IMAGE_TAG:-0.1.0-SNAPSHOT}"
model_source="${KNLLAMA_MODEL_SOURCE:-$DEFAULT_MODEL_HF}"
model_sha256="${KNLLAMA_MODEL_SHA256-$DEFAULT_MODEL_SHA256}"
model_file="${KNLLAMA_MODEL_FILE:-$DEFAULT_MODEL_FILE}"
model_id="${KNLLAMA_MODEL_ID:-gemma-3-270m}"
context_size="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}"
model_verify="${KNLLAMA_MODEL_VERIFY:-manifest}"
embeddings="${KNLLAMA_MODEL_EMBEDDINGS:-false}"
slots="${KNLLAMA_SLOTS:-$slots_default}"
cpus="${KNLLAMA_CPUS:-$slots_default}"
memory="${KNLLAMA_MEMORY:-$memory_default}"
max_scale="${KNLLAMA_MAX_SCALE:-4}"
scale_down_delay="${KNLLAMA_SCALE_DOWN_DELAY:-5m}"
pvc="${KNLLAMA_PVC:-knllama-models}"
[[ "$slots" =~ ^[1-9][0-9]*$ && "$cpus" =~ ^[1-9][0-9]*$ ]] || die "KNLLAMA_SLOTS and KNLLAMA_CPUS must be positive integers"

kn="$(kn_bin)"
ns_args=()
[[ -n "${KNLLAMA_NAMESPACE:-}" ]] && ns_args=(--namespace "$KNLLAMA_NAMESPACE")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# kn names the volume it makes for `--mount /models=pvc:…` after the path: models-359797fd. The
# init container, from the skeleton, mounts that same volume (writable) before kn adds it.
models_volume=models-359797fd
# For gpu, runtimeClassName (kn has no flag) and the toleration (kn's --toleration appends a
# duplicate on every update, so it is set once, here) come from the skeleton too.
gpu_skeleton=""
[[ "$variant" == gpu ]] && gpu_skeleton="      runtimeClassName: nvidia
      tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}"
cat > "$work/skeleton.yaml" <<YAML
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: $service
spec:
  template:
    spec:
      responseStartTimeoutSeconds: 120
      idleTimeoutSeconds: 60
$gpu_skeleton
      initContainers:
        - name: model-cache
          image: $registry/model-cache:$tag
          env:
            - {name: KNLLAMA_MODEL_DIR, value: /models}
            - {name: KNLLAMA_MODEL_SOURCE, value: "$model_source"}
            - {name: KNLLAMA_MODEL_SHA256, value: "$model_sha256"}
            - {name: KNLLAMA_MODEL_FILE, value: "$model_file"}
            - {name: KNLLAMA_MODEL_VERIFY, value: "$model_verify"}
            - name: HF_TOKEN
              valueFrom: {secretKeyRef: {name: knllama-secrets, key: HF_TOKEN, optional: true}}
          resources:
            requests: {cpu: 500m, memory: 256Mi}
            limits: {cpu: "1", memory: 256Mi}
          securityContext: &restricted
            runAsNonRoot: true
            runAsUser: 65532
            runAsGroup: 65532
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
          volumeMounts:
            - {name: $models_volume, mountPath: /models}
            - {name: tmp, mountPath: /tmp}
      containers:
        - name: function
          image: $registry/function:$tag$tag_suffix
          env:
            - name: KNLLAMA_API_KEY
              valueFrom: {secretKeyRef: {name: knllama-secrets, key: KNLLAMA_API_KEY, optional: true}}
          startupProbe:
            httpGet: {path: /health/liveness, port: 8080}
            periodSeconds: 2
            failureThreshold: 150
          securityContext: *restricted
YAML

# Everything kn has a flag for, on `create` and `update` alike.
# shellcheck disable=SC2054 # the commas are inside kn's flag values
flags=(
  --image "$registry/function:$tag$tag_suffix"
  --port http1:8080
  --label app.kubernetes.io/name=knllama --label app.kubernetes.io/component=function
  --scale-min 0 --scale-max "$max_scale" --scale-init 1
  --scale-metric concurrency --scale-target "$slots" --scale-utilization 70
  --concurrency-limit "$slots"
  --annotation-revision autoscaling.knative.dev/target-burst-capacity=-1
  --annotation-revision "autoscaling.knative.dev/scale-down-delay=$scale_down_delay"
  --annotation-revision serving.knative.dev/progress-deadline=900s
  --timeout 600
  --env "KNLLAMA_MODEL_PATH=/models/$model_file" --env "KNLLAMA_MODEL_ID=$model_id"
  --env "KNLLAMA_MODEL_CONTEXT_SIZE=$context_size" --env "KNLLAMA_MODEL_EMBEDDINGS=$embeddings"
  --env "KNLLAMA_MODEL_GPU_LAYERS=$gpu_layers"
  --env "KNLLAMA_ENGINE_SLOTS=$slots" --env "KNLLAMA_ENGINE_THREADS=$cpus"
  --env "KNLLAMA_ENGINE_QUEUE_CAPACITY=$slots" --env KNLLAMA_ENGINE_MAX_QUEUE_WAIT=30s
  --env KNLLAMA_ENGINE_REQUEST_TIMEOUT=570s --env KNLLAMA_SHUTDOWN_GRACE_PERIOD=25s --env KNLLAMA_EVENTS_BATCH_TIMEOUT=540s
  --request "cpu=$cpus,memory=$memory" --limit "cpu=$cpus,memory=$memory"
  --mount "/models=pvc:$pvc:readOnly=true"
  --volume tmp=ed:tmp:size=256Mi --mount /tmp=tmp
  --probe-readiness http:::/health/readiness
  --probe-liveness http:::/health/liveness
  --probe-liveness-opts PeriodSeconds=10,TimeoutSeconds=2,FailureThreshold=3
)
if [[ "$variant" == gpu ]]; then
  flags+=(
    --request nvidia.com/gpu=1 --limit nvidia.com/gpu=1
    --node-selector nvidia.com/gpu.present=true
  )
fi

if [[ -n "$target" ]]; then
  # Offline: kn writes the Service into the file (update if the file already holds it).
  if [[ -s "$target" && "${KNLLAMA_KN_FORCE:-0}" != 1 ]]; then
    "$kn" service update "$service" --target "$target" "${flags[@]}" >&2
  else
    rm -f "$target"
    "$kn" service create "$service" --target "$target" --filename "$work/skeleton.yaml" "${flags[@]}" >&2
  fi
  exit 0
fi

command -v kubectl >/dev/null || die "kubectl is needed for the model volume and the feature flags"
if $features; then
  log "enabling Knative features from knative/cluster/$features_file"
  kubectl patch configmap/config-features -n knative-serving --type merge \
    --patch-file "$KNLLAMA_ROOT/knative/cluster/$features_file"
fi

# kn manages Services only: the model volume is made with kubectl, once.
if ! kubectl get pvc "$pvc" "${ns_args[@]}" >/dev/null 2>&1; then
  log "creating PersistentVolumeClaim $pvc"
  kubectl apply "${ns_args[@]}" -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $pvc
  labels: {app.kubernetes.io/name: knllama, app.kubernetes.io/component: model-store}
spec:
  accessModes: [${KNLLAMA_PVC_ACCESS_MODE:-ReadWriteMany}]
  resources: {requests: {storage: ${KNLLAMA_PVC_SIZE:-2Gi}}}
YAML
fi

if "$kn" service describe "$service" "${ns_args[@]}" >/dev/null 2>&1 && [[ "${KNLLAMA_KN_FORCE:-0}" != 1 ]]; then
  log "updating Service $service"
  "$kn" service update "$service" "${ns_args[@]}" "${flags[@]}"
else
  log "creating Service $service (the first rollout includes the model download)"
  "$kn" service create "$service" "${ns_args[@]}" --force --filename "$work/skeleton.yaml" "${flags[@]}"
fi
"$kn" service describe "$service" "${ns_args[@]}"
