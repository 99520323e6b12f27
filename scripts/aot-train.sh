#!/usr/bin/env bash
# Trains the JDK's ahead-of-time cache for the function image: runs the packaged function once, with
# the image's own Java runtime and JVM options (at the usual compile thresholds, which the image raises: the cache
# then records what serving compiles), on the default model as a pod finds it (published by
# model-cache with a signed check record), sends it the requests a pod serves after a cold start, and
# stops it with SIGTERM; the JVM writes the cache as it exits.
#
# The cache only works with the runtime and class path it was trained with. The image runs
# `java … -jar function.jar` from /app, so training runs the same relative `-jar function.jar` from a
# staging directory that becomes /app, with the runtime the image carries (scripts/image-base.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} FUNCTION_JAR JAVA_RUNTIME OUT_DIR
Writes OUT_DIR/app/function.jar, OUT_DIR/app/function.aot and OUT_DIR/native/libjllama.so.
  KNLLAMA_AOT_JVM_OPTIONS   JVM options for the training run (default: the image entrypoint's in function/pom.xml, all
                            but its cache, library path and compile thresholds)
  KNLLAMA_MODEL_PATH        model for the training run (default: ./scripts/fetch-model.sh); model-cache publishes
                            it with a check record first, as in a pod
  KNLLAMA_MODEL_CACHE_JAR   the model-cache jar for that (default: model-cache/target's, built when missing)
  KNLLAMA_AOT_SKIP          true: only stage the jar and library, no training run (the CUDA build)
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 3 )) || { usage; exit 2; }
jar="$1" runtime="$2"
[[ -f "$jar" ]] || die "no function jar at $jar (build it first)"
[[ -x "$runtime/bin/java" ]] || die "no Java runtime at $runtime"
runtime="$(cd "$runtime" && pwd)"
rm -rf "$3" && mkdir -p "$3/app" "$3/native"
out="$(cd "$3" && pwd)"
cp "$jar" "$out/app/function.jar"
# The cache records the jar's modification time, and Jib writes every file of the image with the time
# 1970-01-01T00:00:01Z (reproducible builds): train on a jar that already has it.
touch -d @1 "$out/app/function.jar"
# The image loads llama.cpp's library from /opt/knllama/native instead of extracting it from the jar
# into /tmp at every start. (The CUDA jar carries none: its build brings its own.)
library='de/kherud/llama/Linux/x86_64/libjllama.so'
if unzip -l "$jar" "$library" >/dev/null 2>&1; then
  unzip -q -j -o "$jar" "$library" -d "$out/native"
fi
if [[ "${KNLLAMA_AOT_SKIP:-false}" == "true" ]]; then
  log "staged $out/app/function.jar without an AOT cache (KNLLAMA_AOT_SKIP)"
  exit 0
fi

model="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
# The path a pod takes: the init container publishes the model with a check record and the function trusts it, so
# the record's classes and the JDK's HMAC are on the way to the model's load. Trained on a bare file instead, they
# came from the jar and the JDK's modules at every start (the check took ~40 ms more: scripts/PERFORMANCE.md).
# In the staging directory (not /tmp, which may be memory): only its app/ and native/ reach the image.
training_dir="$(mktemp -d "$out/published.XXXXXX")" pid=""
# One clean-up for every way out: the training JVM, if it still runs, and the model's copy.
cleanup() {
  [[ -z "$pid" ]] || kill -9 "$pid" 2>/dev/null || true
  rm -rf "$training_dir"
}
trap cleanup EXIT
trap 'exit 143' TERM # a cancelled build still runs the EXIT trap
trap 'exit 130' INT
record_key="$(random_record_key)"
model="$(publish_model "$model" "$training_dir" "$record_key" "$out/model-cache.log")"
port="$(free_port)"
if [[ -n "${KNLLAMA_AOT_JVM_OPTIONS:-}" ]]; then
  # shellcheck disable=SC2206 # a list of options
  options=(${KNLLAMA_AOT_JVM_OPTIONS})
else
  # The entrypoint's, read where they are written, less what this run sets itself (the cache to write, the library's
  # staging path) and the raised compile thresholds: at the usual ones the training run compiles what serving needs,
  # and the cache keeps that record; trained at the raised ones it records less, and the image's gain is gone.
  cache_option="$(image_property knllama.image.aot)" compile_option="$(image_property knllama.image.compile)"
  mapfile -t options < <(image_jvm_options | grep -v -x -F -e "$cache_option" -e "$compile_option" \
    | grep -v '^-Dde\.kherud\.llama\.lib\.path=')
fi
log "training the AOT cache on $(basename "$model") with: ${options[*]}"
started=$(date +%s%N)
(
  cd "$out/app"
  exec env PORT="$port" KNLLAMA_MODEL_PATH="$model" KNLLAMA_MODEL_RECORD_KEY="$record_key" KNLLAMA_ENGINE_SLOTS=2 KNLLAMA_ENGINE_THREADS=2 \
    "$runtime/bin/java" "${options[@]}" -Dde.kherud.llama.lib.path="$out/native" \
    -XX:AOTCacheOutput=function.aot -jar function.jar
) > "$out/training.log" 2>&1 &
pid=$!

base="http://127.0.0.1:$port"
wait_ready "$base" 60 "$pid" "$out/training.log"

id="$(basename "$model" .gguf)"
chat() { curl -s "$base/v1/chat/completions" -H 'Content-Type: application/json' -d "$1" >/dev/null; }
# What a pod does after a cold start: probes, a streamed and a plain chat, a completion, listings,
# metrics, an event, and a rejected request (the error path loads classes too).
for _ in 1 2 3; do
  chat "{\"model\":\"$id\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
  chat "{\"model\":\"$id\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8}"
  chat "{\"model\":\"$id\",\"messages\":[]}"
  curl -s "$base/v1/completions" -H 'Content-Type: application/json' -d "{\"model\":\"$id\",\"prompt\":\"The sea\",\"max_tokens\":4}" >/dev/null
  curl -s "$base/v1/models" "$base/metrics" "$base/health/liveness" "$base/health/readiness" >/dev/null
  curl -s "$base/" -H 'ce-specversion: 1.0' -H 'ce-id: aot-'$RANDOM -H 'ce-source: /aot' -H 'ce-type: io.knllama.prompt.v1' \
    -H 'Content-Type: application/json' -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}' >/dev/null
done

kill -TERM $pid
wait $pid || true
pid=""
grep -qF "$RECORD_TAKEN" "$out/training.log" \
  || { tail -20 "$out/training.log" >&2; die "the training run did not take the check record: the cache would miss the pod's path"; }
[[ -s "$out/app/function.aot" ]] || { tail -20 "$out/training.log" >&2; die "the JVM wrote no AOT cache"; }
log "AOT cache: $(du -h "$out/app/function.aot" | cut -f1) in $(( ($(date +%s%N) - started) / 1000000 )) ms"
