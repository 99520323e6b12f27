# Shared helpers for knllama's scripts. Source it; it expects `set -euo pipefail` in the caller.

KNLLAMA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "$KNLLAMA_ROOT/scripts/versions.env"

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The model cache lives outside the repository so no model is ever committed.
KNLLAMA_CACHE_DIR="${KNLLAMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/knllama}"

# Prints the home of a JDK >= $JAVA_MIN_VERSION: JAVA_HOME if it qualifies, else one under /usr/lib/jvm.
find_java_home() {
  local candidate version
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] || continue
    version="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
    if [[ "${version%%.*}" =~ ^[0-9]+$ ]] && (( ${version%%.*} >= JAVA_MIN_VERSION )); then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  die "no JDK ${JAVA_MIN_VERSION}+ found: set JAVA_HOME to one (e.g. Temurin ${JAVA_MIN_VERSION})"
}

sha256_of() { sha256sum "$1" | awk '{print $1}'; }
