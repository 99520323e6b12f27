#!/usr/bin/env bash
# Prepares what Jib builds knllama's images from, without Docker or a registry:
#   OUT/runtime/   a layer Jib adds to every image (extraDirectories): a Java runtime jlinked from
#                  the build's JDK 25 at /opt/java, and libgomp (OpenMP, which llama.cpp's JNI
#                  library needs and slim bases lack) at /opt/knllama/lib;
#   OUT/base.tar   a stand-in base image in `docker save` format (Jib reads it as tar://…): the
#                  files of this machine's Debian packages for glibc and the C++ runtime, glibc's
#                  C.UTF-8 locale, a nonroot user (65532) and /tmp, i.e. what
#                  gcr.io/distroless/cc-debian12 holds;
#   OUT/no-native/ an empty directory: the function image's /opt/knllama/native when no CUDA
#                  library is supplied (Jib wants its extra directories to exist).
#                  It is used where no registry can be reached (CI, this build); with a registry,
#                  scripts/build-images.sh uses the public bases in scripts/versions.env instead.
# Re-running is free when nothing changed (the inputs are hashed into OUT/stamp).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [OUT_DIR]
Writes OUT_DIR/runtime/ and OUT_DIR/base.tar (default OUT_DIR: target/image-base).
USAGE
}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
(( $# <= 1 )) || { usage; exit 2; }
out="${1:-$KNLLAMA_ROOT/target/image-base}"
java_home="$(find_java_home)"
command -v dpkg-query >/dev/null || die "the stand-in base is made from Debian packages; this is not a Debian system"

key="$( { cat "${BASH_SOURCE[0]}" "$KNLLAMA_ROOT/scripts/versions.env"; cat "$java_home/release";
          dpkg-query -W "${IMAGE_BASE_PACKAGES[@]}" libc-bin libgomp1; } | sha256sum | cut -c1-16)"
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$key" && -f "$out/base.tar" && -d "$out/runtime" && -d "$out/no-native" ]]; then
  exit 0
fi
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
# Another build (a parallel Maven module) may have finished it while this one waited.
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$key" && -f "$out/base.tar" && -d "$out/runtime" && -d "$out/no-native" ]]; then
  exit 0
fi
rm -rf "$out/runtime" "$out/no-native" "$out/base.tar" "$out/stamp" "$out/work"
work="$out/work"
mkdir -p "$work/rootfs" "$out/runtime/opt/knllama/lib" "$out/no-native"

log "jlinking a Java runtime from $java_home"
"$java_home/bin/jlink" --add-modules "$IMAGE_JAVA_MODULES" --strip-debug --no-header-files \
  --no-man-pages --compress=zip-6 --generate-cds-archive --output "$out/runtime/opt/java"
cp -L "$(dpkg -L libgomp1 | grep '/libgomp\.so\.1$' | head -1)" "$out/runtime/opt/knllama/lib/libgomp.so.1"

log "assembling the stand-in base from ${IMAGE_BASE_PACKAGES[*]}"
rootfs="$work/rootfs"
# Debian's merged /usr: /lib, /bin, … are links into /usr, as in the packages' own images.
mkdir -p "$rootfs"/{usr/bin,usr/lib,usr/lib64,usr/sbin,etc,tmp,home/nonroot}
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$rootfs/$d"; done
while IFS= read -r file; do
  # Files and links only (directories are made as needed); skip what the package lists but lacks.
  if [[ ! -e "$file" && ! -L "$file" ]] || [[ -d "$file" && ! -L "$file" ]]; then continue; fi
  case "$file" in /usr/share/doc/*|/usr/share/lintian/*|/usr/share/man/*|/usr/share/locale/*|/usr/share/gdb/*) continue ;; esac
  dest="$rootfs$(realpath "$(dirname "$file")")"
  mkdir -p "$dest"
  cp -a "$file" "$dest/"
done < <(dpkg -L "${IMAGE_BASE_PACKAGES[@]}"; dpkg -L libc-bin | grep '^/usr/lib/locale/C.utf8')
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
chmod 1777 "$rootfs/tmp"
chown 65532:65532 "$rootfs/home/nonroot"
ldconfig -r "$rootfs" 2>/dev/null || true

# Every shared library the runtime and the JNI library need must be in base + runtime.
# (On a fresh machine the binding is not downloaded yet when model-cache builds: then only the runtime is checked.)
jar="$( { find "${MAVEN_REPO:-$HOME/.m2/repository}/de/kherud/llama" -name "llama-*.jar" ! -name '*-cuda*' 2>/dev/null || true; } | sort | tail -1)"
if [[ -n "$jar" ]]; then
  unzip -q -o -d "$work/jni" "$jar" 'de/kherud/llama/Linux/x86_64/libjllama.so'
fi
# (The X11 and sound back ends of java.desktop are never loaded by a headless server: skipped.)
mkdir -p "$work/jni"
missing="$(find "$out/runtime" "$work/jni" -type f \( -name '*.so*' -o -path '*/bin/*' \) \
    ! -name libawt_xawt.so ! -name libjawt.so ! -name libjsound.so ! -name libsplashscreen.so -print0 2>/dev/null \
  | xargs -0 -r ldd 2>/dev/null | awk '/=>/ {print $1}' | sort -u | while read -r lib; do
      [[ -n "$(find "$rootfs/usr/lib" "$out/runtime" -name "$lib" -print -quit)" ]] || echo "$lib"
    done)"
[[ -z "$missing" ]] || die "libraries missing from the base image: $missing"

log "packing base.tar"
mkdir -p "$work/image"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/image/layer.tar" .
diff_id="sha256:$(sha256_of "$work/image/layer.tar")"
cat > "$work/image/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"User":"65532:65532","WorkingDir":"/home/nonroot",
           "Labels":{"io.knllama.base":"stand-in: $(dpkg-query -W -f '${Package}=${Version} ' "${IMAGE_BASE_PACKAGES[@]}")"}},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/image-base.sh"}]}
JSON
printf '[{"Config":"config.json","RepoTags":["knllama/base:stand-in"],"Layers":["layer.tar"]}]\n' > "$work/image/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/image" -cf "$out/base.tar.tmp" manifest.json config.json layer.tar
mv "$out/base.tar.tmp" "$out/base.tar"
rm -rf "$work"
printf '%s\n' "$key" > "$out/stamp"
log "base image: $out/base.tar ($(du -h "$out/base.tar" | cut -f1)); runtime layer: $out/runtime ($(du -sh "$out/runtime" | cut -f1))"
