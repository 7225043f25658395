# shellcheck shell=bash
# Builds the pinned Go tools (control plane, etcd, kwok, kubectl, helm, kustomize, jsonnet) into a cache
# outside the work tree, keyed by a hash of the go.mod/go.sum/sources that pin them, and reuses it.
# Sourced by scripts/cluster, scripts/test and scripts/demo.

MOOR_ROOT=${MOOR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MOOR_CACHE=${MOOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/moor}
K8S_VERSION=v1.34.4

die() { echo "moor: $*" >&2; exit 1; }

tools_key() {
  (cd "$MOOR_ROOT/test-env" && cat k8s/go.mod k8s/go.sum k8s/etcd/main.go kwok/go.mod kwok/go.sum kustomize/go.mod kustomize/go.sum) \
    | sha256sum | cut -c1-16
}

tools_bin() { echo "$MOOR_CACHE/tools/$K8S_VERSION-$(tools_key)/bin"; }

# ensure_tools: build every tool once; later calls return at once.
ensure_tools() {
  local bin; bin=$(tools_bin)
  local want=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok helm kustomize)
  local missing=0 t
  for t in "${want[@]}"; do [ -x "$bin/$t" ] || missing=1; done
  if [ "$missing" = 0 ]; then export PATH="$bin:$PATH"; ensure_jsonnet; return; fi

  command -v go >/dev/null 2>&1 || die "Go is missing: install Go >= 1.24 (https://go.dev/doc/install) and retry"
  mkdir -p "$bin" "$MOOR_CACHE/logs"
  local log="$MOOR_CACHE/logs/tools-build.log" start=$SECONDS
  echo "moor: building Kubernetes $K8S_VERSION, etcd, kwok, kubectl, helm and kustomize from Go modules into $bin" >&2
  echo "moor: (first time only, 10-30 minutes on 2 cores; log: $log)" >&2
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ver="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  local tmp="$bin.tmp.$$"; mkdir -p "$tmp"
  if ! ( cd "$MOOR_ROOT/test-env/k8s" && export CGO_ENABLED=0 GOFLAGS=-mod=mod &&
         go build -trimpath -ldflags "-s -w $ver" -o "$tmp/" \
           k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
           k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
           helm.sh/helm/v3/cmd/helm ./etcd &&
         cd "$MOOR_ROOT/test-env/kwok" &&
         go build -trimpath -ldflags "-s -w" -o "$tmp/" sigs.k8s.io/kwok/cmd/kwok &&
         cd "$MOOR_ROOT/test-env/kustomize" &&
         go build -trimpath -ldflags "-s -w" -o "$tmp/kustomize" sigs.k8s.io/kustomize/kustomize/v5 ) >"$log" 2>&1; then
    rm -rf "$tmp"
    tail -n 20 "$log" >&2
    die "failed to build the Go tools (see $log)"
  fi
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
  echo "moor: tools built in $((SECONDS - start)) s" >&2
  echo "$((SECONDS - start))" >"$bin/../build-seconds"
  export PATH="$bin:$PATH"
  ensure_jsonnet
}

# jsonnet (go-jsonnet) has its own key and cache directory, so pinning or bumping it never
# rebuilds the control plane above; ensure_tools calls it, so jsonnet is on PATH with the rest.
jsonnet_key() {
  (cd "$MOOR_ROOT/test-env/jsonnet" && cat go.mod go.sum tools.go) | sha256sum | cut -c1-16
}

jsonnet_bin() { echo "$MOOR_CACHE/tools/jsonnet-$(jsonnet_key)/bin"; }

# ensure_jsonnet: build jsonnet once (under a minute); later calls return at once.
ensure_jsonnet() {
  local bin; bin=$(jsonnet_bin)
  if [ -x "$bin/jsonnet" ]; then export PATH="$bin:$PATH"; return 0; fi
  command -v go >/dev/null 2>&1 || die "Go is missing: install Go >= 1.24 (https://go.dev/doc/install) and retry"
  mkdir -p "$bin" "$MOOR_CACHE/logs"
  local log="$MOOR_CACHE/logs/jsonnet-build.log" tmp="$bin.tmp.$$"
  echo "moor: building jsonnet from Go modules into $bin (log: $log)" >&2
  mkdir -p "$tmp"
  if ! ( cd "$MOOR_ROOT/test-env/jsonnet" && export CGO_ENABLED=0 GOFLAGS=-mod=mod &&
         go build -trimpath -ldflags "-s -w" -o "$tmp/jsonnet" github.com/google/go-jsonnet/cmd/jsonnet ) >"$log" 2>&1; then
    rm -rf "$tmp"
    tail -n 20 "$log" >&2
    die "failed to build jsonnet (see $log)"
  fi
  mv "$tmp/jsonnet" "$bin/" && rmdir "$tmp"
  export PATH="$bin:$PATH"
}
