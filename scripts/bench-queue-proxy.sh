#!/usr/bin/env bash
# The time Knative's data path adds to the first streamed chunk, without a cluster: the function on 127.0.0.1 and
# Knative's queue-proxy (built from knative.dev/serving at the pinned version, scripts/build-tools.sh) in front of
# it, each with the environment Knative's own code derives from the rendered cpu overlay (manifest-check
# queue-env, as tests/.../QueueProxyIT runs them, but with the manifests' real timeouts); then one client
# alternates the same streamed completion between the two (scripts/k6/queue-proxy.js) and prints time to first
# chunk on each path and the difference. Prints figures; records nothing.
# queue-proxy binds the fixed ports 8022 and 9090: nothing else may hold them (QueueProxyIT, another run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"
source "$KNLLAMA_ROOT/scripts/lib/tools.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Prints time to first streamed chunk directly and through queue-proxy, and what queue-proxy adds.
  KNLLAMA_BENCH_REQUESTS    measured requests per path (default 30; 2 more per path warm up, unmeasured)
  KNLLAMA_BENCH_MAX_TOKENS  tokens per answer (default 16)
  KNLLAMA_MODEL_PATH        model (default: ./scripts/fetch-model.sh's)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }
command -v kubectl >/dev/null || die "kubectl is needed to render the overlay (Debian: apt-get install kubectl)"
for port in 8022 9090; do
  if python3 -c 'import socket, sys; s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1])))' "$port" 2>/dev/null; then :; else
    die "port $port is taken, and queue-proxy binds it (another queue-proxy running?)"
  fi
done

k6="$("$KNLLAMA_ROOT/scripts/k6/install.sh")"
checker="$(manifest_check_bin)"
queue_proxy="$(queue_proxy_bin)"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"

work="$(mktemp -d)"
queue_pid=""
cleanup() {
  if [[ -n "$queue_pid" ]]; then
    kill -KILL "$queue_pid" 2>/dev/null || true
    wait "$queue_pid" 2>/dev/null || true
  fi
  stop_function
  rm -rf "$work"
}
trap cleanup EXIT

kubectl kustomize "$KNLLAMA_ROOT/knative/overlays/cpu" > "$work/cpu.yaml"
user_port="$(free_port)"
"$checker" queue-env --features "$KNLLAMA_ROOT/knative/cluster/config-features.yaml" --user-port "$user_port" \
  "$work/cpu.yaml" knllama > "$work/pod.json"

model_id=""
# The function's environment from the pod (the model path is this machine's), as shell assignments.
# shellcheck disable=SC1090 # generated
source <(python3 - "$work/pod.json" <<'PY'
import json, shlex, sys
pod = json.load(open(sys.argv[1]))
for key, value in pod["functionEnv"].items():
    if key not in ("KNLLAMA_MODEL_PATH", "PORT"):
        print(f"export {key}={shlex.quote(value)}")
print(f"model_id={shlex.quote(pod['functionEnv']['KNLLAMA_MODEL_ID'])}")
PY
)
start_function "$user_port" "$work/function.log"

queue_port="$(free_port)"
mapfile -t queue_env < <(python3 - "$work/pod.json" "$queue_port" "$(free_port)" <<'PY'
import json, sys
env = json.load(open(sys.argv[1]))["queueEnv"]
env["QUEUE_SERVING_PORT"], env["QUEUE_SERVING_TLS_PORT"] = sys.argv[2], sys.argv[3]
for key, value in env.items():
    print(f"{key}={value}".replace("\n", " "))
PY
)
env -i "${queue_env[@]}" "$queue_proxy" > "$work/queue-proxy.log" 2>&1 &
queue_pid=$!
queue_url="http://127.0.0.1:$queue_port"
# Ready as the kubelet sees it: Knative's probe header and the kubelet's user agent (queue-proxy proxies the rest).
for _ in $(seq 60); do
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -H 'K-Network-Probe: queue' -A kube-probe/1.34 "$queue_url/" 2>/dev/null || true)"
  [[ "$code" == 200 ]] && break
  kill -0 "$queue_pid" 2>/dev/null || { tail -n 20 "$work/queue-proxy.log" >&2; die "queue-proxy exited"; }
  sleep 0.5
done
[[ "$code" == 200 ]] || { tail -n 20 "$work/queue-proxy.log" >&2; die "queue-proxy did not report ready"; }
log "function on $FUNCTION_URL, queue-proxy on $queue_url; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

"$k6" run --quiet --no-usage-report \
  -e KNLLAMA_BENCH_DIRECT_URL="$FUNCTION_URL" -e KNLLAMA_BENCH_QUEUE_PROXY_URL="$queue_url" -e KNLLAMA_BENCH_MODEL="$model_id" \
  -e KNLLAMA_BENCH_REQUESTS="${KNLLAMA_BENCH_REQUESTS:-30}" -e KNLLAMA_BENCH_MAX_TOKENS="${KNLLAMA_BENCH_MAX_TOKENS:-16}" \
  "$KNLLAMA_ROOT/scripts/k6/queue-proxy.js"
