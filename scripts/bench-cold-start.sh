#!/usr/bin/env bash
# Measures the function's cold start, the number that decides scale-to-zero: time from process start
# to readiness and to the first streamed token, with the model in the page cache. Runs the image's
# own configuration (its Java runtime, /app layout, JVM options) with and without each start-up
# measure, interleaved, and prints medians.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
  RUNS                  runs per variant (default 5)
  KNLLAMA_MODEL_PATH    model (default: ./scripts/fetch-model.sh)
  KNLLAMA_BENCH_OUT     directory for the JSON result (default: target/bench)
Needs the image's staged files: ./mvnw -pl function -am package -DskipTests (the images profile writes
function/target/image-app and target/image-base).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

runs="${RUNS:-5}"
model="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
app="$KNLLAMA_ROOT/function/target/image-app"
runtime="$KNLLAMA_ROOT/target/image-base/runtime/opt/java"
[[ -f "$app/app/function.aot" && -x "$runtime/bin/java" ]] \
  || die "no staged image files: run ./mvnw -pl function -am package -DskipTests first"
out="${KNLLAMA_BENCH_OUT:-$KNLLAMA_ROOT/target/bench}"
mkdir -p "$out"
cat "$model" > /dev/null # into the page cache: the figure is for a node that has the model file cached

# The image's JVM options (function/pom.xml's entrypoint) without the three start-up measures, then each alone,
# then all of them: the image; and the image reading the model instead of mapping it.
base="--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:MaxRAMPercentage=25 -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData"
native="-Dde.kherud.llama.lib.path=$app/native"
aot="-XX:AOTCache=function.aot"
c1="-XX:TieredStopAtLevel=1"
log "cold start: $runs runs per variant, $(nproc) CPUs, $(basename "$model")"
"$(find_java_home)/bin/java" "$KNLLAMA_ROOT/scripts/bench/ColdStart.java" "$runs" "$runtime/bin/java" "$model" "$app/app/function.jar" \
  "plain=$base" \
  "native-lib=$base $native" \
  "c1=$base $c1" \
  "aot=$base $aot" \
  "aot+native-lib=$base $aot $native" \
  "image=$base $c1 $aot $native" \
  "image-no-mmap=$base $c1 $aot $native -Dknllama.model.mmap=false" \
  | tee "$out/cold-start.txt"
log "written $out/cold-start.txt"
