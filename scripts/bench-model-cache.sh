#!/usr/bin/env bash
# Times model-cache on the default model (Gemma 3 270M Q4_K_M, ~240 MB) served from 127.0.0.1:
# a cold pull (download, sha256 against the pinned digest, GGUF check, atomic publish), then the
# already-present fast path, then a full re-verification. Nothing leaves the loopback interface.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Serves the default model on 127.0.0.1 and times model-cache pulling it, cold and already present.
  KNLLAMA_BENCH_PORT     port for the local HTTP server (default: a free one)
  KNLLAMA_BENCH_DIR      destination directory, emptied first (default: a new temporary directory)
  KNLLAMA_BENCH_TIMEOUT  seconds allowed per model-cache run (default: 600)
  KNLLAMA_BENCH_JAVA_OPTS  JVM options for model-cache, e.g. "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" (default: none)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

timeout_s="${KNLLAMA_BENCH_TIMEOUT:-600}"
read -r -a java_opts <<<"${KNLLAMA_BENCH_JAVA_OPTS:-}"
java_home="$(find_java_home)"
model="$("$KNLLAMA_ROOT/scripts/fetch-model.sh")"
jar="$(model_cache_jar)"

port="${KNLLAMA_BENCH_PORT:-$(free_port)}"
dest="${KNLLAMA_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$dest"
rm -f "$dest/$DEFAULT_MODEL_FILE" "$dest/$DEFAULT_MODEL_FILE.manifest" "$dest"/.*.part "$dest"/.*.lock

python3 -m http.server --bind 127.0.0.1 --directory "$(dirname "$model")" "$port" >/dev/null 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  [[ -n "${KNLLAMA_BENCH_DIR:-}" ]] || rm -rf "$dest"
}
trap cleanup EXIT
for _ in $(seq 50); do
  curl -fsI "http://127.0.0.1:$port/$DEFAULT_MODEL_FILE" >/dev/null 2>&1 && break
  sleep 0.1
done

# Runs model-cache once; prints its log and, last, the wall-clock milliseconds.
pull() {
  local start end
  start=$(date +%s%N)
  timeout "$timeout_s" "$java_home/bin/java" ${java_opts[@]+"${java_opts[@]}"} -jar "$jar" \
    --source="http://127.0.0.1:$port/$DEFAULT_MODEL_FILE" --sha256="$DEFAULT_MODEL_SHA256" --dir="$dest" "$@" >&2
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}

size=$(stat -c %s "$model")
log "cold pull of $DEFAULT_MODEL_FILE ($size bytes) from http://127.0.0.1:$port into $dest"
cold_ms=$(pull)
log "second run: the model is already present"
fast_ms=$(pull)
log "third run: --verify=full re-hashes it"
full_ms=$(pull --verify=full)

[[ "$(sha256_of "$dest/$DEFAULT_MODEL_FILE")" == "$DEFAULT_MODEL_SHA256" ]] || die "the published model does not have the pinned sha256"
awk -v size="$size" -v cold="$cold_ms" -v fast="$fast_ms" -v full="$full_ms" 'BEGIN {
  printf "cold pull:        %6d ms  (%.1f MB at %.1f MB/s, JVM start included)\n", cold, size / 1e6, size / 1e6 / (cold / 1000)
  printf "already present:  %6d ms  (JVM start included; the manifest check itself is in the log above)\n", fast
  printf "full re-verify:   %6d ms\n", full
}'
