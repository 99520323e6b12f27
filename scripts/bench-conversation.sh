#!/usr/bin/env bash
# Multi-turn conversations, side by side in one run: the function with prompt reuse on and off, a current
# llama-server and (where it builds here) Ollama, one server at a time on the same model, threads and slots, each
# holding 1 and then 2 conversations at once of 10 turns whose history grows past 2,000 tokens. Prints the time to
# first token per turn and the total time per conversation, with each server's ratio to the first, and records
# the builds compared (versions, and the instruction sets each CPU backend was compiled for).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$KNLLAMA_ROOT/scripts/lib/serve.sh"
source "$KNLLAMA_ROOT/scripts/lib/peers.sh"
source "$KNLLAMA_ROOT/scripts/lib/python.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h]
  KNLLAMA_CONV_TARGETS        servers in order, the first the reference for the ratios (default
                              knllama-reuse,knllama-no-reuse,llama-server,ollama): knllama-reuse and knllama-no-reuse
                              run the function with \$KNLLAMA_CONV_REUSE_SETTING (default KNLLAMA_MODEL_PROMPT_CACHE)
                              true and false; ollama is skipped, with the reason, where it does not build
  KNLLAMA_CONV_CONCURRENCY    concurrent conversations, one run per level and server (default 1,2)
  KNLLAMA_CONV_TURNS          turns per conversation (default 10); KNLLAMA_CONV_MAX_TOKENS per answer (default 96)
  KNLLAMA_CONV_REPEATS        conversations per client, one after another (default 1)
  KNLLAMA_CONV_API            completions (default: the same transcript text to every server) or chat
  KNLLAMA_MODEL_PATH          model (default: ./scripts/fetch-model.sh's Gemma 3 270M Q4_K_M)
  KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2), KNLLAMA_MODEL_CONTEXT_SIZE (4096 per slot): every server
  KNLLAMA_BENCH_JAVA_OPTS     extra JVM options for the function; KNLLAMA_LLAMA_SERVER_ARGS extra llama-server arguments
  KNLLAMA_BENCH_OUT           results directory (default bench-results/conversation-<time>)
Output: a summary per server and level (k6), builds.txt, conversation.json and conversation.png, the table on stdout.
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# == 0 )) || { usage; exit 2; }

IFS=, read -ra targets <<<"${KNLLAMA_CONV_TARGETS:-knllama-reuse,knllama-no-reuse,llama-server,ollama}"
IFS=, read -ra levels <<<"${KNLLAMA_CONV_CONCURRENCY:-1,2}"
reuse_setting="${KNLLAMA_CONV_REUSE_SETTING:-KNLLAMA_MODEL_PROMPT_CACHE}"
[[ "$reuse_setting" =~ ^KNLLAMA_[A-Z0-9_]+$ ]] || die "KNLLAMA_CONV_REUSE_SETTING '$reuse_setting' is not a KNLLAMA_* setting"
out="${KNLLAMA_BENCH_OUT:-bench-results/conversation-$(date +%Y%m%d-%H%M%S)}"
export KNLLAMA_MODEL_PATH="${KNLLAMA_MODEL_PATH:-$("$KNLLAMA_ROOT/scripts/fetch-model.sh")}"
export KNLLAMA_ENGINE_SLOTS="${KNLLAMA_ENGINE_SLOTS:-2}" KNLLAMA_ENGINE_THREADS="${KNLLAMA_ENGINE_THREADS:-2}"
export KNLLAMA_MODEL_CONTEXT_SIZE="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}"
k6="$("$KNLLAMA_ROOT/scripts/k6/install.sh")"
python="$(matplotlib_python)"
mkdir -p "$out"
trap 'stop_function; stop_peer' EXIT

ran=()
builds="$out/builds.txt"
: >"$builds"
for target in "${targets[@]}"; do
  case "$target" in
    knllama-reuse|knllama-no-reuse)
      [[ "$target" == knllama-reuse ]] && reuse=true || reuse=false
      grep -q '^knllama' "$builds" || binding_build >>"$builds"
      export "$reuse_setting=$reuse"
      start_function "$(free_port)" "$out/$target.log"
      url="$FUNCTION_URL"
      model="$(basename "$KNLLAMA_MODEL_PATH" .gguf)"
      ;;
    llama-server|llama-server-7841fc7|ollama)
      peer_available "$target" || continue
      peer_build "$target" >>"$builds"
      start_peer "$target" "$(free_port)" "$out/$target.log"
      url="$PEER_URL"
      model="$PEER_MODEL"
      ;;
    *) die "unknown target '$target' (knllama-reuse, knllama-no-reuse, ${PEERS[*]})" ;;
  esac
  offset=0 # each level's conversations have their own text, so none finds a cache left by the level before
  for n in "${levels[@]}"; do
    log "$target: $n conversation(s) of ${KNLLAMA_CONV_TURNS:-10} turns"
    KNLLAMA_CONV_URL="$url" KNLLAMA_CONV_MODEL="$model" KNLLAMA_CONV_TARGET="$target" KNLLAMA_CONV_CONVERSATIONS="$n" \
      KNLLAMA_CONV_OFFSET="$offset" \
      KNLLAMA_CONV_SUMMARY="$out/$target-n$n.summary.json" "$k6" run --quiet "$KNLLAMA_ROOT/scripts/k6/conversation.js" \
      || die "$target: the conversation run failed (see above and $out/$target.log)"
    offset=$((offset + n * ${KNLLAMA_CONV_REPEATS:-1}))
  done
  ran+=("$target")
  # Which of Ollama's CPU backends it chose for this CPU.
  [[ "$target" != ollama ]] || grep -m1 -o 'loaded CPU backend from .*' "$out/$target.log" | sed 's/^/  ollama /' >>"$builds" || true
  stop_function
  stop_peer
done
unset "$reuse_setting"
{
  echo "model: $(basename "$KNLLAMA_MODEL_PATH"), sha256 $(sha256_of "$KNLLAMA_MODEL_PATH"); $KNLLAMA_ENGINE_SLOTS slots x $KNLLAMA_MODEL_CONTEXT_SIZE tokens, $KNLLAMA_ENGINE_THREADS threads"
  echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$KNLLAMA_ROOT" rev-parse --short HEAD)"
} >>"$builds"
"$python" "$KNLLAMA_ROOT/scripts/lib/bench_report.py" conversation "$out" --targets "$(IFS=,; echo "${ran[*]}")" | tee "$out/conversation.txt"
