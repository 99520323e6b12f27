#!/usr/bin/env bash
# Measures the function's memory with the model loaded, in the image's configuration (its Java
# runtime, JVM options, environment and AOT cache, the heap sized as in a pod of the cpu overlay): resident
# memory split into file-backed pages (the memory-mapped model, shared through the page cache) and anonymous
# memory (KV cache, llama.cpp buffers, the JVM), against the model file's size, after start-up and after a
# burst of requests; then the JVM's own share by Native Memory Tracking (what is not in it is llama.cpp's).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
  KNLLAMA_MODEL_PATH          model (default: ./scripts/fetch-model.sh)
  KNLLAMA_ENGINE_SLOTS        slots (default 2); KNLLAMA_MODEL_CONTEXT_SIZE (default 4096)
  REQUESTS                    requests in the burst (default 20)
  KNLLAMA_POD_MEMORY_LIMIT    the heap is sized as in a pod with this memory limit (default 1536m; empty: this machine's)
  KNLLAMA_BENCH_OUT           directory for the result (default: target/bench)
Needs the image's staged files (./mvnw -pl function -am package -DskipTests).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

model="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
app="$IMAGE_APP" runtime="$IMAGE_JAVA"
jcmd="$(find_java_home)/bin/jcmd" # the image's runtime has no jdk.jcmd
[[ -f "$app/app/function.jar" && -x "$runtime/bin/java" ]] || die "no staged image files: run ./mvnw -pl function -am package -DskipTests"
slots="${KNLLAMA_ENGINE_SLOTS:-2}" context="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}" requests="${REQUESTS:-20}"
out="${KNLLAMA_BENCH_OUT:-$KNLLAMA_ROOT/target/bench}"
mkdir -p "$out"
port="$(free_port)"

mapfile -t options < <(image_jvm_options; pod_memory_option)
mapfile -t environment < <(image_environment)
(
  cd "$app/app"
  exec env "${environment[@]}" PORT="$port" KNLLAMA_MODEL_PATH="$model" KNLLAMA_ENGINE_SLOTS="$slots" KNLLAMA_ENGINE_THREADS=2 \
    KNLLAMA_MODEL_CONTEXT_SIZE="$context" "$runtime/bin/java" "${options[@]}" -XX:NativeMemoryTracking=summary -jar function.jar
) > "$out/memory-function.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
wait_ready "$base" 60 "$pid" "$out/memory-function.log"

kib() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$pid/status"; }
heap() { curl -s "$base/metrics" | awk '/^jvm_memory_used_bytes\{.*area="heap"/ {sum += $NF} END {printf "%d", sum / 1024}'; }
row() { printf '%-22s %10s %12s %12s %12s %10s\n' "$@"; }
sample() {
  row "$1" "$(( $(kib VmRSS) / 1024 ))" "$(( $(kib RssFile) / 1024 ))" "$(( $(kib RssAnon) / 1024 ))" \
    "$(( $(kib VmHWM) / 1024 ))" "$(( $(heap) / 1024 ))"
}

id="$(basename "$model" .gguf)"
{
  printf 'model %s: %d MiB file; %s slots x %s tokens; %s\n' "$id" "$(( $(stat -c %s "$model") / 1048576 ))" "$slots" "$context" "$(date -u +%FT%TZ)"
  row "MiB" "RSS" "file-backed" "anonymous" "peak RSS" "JVM heap"
  sample "after start-up"
  export base id
  # shellcheck disable=SC2016 # expanded by the inner shell
  seq 1 "$requests" | xargs -P "$slots" -I{} sh -c 'curl -s "$base/v1/chat/completions" -H "Content-Type: application/json" \
    -d "{\"model\":\"$id\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea, part {}.\"}],\"max_tokens\":64}" >/dev/null'
  sample "after $requests requests"
  printf 'JVM options: %s (+ -XX:NativeMemoryTracking=summary)\n' "${options[*]}"
  # The JVM's committed memory by category (NMT), in MiB; the anonymous memory above it is llama.cpp's (KV cache,
  # compute buffers, vocabulary) and glibc's arenas. Committed heap is resident once touched.
  "$jcmd" "$pid" VM.native_memory summary | awk '
    /^Total:/ { match($0, /committed=[0-9]+/); printf "%-26s %8.1f\n", "NMT total committed", substr($0, RSTART + 10, RLENGTH - 10) / 1024 }
    /^-/ { name = $0; sub(/^- */, "", name); sub(/ *\(reserved.*/, "", name)
           if (match($0, /committed=[0-9]+/)) { kib = substr($0, RSTART + 10, RLENGTH - 10) + 0; if (kib >= 512) printf "  %-24s %8.1f\n", name, kib / 1024 } }
    /threads #/ { match($0, /#[0-9]+/); printf "  %-24s %8s\n", "(threads)", substr($0, RSTART + 1, RLENGTH - 1) }'
} | tee "$out/memory.txt"
