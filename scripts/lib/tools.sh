# shellcheck shell=bash
# Builds the Go tools the Knative checks and tests use, from the Go module proxy, into a cache outside the
# repository: manifest-check (scripts/tools/manifest-check) and Knative's queue-proxy (knative.dev/serving's
# cmd/queue, from the same module, so at the Serving release the manifests are validated against). Each
# build is keyed by the module's pinned sources and the Go version, so a second run costs nothing.
# Source it after common.sh.

KNLLAMA_TOOLS_DIR="${KNLLAMA_TOOLS_DIR:-$KNLLAMA_CACHE_DIR/tools}"

# build_go_tool NAME MODULE_DIR PACKAGE: prints the path of the binary, building it if needed.
build_go_tool() {
  local name="$1" dir="$KNLLAMA_ROOT/$2" package="$3" key bin sources=()
  command -v go >/dev/null || die "building $name needs Go (https://go.dev/dl); none is on PATH"
  # The module's own Go files are part of the build only when its own package is built; a dependency's
  # command (queue-proxy) depends on go.mod and go.sum alone, so editing manifest-check does not rebuild it.
  [[ "$package" == . ]] && sources=("$dir"/*.go)
  key="$(cat "$dir"/go.mod "$dir"/go.sum "${sources[@]}" <(go env GOVERSION) <(echo "$package") | sha256sum | cut -c1-16)"
  bin="$KNLLAMA_TOOLS_DIR/$name-$key/$name"
  if [[ ! -x "$bin" ]]; then
    mkdir -p "$KNLLAMA_TOOLS_DIR"
    (
      flock 8
      if [[ ! -x "$bin" ]]; then
        log "building $name from the Go module proxy (first run only; a few minutes)"
        # -mod=readonly: go.sum pins every module; GOTOOLCHAIN=local: no toolchain download;
        # -buildvcs=false: no VCS stamping (a worktree or a tarball of the repo has none to read).
        (cd "$dir" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$bin.tmp" "$package") \
          || die "could not build $name"
        mv -f "$bin.tmp" "$bin"
      fi
    ) 8>"$KNLLAMA_TOOLS_DIR/.$name.lock"
  fi
  printf '%s\n' "$bin"
}

manifest_check_bin() { build_go_tool manifest-check scripts/tools/manifest-check .; }

queue_proxy_bin() { build_go_tool queue-proxy scripts/tools/manifest-check knative.dev/serving/cmd/queue; }

# The kn to use: KNLLAMA_KN, else kn on PATH.
kn_bin() {
  if [[ -n "${KNLLAMA_KN:-}" ]]; then printf '%s\n' "$KNLLAMA_KN"; return; fi
  command -v kn >/dev/null || die "kn is not on PATH: install the Knative CLI (https://knative.dev/docs/client/install-kn/)"
  command -v kn
}
