#!/usr/bin/env bash
# Cold start, the number that decides scale-to-zero, for the function and its peers in one run: from the moment
# the server process is launched to its readiness probe answering (probed as queue-proxy probes), and to the first
# streamed token of a request sent then (what Knative's activator does with the request that woke the pod), with
# the model in the page cache; the CPU time the server used until that request ended; then its resident memory
# after a fixed warm-up. Variants run interleaved (A B C A B C ...), so drift in the machine's load hits them
# alike, and the table gives medians.
#   java-jar        the function as a newcomer starts it: ./scripts/run-local.sh (java -jar with C1 and the serial GC)
#   image           the image's Java runtime and JVM options (read from function/pom.xml's entrypoint), AOT cache and
#                   pre-extracted native library, from the staged image files
#   plain, native-lib, c1, aot, aot+native-lib, image-no-mmap   the image's runtime with its start-up measures one by one
#   image+record    the image on the model as a pod finds it: published by model-cache with a signed check record
#                   (the init container's work on Knative, done once before the timing), so the function skips its
#                   per-entry vocabulary pass
#   image+key-watch the image with an API key and its Secret watched (micronaut-kubernetes' client, started 10 s after
#                   the model is loaded) through a stand-in for the Kubernetes API (lib/fake_secrets_api.py); memory
#                   is read once the watch is up
#   image-baseline  the image settings (or KNLLAMA_COLD_BASELINE_JVM_OPTIONS) on another build's staged files
#                   (KNLLAMA_COLD_BASELINE_APP: a copy of an earlier commit's function/target/image-app), to compare
#                   two builds in one run; image-baseline+record
#                   runs it on the published model as image+record does
#   llama-server    a current llama-server (lib/peers.sh); ready when /health says so
#   ollama          Ollama, where it builds here; ready when its API answers (it loads the model on the first request)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"
source "$KNLLAMA_ROOT/scripts/lib/peers.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
  RUNS                    runs per variant (default 5)
  KNLLAMA_COLD_VARIANTS   comma-separated (default java-jar,image,image+record,llama-server,ollama; also plain,
                          native-lib, c1, aot, aot+native-lib, image-no-mmap: the README's breakdown of the image's
                          start-up measures; image+key-watch, image-baseline, image-baseline+record)
  KNLLAMA_COLD_WARMUP     requests after the first token, before memory is read (default 3)
  KNLLAMA_COLD_PROBE_INTERVAL, KNLLAMA_COLD_PROBE_TIMEOUT  seconds between readiness probes and each one's limit
                          (default 0.05 and 0.1: Knative's queue-proxy while a container starts; before 2026-12-02's
                          last runs the script probed every 0.002 s with a 1 s limit)
  KNLLAMA_COLD_BASELINE_APP  the staged image files (an image-app directory) the image-baseline variants run
  KNLLAMA_COLD_BASELINE_JVM_OPTIONS  their JVM options, when that build's entrypoint had other ones, as
                          lib/serve.sh's image_jvm_options printed them for it (default: this build's); the library path
                          is pointed at the baseline's native/ either way
  KNLLAMA_MODEL_PATH      model (default: ./scripts/fetch-model.sh); KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2),
                          KNLLAMA_MODEL_CONTEXT_SIZE (4096): every variant
  KNLLAMA_POD_MEMORY_LIMIT  the JVM variants size their heap as in a pod with this memory limit (-XX:MaxRAM; default
                          1536m, the cpu overlay's; empty: this machine's memory)
  KNLLAMA_BENCH_OUT       results directory (default: target/bench)
The image variants need the image's staged files: ./mvnw -pl function -am package -DskipTests (the images profile
writes function/target/image-app and target/image-base).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

runs="${RUNS:-5}"
IFS=, read -ra variants <<<"${KNLLAMA_COLD_VARIANTS:-java-jar,image,image+record,llama-server,ollama}"
warmup="${KNLLAMA_COLD_WARMUP:-3}"
# Knative's queue-proxy probes a starting container every 50 ms, each probe given 100 ms (knative.dev/serving
# pkg/queue/readiness/probe.go: retryInterval, aggressiveProbeTimeout); probing much faster charges every server
# for answering "not yet", and a JVM, which answers from code not yet compiled, more than a C++ server.
probe_interval="${KNLLAMA_COLD_PROBE_INTERVAL:-0.05}" probe_timeout="${KNLLAMA_COLD_PROBE_TIMEOUT:-0.1}"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}" KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
export KNLLAMA_MODEL_CONTEXT_SIZE="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}"
out="${KNLLAMA_BENCH_OUT:-$KNLLAMA_ROOT/target/bench}"
app="$IMAGE_APP" runtime="$IMAGE_JAVA"
mkdir -p "$out"

base="--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:MaxRAMPercentage=25 -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData"
native="-Dde.kherud.llama.lib.path=$app/native" aot="-XX:AOTCache=function.aot" c1="-XX:TieredStopAtLevel=1"
image="$(image_jvm_options | tr '\n' ' ')"
declare -A jvm=([plain]="$base" [native-lib]="$base $native" [c1]="$base $c1" [aot]="$base $aot"
  [aot+native-lib]="$base $aot $native" [image]="$image" [image-no-mmap]="$image"
  [image+key-watch]="$image" [image+record]="$image")
baseline_app="${KNLLAMA_COLD_BASELINE_APP:-}"
if [[ -n "$baseline_app" ]]; then
  # Its own build's entrypoint options when they differ from this build's; its own native library either way.
  baseline_options=()
  # shellcheck disable=SC2086 # a list of JVM options
  for option in ${KNLLAMA_COLD_BASELINE_JVM_OPTIONS:-$image}; do
    [[ "$option" != -Dde.kherud.llama.lib.path=* ]] || option="-Dde.kherud.llama.lib.path=$baseline_app/native"
    baseline_options+=("$option")
  done
  [[ " ${baseline_options[*]} " == *" -XX:AOTCache=function.aot "* && " ${baseline_options[*]} " == *" -Dde.kherud.llama.lib.path="* ]] \
    || die "KNLLAMA_COLD_BASELINE_JVM_OPTIONS must hold -XX:AOTCache=function.aot and -Dde.kherud.llama.lib.path=… (as image_jvm_options prints them)"
  jvm[image-baseline]="${baseline_options[*]}"
  jvm[image-baseline+record]="${jvm[image-baseline]}"
fi
# Every request carries a key; the servers without one ignore it, image+key-watch requires it.
api_key="bench-key-0123456789abcdef"

for variant in "${variants[@]}"; do
  case "$variant" in
    java-jar) build_function_if_stale ;;
    llama-server|llama-server-7841fc7) peer_available "$variant" ;;
    ollama) peer_available ollama || variants=("${variants[@]/ollama}") ;;
    image-baseline|image-baseline+record) [[ -f "$baseline_app/app/function.jar" ]] || die "$variant needs KNLLAMA_COLD_BASELINE_APP (see -h)" ;;
    *) [[ -n "${jvm[$variant]:-}" ]] || die "unknown variant '$variant' (see -h)"
       [[ -f "$app/app/function.aot" && -x "$runtime/bin/java" ]] \
         || die "variant $variant needs the image's staged files: run ./mvnw -pl function -am package -DskipTests first" ;;
  esac
done
read -ra variants <<<"${variants[*]}" # without the skipped ones

server_pid="" api_pid=""
trap 'stop_peer; PEER_PID="$server_pid" stop_peer; [[ -z "$api_pid" ]] || kill "$api_pid" 2>/dev/null' EXIT
if [[ " ${variants[*]} " == *" image+key-watch "* ]]; then
  api_port="$(free_port)"
  python3 "$KNLLAMA_ROOT/scripts/lib/fake_secrets_api.py" "$api_port" bench knllama-api-key "$api_key" &
  api_pid=$!
fi
if [[ " ${variants[*]} " == *"+record "* ]]; then
  record_key="$(random_record_key)"
  rm -rf "$out/published"
  published="$(publish_model "$KNLLAMA_MODEL_PATH" "$out/published" "$record_key" "$out/model-cache.log")"
  cat "$published" >/dev/null
fi
if [[ " ${variants[*]} " == *" ollama "* ]]; then
  start_peer ollama "$(free_port)" "$out/ollama-import.log" # the model into Ollama's store once, before any timing
  stop_peer
fi
cat "$KNLLAMA_MODEL_PATH" >/dev/null # into the page cache: the figures are for a node that has the model file cached

now_us() { echo "${EPOCHREALTIME/./}"; }

# launch VARIANT PORT LOG: starts the variant's server in the background; sets server_pid, probe, model_id and start,
# the moment the process was launched: its command and environment are worked out first, outside the timing.
launch() {
  local variant="$1" port="$2" logfile="$3" command environment
  case "$variant" in
    llama-server|llama-server-7841fc7|ollama)
      mapfile -d '' command < <(peer_command "$variant" "$port")
      mapfile -t environment < <(peer_environment "$variant" "$port")
      start="$(now_us)"
      env "${environment[@]}" "${command[@]}" >"$logfile" 2>&1 &
      probe="/health" model_id="$(basename "$KNLLAMA_MODEL_PATH" .gguf)"
      [[ "$variant" == ollama ]] && probe="/api/version" model_id="$OLLAMA_MODEL_NAME" ;;
    java-jar)
      # run-local.sh execs the JVM, so its pid is the server's
      start="$(now_us)"
      PORT="$port" MICRONAUT_SERVER_HOST=127.0.0.1 "$KNLLAMA_ROOT/scripts/run-local.sh" >"$logfile" 2>&1 &
      probe="/health/readiness" model_id="$(basename "$KNLLAMA_MODEL_PATH" .gguf)" ;;
    *)
      mapfile -t environment < <(image_environment)
      # As an environment variable: a system property would keep the model's load from beginning before the context.
      [[ "$variant" != image-no-mmap ]] || environment+=(KNLLAMA_MODEL_MMAP=false)
      [[ "$variant" != *+record ]] || environment+=(KNLLAMA_MODEL_PATH="$published" KNLLAMA_MODEL_RECORD_KEY="$record_key")
      [[ "$variant" != image+key-watch ]] || environment+=(KNLLAMA_API_KEY="$api_key" KNLLAMA_API_WATCHED_SECRET=knllama-api-key
        KUBERNETES_CLIENT_BASE_PATH="http://127.0.0.1:$api_port" KUBERNETES_CLIENT_NAMESPACE=bench)
      local dir="$app"
      [[ "$variant" != image-baseline* ]] || dir="$baseline_app"
      start="$(now_us)"
      # shellcheck disable=SC2086 # a list of JVM options
      (cd "$dir/app" && exec env "${environment[@]}" PORT="$port" MICRONAUT_SERVER_HOST=127.0.0.1 "$runtime/bin/java" ${jvm[$variant]} $(pod_memory_option) -jar function.jar) \
        >"$logfile" 2>&1 &
      probe="/health/readiness" model_id="$(basename "$KNLLAMA_MODEL_PATH" .gguf)" ;;
  esac
  server_pid=$!
}

# first_token URL MODEL: sends a streamed chat request and prints the time its first text arrived (µs since the epoch).
first_token() {
  local line first=""
  while IFS= read -r line; do
    [[ -z "$first" && "$line" == data:* && "$line" =~ \"(content|text)\":\"[^\"] ]] && first="$(now_us)"
  done < <(curl -sN --max-time 120 "$1/v1/chat/completions" -H 'Content-Type: application/json' -H "Authorization: Bearer $api_key" \
    -d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],\"max_tokens\":16,\"temperature\":0,\"stream\":true}")
  echo "$first"
}

log "cold start: $runs runs of ${variants[*]}; $(nproc) CPUs, $(basename "$KNLLAMA_MODEL_PATH"), warm-up $warmup requests"
printf 'run\tvariant\tready_ms\tfirst_token_ms\tcpu_ms\trss_mib\n' >"$out/cold-start-runs.tsv"
for ((i = 1; i <= runs; i++)); do
  for variant in "${variants[@]}"; do
    port="$(free_port)" logfile="$out/cold-start-$variant.log"
    launch "$variant" "$port" "$logfile"
    url="http://127.0.0.1:$port"
    until curl -fs -o /dev/null --max-time "$probe_timeout" "$url$probe"; do
      kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "$variant exited before it was ready"; }
      (( $(now_us) - start < 180000000 )) || die "$variant not ready in 180 s; see $logfile"
      sleep "$probe_interval"
    done
    ready="$(now_us)"
    first="$(first_token "$url" "$model_id")"
    [[ -n "$first" ]] || { tail -n 20 "$logfile" >&2; die "$variant streamed no token; see $logfile"; }
    cpu="$(cpu_tree_ms "$server_pid")"
    for ((w = 0; w < warmup; w++)); do
      curl -fsS -o /dev/null --max-time 120 "$url/v1/chat/completions" -H 'Content-Type: application/json' -H "Authorization: Bearer $api_key" \
        -d "{\"model\":\"$model_id\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea, part $w.\"}],\"max_tokens\":64}" \
        || die "$variant: a warm-up request failed; see $logfile"
    done
    if [[ "$variant" == image+key-watch ]]; then
      # The watch starts KNLLAMA_API_WATCH_DELAY (10 s) after the model is loaded: memory is read with it up.
      wait_log "$logfile" "Watching Secret 'bench/knllama-api-key'" 30 "$server_pid" \
        || die "image+key-watch: the watch never started; see $logfile"
      sleep 1
    fi
    if [[ "$variant" == *+record ]] && ! grep -qF "$RECORD_TAKEN" "$logfile"; then
      tail -n 20 "$logfile" >&2; die "$variant: the function did not take the check record; see $logfile"
    fi
    rss="$(rss_tree_mib "$server_pid")"
    PEER_PID="$server_pid" stop_peer
    server_pid=""
    printf '%d\t%s\t%d\t%d\t%d\t%d\n' "$i" "$variant" $(((ready - start) / 1000)) $(((first - start) / 1000)) "$cpu" "$rss" | tee -a "$out/cold-start-runs.tsv" >&2
  done
done
python3 "$KNLLAMA_ROOT/scripts/lib/bench_report.py" cold-start "$out/cold-start-runs.tsv" | tee "$out/cold-start.txt"
log "written $out/cold-start.txt and cold-start-runs.tsv"
