# shellcheck shell=bash
# A Python with matplotlib ($MATPLOTLIB_VERSION from versions.env), in a venv in the tools cache, for the scripts that
# draw charts (render-dashboard.sh, the benchmarks' reports). Source it after common.sh.

# Prints the venv's python, installing matplotlib first if needed (once; safe to re-run and to run concurrently).
matplotlib_python() {
  local venv="$KNLLAMA_CACHE_DIR/tools/venv-matplotlib-$MATPLOTLIB_VERSION"
  if ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
    mkdir -p "$KNLLAMA_CACHE_DIR/tools"
    (
      flock 8
      if ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
        log "installing matplotlib $MATPLOTLIB_VERSION into $venv (first run only)"
        if ! { python3 -m venv --clear "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "matplotlib==$MATPLOTLIB_VERSION"; }; then
          rm -rf "$venv"
          die "could not install matplotlib $MATPLOTLIB_VERSION from PyPI"
        fi
      fi
    ) 8>"$KNLLAMA_CACHE_DIR/tools/.matplotlib.lock"
  fi
  printf '%s\n' "$venv/bin/python"
}
