# shellcheck shell=bash
# Builds the Go tools the Knative checks use, from the Go module proxy, into a cache outside the
# repository: kn (scripts/tools/kn) and manifest-check (scripts/tools/manifest-check). Each build is keyed by its
# pinned sources, so a second run costs nothing. Source it after common.sh.

KNLLAMA_TOOLS_DIR="${KNLLAMA_TOOLS_DIR:-$KNLLAMA_CACHE_DIR/tools}"

# build_go_tool NAME MODULE_DIR PACKAGE: prints the path of the binary, building it if needed.
build_go_tool() {
  local name="$1" dir="$KNLLAMA_ROOT/$2" package="$3" key bin
  command -v go >/dev/null || die "building $name needs Go (https://go.dev/dl); none is on PATH"
  key="$(cat "$dir"/go.mod "$dir"/go.sum "$dir"/*.go <(go env GOVERSION) | sha256sum | cut -c1-16)"
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

# The kn to use: KNLLAMA_KN, else kn on PATH, else the pinned one built from the Go module proxy.
kn_bin() {
  if [[ -n "${KNLLAMA_KN:-}" ]]; then printf '%s\n' "$KNLLAMA_KN"; return; fi
  if command -v kn >/dev/null; then command -v kn; return; fi
  pinned_kn_bin
}

pinned_kn_bin() { build_go_tool kn scripts/tools/kn knative.dev/client/cmd/kn; }

manifest_check_bin() { build_go_tool manifest-check scripts/tools/manifest-check .; }
