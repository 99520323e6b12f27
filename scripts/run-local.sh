#!/usr/bin/env bash
# Runs the function on this machine, on the default model: fetches and verifies the model if needed,
# builds the function if its sources changed, and serves the OpenAI-compatible API on $PORT.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/serve.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
Serves a GGUF model over an OpenAI-compatible API on http://localhost:\$PORT.
  PORT                 port to listen on (default 8080)
  KNLLAMA_MODEL_PATH   model to serve (default: the Gemma 3 270M model from ./scripts/fetch-model.sh)
  KNLLAMA_JAVA_OPTS    extra JVM options
  Any other KNLLAMA_* setting from README.md (slots, context size, API key, ...) is passed through.
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

export PORT="${PORT:-8080}"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export JAVA_HOME="${JAVA_HOME_25:-$(find_java_home)}"

build_function_if_stale

model_id="${KNLLAMA_MODEL_ID:-$(basename "$KNLLAMA_MODEL_PATH" .gguf)}"
cat >&2 <<EXAMPLE

Serving '$model_id' on http://localhost:$PORT (ready when the log says "loaded"; Ctrl-C stops it). Try:

  curl http://localhost:$PORT/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model":"$model_id","messages":[{"role":"user","content":"What is the capital of France?"}],"temperature":0}'

EXAMPLE
# The image's start-up measures that cost nothing here (README, "Cold start"): the C1 compiler only and the serial
# collector (the token loop runs in llama.cpp, not in Java), and its trim of glibc's free memory every 5 s
# (knative/README.md#memory); the native library is extracted once and reused
# (NativeLibrary). The image's AOT cache is not: it must be trained for this very JDK and jar, and JDK 25 writes one
# only when a recording run exits, which a newcomer's Ctrl-C should not wait for. KNLLAMA_JAVA_OPTS come last, so
# they can undo any of it.
# shellcheck disable=SC2086 # KNLLAMA_JAVA_OPTS is a list of options
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:TrimNativeHeapInterval=5000 \
  ${KNLLAMA_JAVA_OPTS:-} -jar "$KNLLAMA_ROOT/function/target/function.jar"
