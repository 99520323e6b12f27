# shellcheck shell=bash
# Starting and stopping the function for benchmarks, and the model as a pod finds it (publish_model). Source it
# after common.sh.
# One function per script at a time: FUNCTION_PID and FUNCTION_URL describe it.

FUNCTION_PID=""
FUNCTION_URL=""

# A free TCP port on 127.0.0.1 (the kernel picks it; a race with another process is possible but harmless here).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Builds function/target/function.jar (not the images) when it is missing or older than its sources.
build_function_if_stale() {
  local jar="$KNLLAMA_ROOT/function/target/function.jar" stale
  stale="$( [[ -f "$jar" ]] && find "$KNLLAMA_ROOT/pom.xml" "$KNLLAMA_ROOT/function" "$KNLLAMA_ROOT/model-cache/gguf/src/main" \
    -path '*/target' -prune -o -newer "$jar" -type f -print -quit || echo missing)"
  if [[ -n "$stale" ]]; then
    log "building the function jar (the first build downloads Maven and the dependencies: a few minutes)"
    (cd "$KNLLAMA_ROOT" && ./mvnw -q -B -pl function -am package -DskipTests -Dknllama.images.skip) || die "the function did not build"
  fi
}

# model_cache_jar: prints the model-cache jar's path: KNLLAMA_MODEL_CACHE_JAR where set (the function's build sets it to
# the jar it has just built), else the one under model-cache/target, built first when it is missing.
model_cache_jar() {
  local jar="${KNLLAMA_MODEL_CACHE_JAR:-}"
  if [[ -n "$jar" ]]; then
    [[ -f "$jar" ]] || die "no model-cache jar at $jar (KNLLAMA_MODEL_CACHE_JAR)"
    printf '%s\n' "$jar"
    return
  fi
  jar="$(ls "$KNLLAMA_ROOT"/model-cache/target/model-cache-*[0-9T].jar 2>/dev/null | head -n1 || true)"
  if [[ -z "$jar" ]]; then
    log "building the model-cache jar"
    (cd "$KNLLAMA_ROOT" && ./mvnw -B -q -pl model-cache -am package -DskipTests -Dknllama.images.skip) >&2 || die "model-cache did not build"
    jar="$(ls "$KNLLAMA_ROOT"/model-cache/target/model-cache-*[0-9T].jar | head -n1)"
  fi
  printf '%s\n' "$jar"
}

# publish_model MODEL DIR KEY LOG: what the init container does in a pod: model-cache copies MODEL into DIR, checks it
# and publishes it with a check record signed by KEY (the key both containers get from one Secret). Prints the
# published file's path; model-cache's output goes to LOG. Callers take the path with $(...), where set -e does not
# reach: each step that can fail ends the subshell, and the caller's assignment fails with it.
publish_model() {
  local model dir="$2" key="$3" log_file="$4" java jar
  model="$(realpath "$1")" || exit 1 # model-cache takes an absolute file: URI
  java="$(find_java_home)/bin/java" || exit 1
  jar="$(model_cache_jar)" || exit 1
  KNLLAMA_MODEL_SOURCE="file://$model" KNLLAMA_MODEL_DIR="$dir" KNLLAMA_MODEL_RECORD_KEY="$key" \
    "$java" -jar "$jar" >"$log_file" 2>&1 \
    || { tail -n 5 "$log_file" >&2; die "model-cache could not publish $model; see $log_file"; }
  printf '%s\n' "$dir/$(basename "$model")"
}

# A record key as the manifests' Secret holds one (model-cache wants at least 32 characters).
random_record_key() {
  printf 'record-key-%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
}

# The function's log line when it took the check record instead of checking the model itself (grep -F).
RECORD_TAKEN="skipping the per-entry vocabulary pass"

# start_function PORT LOG: starts the function on 127.0.0.1:PORT in the background, its output in LOG, and
# waits until it is ready. Settings come from the environment (KNLLAMA_MODEL_PATH, KNLLAMA_ENGINE_*...);
# KNLLAMA_BENCH_JAVA_OPTS adds JVM options. Fails, with the log's tail, if it exits or is not ready in time.
start_function() {
  local port="$1" logfile="$2" java_home
  java_home="$(find_java_home)"
  [[ -f "${KNLLAMA_MODEL_PATH:-}" ]] || die "KNLLAMA_MODEL_PATH '${KNLLAMA_MODEL_PATH:-}' is not a file"
  build_function_if_stale
  log "starting the function on 127.0.0.1:$port (model $(basename "$KNLLAMA_MODEL_PATH"), slots ${KNLLAMA_ENGINE_SLOTS:-CPUs}, threads ${KNLLAMA_ENGINE_THREADS:-CPUs}); log: $logfile"
  # shellcheck disable=SC2086 # KNLLAMA_BENCH_JAVA_OPTS is a list of options
  PORT="$port" MICRONAUT_SERVER_HOST=127.0.0.1 "$java_home/bin/java" ${KNLLAMA_BENCH_JAVA_OPTS:-} \
    -jar "$KNLLAMA_ROOT/function/target/function.jar" >"$logfile" 2>&1 &
  FUNCTION_PID=$!
  FUNCTION_URL="http://127.0.0.1:$port"
  wait_ready "$FUNCTION_URL" "${KNLLAMA_BENCH_READY_TIMEOUT:-180}" "$FUNCTION_PID" "$logfile"
}

# wait_ready URL SECONDS [PID LOG]: waits until the server at URL is ready: /health/readiness answers 200 (the
# function; it says DOWN while the model loads, when /v1/models already answers), else /health (llama-server:
# 503 while loading), else, for servers with neither route, /v1/models.
wait_ready() {
  local url="$1" timeout_s="$2" pid="${3:-}" logfile="${4:-}" deadline=$((SECONDS + $2)) route code
  while (( SECONDS < deadline )); do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      [[ -n "$logfile" ]] && tail -n 20 "$logfile" >&2
      die "the server at $url exited before it was ready"
    fi
    for route in /health/readiness /health /v1/models; do
      code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$url$route" 2>/dev/null || true)"
      [[ "$code" == 200 ]] && return 0
      [[ "$code" == 404 ]] || break # this route exists (or nothing answers yet): its answer is the one that counts
    done
    sleep 0.5
  done
  [[ -n "$logfile" ]] && tail -n 20 "$logfile" >&2
  die "$url was not ready within $timeout_s s"
}

# wait_log FILE TEXT SECONDS [PID]: waits until FILE holds a line with TEXT (a fixed string); fails (status 1, the
# log's tail shown) after SECONDS, or as soon as process PID has exited.
wait_log() {
  local file="$1" text="$2" deadline=$((SECONDS + $3)) pid="${4:-}"
  until grep -qsF -- "$text" "$file"; do
    if (( SECONDS >= deadline )) || { [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; }; then
      tail -n 20 "$file" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Stops the function started by start_function: SIGTERM (it drains, then exits), SIGKILL after 30 s.
stop_function() {
  [[ -n "$FUNCTION_PID" ]] || return 0
  if kill -0 "$FUNCTION_PID" 2>/dev/null; then
    kill -TERM "$FUNCTION_PID" 2>/dev/null || true
    local _
    for _ in $(seq 60); do
      kill -0 "$FUNCTION_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$FUNCTION_PID" 2>/dev/null; then
      log "the function did not stop within 30 s of SIGTERM; killing it"
      kill -KILL "$FUNCTION_PID" 2>/dev/null || true
    fi
  fi
  wait "$FUNCTION_PID" 2>/dev/null || true
  FUNCTION_PID=""
}

# Resident memory of a process in KiB, from /proc (the JVM's own metrics do not include native memory).
rss_kib() {
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# The image's staged files (./mvnw -pl function -am package -DskipTests writes them): /app and the Java runtime.
IMAGE_APP="$KNLLAMA_ROOT/function/target/image-app"
IMAGE_JAVA="$KNLLAMA_ROOT/target/image-base/runtime/opt/java"

# image_property NAME: the value of one of function/pom.xml's images-profile properties (knllama.image.aot): its first
# definition, the CPU image's (the CUDA profile's come later).
image_property() {
  local value
  value="$(grep -o -m 1 "<$1>[^<]*</$1>" "$KNLLAMA_ROOT/function/pom.xml" | sed 's/<[^>]*>//g')"
  [[ -n "$value" ]] || die "function/pom.xml defines no $1"
  printf '%s\n' "$value"
}

# image_jvm_options: the image's JVM options, one a line, from its entrypoint in function/pom.xml, with the image's
# paths mapped to the staged files (run from $IMAGE_APP/app, as the image runs from /app). An option written as a
# property (${knllama.image.aot}) is its value (image_property).
image_jvm_options() {
  local option
  sed -n '/<entrypoint>/,/<\/entrypoint>/p' "$KNLLAMA_ROOT/function/pom.xml" | grep -o '<arg>[^<]*</arg>' | sed 's/<\/*arg>//g' \
    | sed -e '1d' -e '/^-jar$/,$d' | while IFS= read -r option; do
        [[ ! "$option" =~ ^\$\{(knllama\.image\.[a-z.]+)\}$ ]] || option="$(image_property "${BASH_REMATCH[1]}")"
        printf '%s\n' "${option//\/opt\/knllama\/native/$IMAGE_APP/native}"
      done
}

# image_environment: the image's own KNLLAMA_* and MALLOC_* settings, VAR=value a line.
image_environment() {
  sed -n '/<environment>/,/<\/environment>/p' "$KNLLAMA_ROOT/function/pom.xml" \
    | sed -n 's|.*<\(\(KNLLAMA\|MALLOC\)_[A-Z0-9_]*\)>\([^<]*\)</.*|\1=\3|p'
}

# The memory limit the JVM sizes its heap from in the pod (the cpu overlay's: knative/base/api/300-service.yaml).
# Run on this machine, the image's options would size the heap from all of its memory instead (a 1/64 initial heap
# of 24 GiB is 384 MiB, of which ~100 MiB gets touched): benchmarks pass -XX:MaxRAM=$POD_MEMORY_LIMIT so the figures
# are the pod's. Empty: the machine's own memory.
POD_MEMORY_LIMIT="${KNLLAMA_POD_MEMORY_LIMIT-1536m}"
pod_memory_option() { [[ -z "$POD_MEMORY_LIMIT" ]] || printf '%s\n' "-XX:MaxRAM=$POD_MEMORY_LIMIT"; }
