#!/usr/bin/env bash
# Brings up Knative Serving on a single-node Kubernetes on this machine, from sources alone: no image
# registry, no kind/k3s (their nodes need `docker run --privileged`, which this VM refuses). Each step
# is a link of one chain; the script stops at the first link that fails and says which and why.
#
#   build-kubernetes  kube-apiserver, -controller-manager, -scheduler, -proxy and kubelet from
#                     k8s.io/kubernetes at $CLUSTER_K8S_VERSION (Go module proxy; a scratch module
#                     maps every k8s.io staging module to v0.x, since `go install` refuses replaces)
#   build-knative     Knative Serving's activator, autoscaler, controller, queue, webhook (the module
#                     of scripts/tools/manifest-check: knative.dev/serving at the pinned version) and a pause
#   images            one static binary per image (`docker import` of a tarball, then `docker save`)
#   pki               a CA, the API server's certificate, one admin client certificate, service-account keys
#   etcd              Debian's etcd-server, on 127.0.0.1:$CLUSTER_ETCD_PORT
#   control-plane     kube-apiserver (:6443), kube-controller-manager, kube-scheduler
#   containerd        a containerd of its own (not Docker's), CNI bridge from Debian's plugins, images imported
#   kubelet           cgroup v1, cgroupfs driver; waits for the node to be Ready
#   kube-proxy        iptables mode, so Services' cluster IPs work from pods and from the host
#   knative           Serving's CRDs and core from the module's config/core, ko:// refs replaced by the local
#                     images; no networking layer (Envoy is not available here)
#   knllama           the local overlay (knative/overlays/local), its PVC on a pre-seeded hostPath volume
#   cold-start        waits for scale to zero, then times the first request through the activator
#
# Everything lives under $CLUSTER_DIR (builds, images, certificates, state, logs). Re-running skips what is
# built and running. `down` stops the processes this script started (by their pid files), removes its iptables
# rules, the chains kube-proxy and the kubelet made, and the cni0 bridge, and nothing else.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} [-h] [up [LAST_LINK] | link LINK | check | down | reset | status]
Builds what it needs and brings up a one-node Kubernetes with Knative Serving and knllama's local overlay,
link by link, up to LAST_LINK (default: cold-start); 'link LINK' runs one link alone; 'check' only checks
the prerequisites (exit 1 and what is missing when one is); 'down' stops what 'up' started (the cluster's
data stays, so 'up' resumes it); 'reset' also removes that data. Links:
  build-kubernetes build-knative images pki etcd control-plane containerd kubelet kube-proxy knative knllama cold-start
Needs root, Go, Docker (to make image tarballs), containerd and runc, containernetworking-plugins,
etcd-server, iptables, openssl (Debian: apt-get install containerd runc containernetworking-plugins
etcd-server iptables openssl), and the images of ./mvnw package in Docker (knllama/function, knllama/model-cache).
  CLUSTER_DIR            builds and state (default: $KNLLAMA_CACHE_DIR/cluster)
  CLUSTER_K8S_VERSION    k8s.io/kubernetes release (default: $CLUSTER_K8S_VERSION)
  CLUSTER_NICE           prefix for every heavy command (default: "$CLUSTER_NICE")
USAGE
}

CLUSTER_DIR="${CLUSTER_DIR:-$KNLLAMA_CACHE_DIR/cluster}"
CLUSTER_K8S_VERSION="${CLUSTER_K8S_VERSION:-$CLUSTER_KUBERNETES_VERSION}"
CLUSTER_NICE="${CLUSTER_NICE:-nice -n 19 ionice -c3}"
CLUSTER_ETCD_PORT="${CLUSTER_ETCD_PORT:-12379}"
CLUSTER_POD_CIDR="${CLUSTER_POD_CIDR:-10.244.0.0/24}"
CLUSTER_SERVICE_CIDR="${CLUSTER_SERVICE_CIDR:-10.96.0.0/16}"
CLUSTER_API_IP="${CLUSTER_API_IP:-10.96.0.1}"
CLUSTER_IMAGE_PREFIX="${CLUSTER_IMAGE_PREFIX:-dev.local}"
KNLLAMA_IMAGE_TAG="${KNLLAMA_IMAGE_TAG:-0.1.0-SNAPSHOT}"

BIN="$CLUSTER_DIR/bin/k8s-$CLUSTER_K8S_VERSION"
KN_BIN="$CLUSTER_DIR/bin/knative-$KNATIVE_SERVING_MODULE_VERSION"
PKI="$CLUSTER_DIR/pki"
STATE="$CLUSTER_DIR/state"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KUBECONFIG_FILE="$PKI/admin.kubeconfig"
CONTAINERD_SOCK="$STATE/containerd/containerd.sock"
PAUSE_IMAGE="$CLUSTER_IMAGE_PREFIX/pause:3.10"
KNATIVE_CMDS=(activator autoscaler controller queue webhook)
LINKS=(build-kubernetes build-knative images pki etcd control-plane containerd kubelet kube-proxy knative knllama cold-start)

current_link=""
on_exit() {
  local rc=$?
  if (( rc != 0 )) && [[ -n "$current_link" ]]; then
    log "STOPPED at link '$current_link' (exit $rc); logs: $LOGS"
  fi
}
trap on_exit EXIT
fail() { die "link '$current_link': $*"; }
heavy() { $CLUSTER_NICE "$@"; }
kc() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr_k8s() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
node_ip() { ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p'; }
node_name() { hostname | tr '[:upper:]' '[:lower:]'; }

# running NAME: whether the process of pid file NAME is alive.
running() { [[ -f "$PIDS/$1" ]] && alive "$(cat "$PIDS/$1")"; }
# alive PID: the process exists and is not a zombie waiting for a parent that is not this script.
alive() { local state; state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]; }

# daemon NAME COMMAND...: starts COMMAND in the background (niced), logging to $LOGS/NAME.log.
daemon() {
  local name="$1"; shift
  if running "$name"; then log "$name: already running (pid $(cat "$PIDS/$name"))"; return; fi
  mkdir -p "$LOGS" "$PIDS"
  # setsid: its own session, so `down` can stop it without touching anything else.
  setsid $CLUSTER_NICE "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name"
  log "$name: started (pid $!, log $LOGS/$name.log)"
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 2 s until it succeeds.
wait_for() {
  local what="$1" seconds="$2" start; shift 2
  start="$(date +%s)"
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) - start < seconds )) || fail "$what not reached within ${seconds}s"
    sleep 2
  done
  log "$what ($(( $(date +%s) - start )) s)"
}

check_prerequisites() {
  local missing=()
  (( EUID == 0 )) || fail "needs root (kubelet, containerd, iptables)"
  for c in go docker containerd containerd-shim-runc-v2 runc ctr etcd iptables openssl kubectl ip setsid; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -x /usr/lib/cni/bridge ]] || missing+=("/usr/lib/cni/bridge (containernetworking-plugins)")
  for c in function model-cache; do
    docker image inspect "knllama/$c:$KNLLAMA_IMAGE_TAG" >/dev/null 2>&1 || missing+=("Docker image knllama/$c:$KNLLAMA_IMAGE_TAG (./mvnw package)")
  done
  (( ${#missing[@]} == 0 )) || fail "missing: ${missing[*]}"
}

# --- build-kubernetes -------------------------------------------------------------------------------------
link_build_kubernetes() {
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet) dir minor ld c
  local have=1
  for c in "${cmds[@]}"; do [[ -x "$BIN/$c" ]] || have=0; done
  (( have )) && { log "kubernetes $CLUSTER_K8S_VERSION: built ($BIN)"; return; }
  dir="$CLUSTER_DIR/build/k8s-$CLUSTER_K8S_VERSION"
  mkdir -p "$dir" "$BIN"
  minor="${CLUSTER_K8S_VERSION#v1.}"; minor="${minor%%.*}"
  curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$CLUSTER_K8S_VERSION.mod" -o "$dir/kubernetes.mod" \
    || fail "k8s.io/kubernetes $CLUSTER_K8S_VERSION is not on the Go module proxy"
  # k8s.io/kubernetes replaces every staging module with ./staging/src/k8s.io/X; published, each is k8s.io/X v0.<minor>.<patch>.
  {
    printf 'module knllama.local/k8sbuild\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(awk '/^go /{print $2; exit}' "$dir/kubernetes.mod")" "$CLUSTER_K8S_VERSION"
    awk -v v="v0.${CLUSTER_K8S_VERSION#v1.}" '/=> \.\/staging/ {print "\t" $1 " => " $1 " " v}' "$dir/kubernetes.mod"
    printf ')\n'
  } > "$dir/go.mod"
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'; } > "$dir/tools.go"
  # The version the binaries report: Knative's controllers refuse a cluster older than their minimum.
  ld="-s -w"
  for c in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $c.gitVersion=$CLUSTER_K8S_VERSION -X $c.gitMajor=1 -X $c.gitMinor=$minor -X $c.gitTreeState=clean"
  done
  log "building kubernetes $CLUSTER_K8S_VERSION (first run only: tens of minutes on 2 cores)"
  (cd "$dir" && heavy go mod tidy && CGO_ENABLED=0 heavy go build -trimpath -ldflags "$ld" -o "$BIN/" \
      "${cmds[@]/#/k8s.io/kubernetes/cmd/}") > "$dir/build.log" 2>&1 \
    || fail "go build failed: $(tail -5 "$dir/build.log")"
}

# --- build-knative ----------------------------------------------------------------------------------------
link_build_knative() {
  local dir="$CLUSTER_DIR/build/knative-$KNATIVE_SERVING_MODULE_VERSION" have=1 c
  for c in "${KNATIVE_CMDS[@]}" pause; do [[ -x "$KN_BIN/$c" ]] || have=0; done
  (( have )) && { log "knative $KNATIVE_SERVING_MODULE_VERSION: built ($KN_BIN)"; return; }
  mkdir -p "$dir/pause" "$KN_BIN"
  # The module the manifest check already pins (knative.dev/serving at KNATIVE_SERVING_MODULE_VERSION).
  sed 's#^module .*#module knllama.local/knbuild#' "$KNLLAMA_ROOT/scripts/tools/manifest-check/go.mod" > "$dir/go.mod"
  cp "$KNLLAMA_ROOT/scripts/tools/manifest-check/go.sum" "$dir/go.sum"
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in "${KNATIVE_CMDS[@]}"; do printf '\t_ "knative.dev/serving/cmd/%s"\n' "$c"; done
    printf ')\n'; } > "$dir/tools.go"
  # The pod sandbox: waits for a signal, reaps nothing (no shared PID namespace here).
  cat > "$dir/pause/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
GO
  log "building knative serving $KNATIVE_SERVING_MODULE_VERSION (first run only: minutes)"
  (cd "$dir" && heavy go mod tidy && CGO_ENABLED=0 heavy go build -trimpath -ldflags "-s -w" -o "$KN_BIN/" \
      "${KNATIVE_CMDS[@]/#/knative.dev/serving/cmd/}" ./pause) > "$dir/build.log" 2>&1 \
    || fail "go build failed: $(tail -5 "$dir/build.log")"
}

# --- images -----------------------------------------------------------------------------------------------
# image_from_binary NAME BINARY: a one-file image (uid 65532, like distroless' nonroot), saved as a tarball.
image_from_binary() {
  local name="$1" binary="$2" ref="$CLUSTER_IMAGE_PREFIX/$1" tar="$CLUSTER_DIR/images/${1//\//_}.tar" root
  [[ -s "$tar" && "$tar" -nt "$binary" ]] && return
  root="$(mktemp -d)"
  mkdir -p "$root/ko-app" "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  cp "$binary" "$root/ko-app/"
  printf 'nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' > "$root/etc/passwd"
  tar -C "$root" -c . | docker import --change "ENTRYPOINT [\"/ko-app/$(basename "$binary")\"]" \
    --change 'USER 65532' --change 'ENV KO_DATA_PATH=/var/run/ko' - "$ref" >/dev/null
  rm -rf "$root"
  docker save -o "$tar.tmp" "$ref" && mv "$tar.tmp" "$tar"
  log "image $ref ($(du -h "$tar" | cut -f1))"
}

link_images() {
  local c id tar
  mkdir -p "$CLUSTER_DIR/images"
  image_from_binary "pause:3.10" "$KN_BIN/pause"
  for c in "${KNATIVE_CMDS[@]}"; do image_from_binary "knative/$c:$KNATIVE_SERVING_MODULE_VERSION" "$KN_BIN/$c"; done
  # knllama's images as ./mvnw package left them in Docker, saved again whenever their image ID changes.
  for c in function model-cache; do
    id="$(docker image inspect -f '{{.Id}}' "knllama/$c:$KNLLAMA_IMAGE_TAG" 2>/dev/null)" \
      || fail "knllama/$c:$KNLLAMA_IMAGE_TAG is not in Docker: build the images first (./mvnw package)"
    tar="$CLUSTER_DIR/images/knllama_$c.tar"
    if [[ ! -s "$tar" || "$(cat "$tar.id" 2>/dev/null)" != "$id" ]]; then
      docker save -o "$tar.tmp" "knllama/$c:$KNLLAMA_IMAGE_TAG" && mv "$tar.tmp" "$tar" && echo "$id" > "$tar.id"
      log "image knllama/$c:$KNLLAMA_IMAGE_TAG ($(du -h "$tar" | cut -f1))"
    fi
  done
}

# --- pki --------------------------------------------------------------------------------------------------
link_pki() {
  [[ -s "$KUBECONFIG_FILE" ]] && { log "pki: present ($PKI)"; return; }
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj /CN=knllama-cluster-ca 2>/dev/null
    cat > apiserver.ext <<EXT
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$CLUSTER_API_IP,IP:$(node_ip)
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
    # One client identity for every component: a single-node development cluster, system:masters throughout.
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 -extfile client.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  ) || fail "openssl failed"
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" set-cluster local --server=https://127.0.0.1:6443 \
    --certificate-authority="$PKI/ca.crt" --embed-certs >/dev/null
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" set-credentials admin --client-certificate="$PKI/admin.crt" \
    --client-key="$PKI/admin.key" --embed-certs >/dev/null
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" set-context local --cluster=local --user=admin >/dev/null
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" use-context local >/dev/null
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
  log "pki: $PKI (kubeconfig $KUBECONFIG_FILE)"
}

# --- etcd -------------------------------------------------------------------------------------------------
link_etcd() {
  daemon etcd etcd --name node --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$CLUSTER_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$CLUSTER_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
    --initial-cluster "node=http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" --quota-backend-bytes 2147483648
  wait_for "etcd healthy" 60 curl -fsS "http://127.0.0.1:$CLUSTER_ETCD_PORT/health"
}

# --- control-plane ----------------------------------------------------------------------------------------
link_control_plane() {
  daemon kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$CLUSTER_ETCD_PORT" \
    --advertise-address "$(node_ip)" --bind-address 0.0.0.0 --secure-port 6443 \
    --service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" --allow-privileged \
    --authorization-mode Node,RBAC --client-ca-file "$PKI/ca.crt" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --enable-admission-plugins NodeRestriction --profiling=false
  wait_for "kube-apiserver ready" 180 kc get --raw /readyz
  daemon kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --use-service-account-credentials --service-cluster-ip-range "$CLUSTER_SERVICE_CIDR" \
    --leader-elect=false --controllers '*,-cloud-node-lifecycle' --profiling=false
  daemon kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
    --authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" --leader-elect=false
  wait_for "default service account" 120 kc get serviceaccount default -n default
}

# --- containerd -------------------------------------------------------------------------------------------
link_containerd() {
  local cfg="$STATE/containerd/config.toml" t
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d"
  cat > "$cfg" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM's capability bounding set lacks CAP_SYS_RESOURCE: containers may not get a lower OOM score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
  cat > "$STATE/cni/net.d/10-knllama.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "knllama", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$CLUSTER_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$STATE/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
JSON
  # Docker sets the FORWARD policy to DROP: let pod traffic through (inserted once, removed by `down`).
  for d in -s -d; do
    iptables -C FORWARD "$d" "$CLUSTER_POD_CIDR" -j ACCEPT 2>/dev/null || iptables -I FORWARD 1 "$d" "$CLUSTER_POD_CIDR" -j ACCEPT
  done
  daemon containerd containerd --config "$cfg"
  wait_for "containerd serving" 60 ctr --address "$CONTAINERD_SOCK" version
  for t in "$CLUSTER_DIR"/images/*.tar; do
    ctr_k8s images import "$t" >/dev/null || fail "ctr import $t failed"
  done
  ctr_k8s images tag --force "docker.io/knllama/function:$KNLLAMA_IMAGE_TAG" "$CLUSTER_IMAGE_PREFIX/knllama/function:local" >/dev/null
  ctr_k8s images tag --force "docker.io/knllama/model-cache:$KNLLAMA_IMAGE_TAG" "$CLUSTER_IMAGE_PREFIX/knllama/model-cache:local" >/dev/null
  log "images in containerd: $(ctr_k8s images ls -q | grep -c "$CLUSTER_IMAGE_PREFIX")"
}

# --- kubelet ----------------------------------------------------------------------------------------------
link_kubelet() {
  local cfg="$STATE/kubelet/config.yaml"
  mkdir -p "$STATE/kubelet/root" "$STATE/kubelet/manifests"
  cat > "$cfg" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
staticPodPath: $STATE/kubelet/manifests
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $PKI/apiserver.crt
tlsPrivateKeyFile: $PKI/apiserver.key
podCIDR: $CLUSTER_POD_CIDR
failSwapOn: false
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
protectKernelDefaults: false
# Lowering an OOM score needs CAP_SYS_RESOURCE, which this VM's bounding set lacks.
oomScoreAdj: 0
localStorageCapacityIsolation: true
YAML
  daemon kubelet "$BIN/kubelet" --config "$cfg" --kubeconfig "$KUBECONFIG_FILE" --root-dir "$STATE/kubelet/root" \
    --hostname-override "$(node_name)" --node-ip "$(node_ip)"
  wait_for "node $(node_name) Ready" 180 kc wait node "$(node_name)" --for=condition=Ready --timeout=2s
}

kube_proxy_programmed() { iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q -- "-d $CLUSTER_API_IP/32"; }

# --- kube-proxy -------------------------------------------------------------------------------------------
link_kube_proxy() {
  local cfg="$STATE/kube-proxy.yaml"
  cat > "$cfg" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $CLUSTER_POD_CIDR
hostnameOverride: $(node_name)
clientConnection: {kubeconfig: $KUBECONFIG_FILE}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
YAML
  daemon kube-proxy "$BIN/kube-proxy" --config "$cfg"
  wait_for "kube-proxy programmed the kubernetes Service" 60 kube_proxy_programmed
}

# --- knative ----------------------------------------------------------------------------------------------
knative_yaml() {
  local c dirs sed_args=()
  # Serving's config/core links the CRDs and ConfigMaps of knative.dev/networking and knative.dev/caching into
  # itself with symbolic links, which module zips leave out: take them from those modules, at Serving's versions.
  dirs="$(cd "$CLUSTER_DIR/build/knative-$KNATIVE_SERVING_MODULE_VERSION" \
    && go mod download knative.dev/serving knative.dev/networking knative.dev/caching \
    && go list -m -f '{{.Dir}}' knative.dev/serving knative.dev/networking knative.dev/caching)" \
    || fail "knative.dev modules not found"
  for c in "${KNATIVE_CMDS[@]}"; do
    sed_args+=(-e "s#ko://knative.dev/serving/cmd/$c\\b#$CLUSTER_IMAGE_PREFIX/knative/$c:$KNATIVE_SERVING_MODULE_VERSION#g")
  done
  { sed -n 1p <<<"$dirs" | sed 's#$#/config/core#'; sed -n '2,3p' <<<"$dirs" | sed 's#$#/config#'; } \
    | xargs -I{} find {} -name '*.yaml' | sort | while read -r f; do printf -- '---\n'; cat "$f"; printf '\n'; done \
    | sed "${sed_args[@]}"
}

knative_rolled_out() {
  local d
  for d in activator autoscaler controller webhook; do
    kc rollout status "deployment/$d" -n knative-serving --timeout=5s || return 1
  done
}

apply_knative() {
  kc apply --server-side --force-conflicts -f "$1" > "$LOGS/knative-apply.log" 2>&1 || { sleep 3; return 1; }
}

link_knative() {
  local yaml="$STATE/knative-serving.yaml" ip
  knative_yaml > "$yaml"
  ! grep -n 'ko://' "$yaml" || fail "unreplaced ko:// image references in $yaml"
  # CRDs first (the rest refers to them), then everything; caching.internal.knative.dev Images need their CRD.
  awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} /\nkind: CustomResourceDefinition\n/' "$yaml" > "$STATE/knative-crds.yaml"
  kc apply --server-side -f "$STATE/knative-crds.yaml" >/dev/null || fail "CRDs not applied"
  kc wait --for=condition=Established --all crd --timeout=120s >/dev/null
  # The first apply starts Knative's webhook, which validates the ConfigMaps of the same file: apply again
  # until the webhook answers.
  wait_for "Knative Serving applied" 300 apply_knative "$yaml"
  kc patch configmap/config-features -n knative-serving --type merge \
    --patch-file "$KNLLAMA_ROOT/knative/cluster/config-features.yaml" >/dev/null
  # There is no cluster DNS: the activator finds the autoscaler by a host alias to its Service's cluster IP.
  ip="$(kc get service autoscaler -n knative-serving -o jsonpath='{.spec.clusterIP}')"
  kc patch deployment activator -n knative-serving --type merge -p "{\"spec\":{\"template\":{\"spec\":{\"hostAliases\":[{\"ip\":\"$ip\",\"hostnames\":[\"autoscaler.knative-serving.svc.cluster.local\",\"autoscaler.knative-serving.svc\",\"autoscaler.knative-serving\"]}]}}}}" >/dev/null
  wait_for "Knative Serving deployments rolled out" 600 knative_rolled_out
}

# --- knllama ----------------------------------------------------------------------------------------------
link_knllama() {
  local models="$STATE/volumes/knllama-models" model="$KNLLAMA_CACHE_DIR/models/$DEFAULT_MODEL_FILE"
  # local-path's stand-in: one hostPath volume of class local-path, pre-seeded with the cached model since Hugging
  # Face is not reachable from here (model-cache then verifies it against the pinned digest and writes its manifest).
  mkdir -p "$models"
  if [[ -f "$model" && ! -f "$models/$DEFAULT_MODEL_FILE" ]]; then cp "$model" "$models/"; fi
  chown -R 65532:65532 "$models"
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: knllama-models-local}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $models, type: Directory}
YAML
  kc apply -k "$KNLLAMA_ROOT/knative/overlays/local" >/dev/null || fail "kubectl apply -k knative/overlays/local failed"
  wait_for "Revision of knllama Ready" 900 kc wait revision -l serving.knative.dev/service=knllama --for=condition=Ready --timeout=5s
}

# --- cold-start -------------------------------------------------------------------------------------------
# chat ADDRESS REVISION: one short completion; prints the HTTP code and the seconds it took. The activator takes
# the Revision from the Host header of its public Service (what an ingress would otherwise tell it in
# Knative-Serving-Revision/-Namespace headers).
chat() {
  curl -sS -o "$STATE/last-answer.txt" -w '%{http_code} %{time_total}\n' --max-time 300 \
    "http://$1/v1/chat/completions" -H 'Content-Type: application/json' -H "Host: $2.default.svc.cluster.local" \
    -d '{"model":"gemma-3-270m","max_tokens":8,"messages":[{"role":"user","content":"Say hello."}]}'
}

# chat_stream ADDRESS REVISION: the same completion streamed; prints the HTTP code, seconds to the first chunk
# that carries text (the first token) and to the end of the stream, measured from here.
chat_stream() {
  local t0 line first="" answer="$STATE/last-answer.txt" content='"content":"[^"]'
  t0="$(date +%s.%N)"
  : > "$answer"; rm -f "$STATE/last-headers.txt"
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$answer"
    if [[ -z "$first" && "$line" =~ $content ]]; then first="$(awk -v t0="$t0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.2f", t - t0 }')"; fi
  done < <(curl -sS -N -D "$STATE/last-headers.txt" --max-time 300 "http://$1/v1/chat/completions" \
    -H 'Content-Type: application/json' -H "Host: $2.default.svc.cluster.local" \
    -d '{"model":"gemma-3-270m","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"Say hello."}]}')
  printf '%s %s %s\n' "$(awk 'NR == 1 { print $2 }' "$STATE/last-headers.txt")" "${first:-none}" \
    "$(awk -v t0="$t0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.2f", t - t0 }')"
}

no_pods() { [[ -z "$(kc get pods -l serving.knative.dev/service=knllama --no-headers --field-selector=status.phase!=Succeeded 2>/dev/null)" ]]; }

# since T0 TIMESTAMP: seconds from T0 (epoch seconds) to an RFC 3339 timestamp.
since() { awk -v t0="$1" -v t="$(date -d "$2" +%s.%N)" 'BEGIN { printf "%+7.2f s", t - t0 }'; }

# cold_start_breakdown T0: where the seconds of a start from zero went, from the pod's own timestamps.
cold_start_breakdown() {
  local t0="$1" pod cache function line
  # Logs read whole first: `kubectl logs | head` would end kubectl with SIGPIPE, which pipefail turns into a failure.
  pod="$(kc get pods -l serving.knative.dev/service=knllama -o jsonpath='{.items[0].metadata.name}')"
  cache="$(kc logs "$pod" -c model-cache --timestamps)"
  function="$(kc logs "$pod" -c function --timestamps)"
  printf '  %s  pod created (API, second resolution)\n' "$(since "$t0" "$(kc get pod "$pod" -o jsonpath='{.metadata.creationTimestamp}')")"
  line="$(head -1 <<<"$cache")"
  printf '  %s  model-cache started (first log line)\n' "$(since "$t0" "${line%% *}")"
  line="$(tail -1 <<<"$cache")"
  printf '  %s  model-cache done: %s\n' "$(since "$t0" "${line%% *}")" "$(sed -E 's/^[^ ]+ [^ ]+ +[A-Z]+ +//' <<<"$line" | cut -c1-100)"
  line="$(head -1 <<<"$function")"
  printf '  %s  function: JVM up (first log line)\n' "$(since "$t0" "${line%% *}")"
  line="$(grep -m1 'Startup completed' <<<"$function" || true)"
  printf '  %s  function: %s\n' "$(since "$t0" "${line%% *}")" "$(grep -o 'Startup completed in [0-9]*ms' <<<"$line")"
  line="$(grep -m1 -E "Model '.*' checked in" <<<"$function" || true)"
  printf '  %s  function: %s\n' "$(since "$t0" "${line%% *}")" "$(grep -o 'checked in [0-9]* ms, loaded in [0-9]* ms ([0-9]* ms after JVM start)' <<<"$line")"
}

link_cold_start() {
  local revision target t0 code first total
  revision="$(kc get revision -l serving.knative.dev/service=knllama -o jsonpath='{.items[-1:].metadata.name}')"
  # The Revision's public Service: its endpoints are the pod's while it runs, the activator's at zero.
  target="$(kc get service "$revision" -o jsonpath='{.spec.clusterIP}'):80"
  log "request before the idle wait, via $revision ($target): $(chat "$target" "$revision")"
  wait_for "scaled to zero after the last request" 600 no_pods
  log "endpoints of $revision at zero (the activator's): $(kc get endpoints "$revision" -o jsonpath='{.subsets[*].addresses[*].ip}' 2>/dev/null)"
  t0="$(date +%s.%N)"
  read -r code first total <<<"$(chat_stream "$target" "$revision")"
  log "first request after zero, streamed: HTTP $code, first token after $first s, 8 tokens after $total s"
  [[ "$code" == 200 && "$first" != none ]] \
    || fail "cold request failed: $code $(cut -c1-300 "$STATE/last-answer.txt")"
  log "first chunk with text: $(grep -m1 -E "$(printf '%s' '"content":"[^"]')" "$STATE/last-answer.txt" | cut -c1-300)"
  log "scale from zero, seconds after the request was sent:"
  cold_start_breakdown "$t0" >&2
  printf '  %+7.2f s  first token (first streamed chunk with text)\n  %+7.2f s  answer complete (8 tokens)\n' "$first" "$total" >&2
}

# --- down / status ----------------------------------------------------------------------------------------
# stop NAME: SIGTERM to the process group of pid file NAME, SIGKILL if it has not ended within 30 s.
stop() {
  local pid i
  if running "$1"; then
    pid="$(cat "$PIDS/$1")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 30); do alive "$pid" || break; sleep 1; done
    if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    log "$1 stopped"
  fi
  rm -f "$PIDS/$1"
}

down() {
  local name task m cmd table
  # No new pods, then the pods' sandboxes torn down by the kubelet (CNI DEL removes their addresses and rules).
  stop kube-controller-manager
  stop kube-scheduler
  if running kubelet && running kube-apiserver; then
    kc delete pods --all -A --grace-period=1 --timeout=90s >/dev/null 2>&1 || log "some pods did not end in time"
  fi
  stop kubelet
  stop kube-proxy
  [[ -x "$BIN/kube-proxy" ]] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  if running containerd; then
    for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
      ctr_k8s tasks kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
    done
    sleep 2
    for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks delete --force "$task" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  # Shims of this containerd (their command line names its socket) outlive it: stop those only.
  pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" | xargs -r kill -TERM 2>/dev/null || true
  stop kube-apiserver
  stop etcd
  # Volumes the kubelet mounted and the snapshots containerd mounted, deepest first.
  awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  for name in -s -d; do iptables -D FORWARD "$name" "$CLUSTER_POD_CIDR" -j ACCEPT 2>/dev/null || true; done
  # The kubelet's own chains (kube-proxy --cleanup leaves them): its canaries, and KUBE-FIREWALL hooked into INPUT/OUTPUT.
  for cmd in iptables ip6tables; do
    while "$cmd" -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while "$cmd" -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    for table in filter nat mangle; do
      for name in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$cmd" -t "$table" -F "$name" 2>/dev/null && "$cmd" -t "$table" -X "$name" 2>/dev/null || true
      done
    done
  done
  ip link delete cni0 2>/dev/null || true
}

status() {
  local name
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy; do
    if running "$name"; then echo "$name running (pid $(cat "$PIDS/$name"))"; else echo "$name not running"; fi
  done
  [[ -s "$KUBECONFIG_FILE" ]] && echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

up() {
  local last="${1:-cold-start}" link start
  [[ " ${LINKS[*]} " == *" $last "* ]] || { usage; exit 2; }
  current_link=prerequisites
  check_prerequisites
  for link in "${LINKS[@]}"; do
    current_link="$link"
    start="$(date +%s)"
    log "link $link"
    "link_${link//-/_}"
    log "link $link done ($(( $(date +%s) - start )) s)"
    [[ "$link" == "$last" ]] && break
  done
  current_link=""
  log "up to '$last': export KUBECONFIG=$KUBECONFIG_FILE"
}

case "${1:-up}" in
  -h|--help) usage ;;
  up) shift || true; up "$@" ;;
  down) down ;;
  reset) down; rm -rf "$STATE"; log "removed $STATE (builds, images and certificates are kept)" ;;
  status) status ;;
  check) current_link=prerequisites; check_prerequisites; log "prerequisites met" ;;
  link) [[ " ${LINKS[*]} " == *" ${2:-} "* ]] || { usage; exit 2; }; current_link="$2"; "link_${2//-/_}" ;;
  *) usage; exit 2 ;;
esac
