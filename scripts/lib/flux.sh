# shellcheck shell=bash
# Builds Flux's source-controller and kustomize-controller, pinned in test-env/flux/, into a cache
# of their own (keyed by their go.mod/go.sum only), so pinning or bumping Flux never rebuilds the
# control plane of ensure_tools. Only scripts/bench-flux uses them: the peer of the side-by-side
# benchmark in BENCHMARKS.md. Source scripts/lib/tools.sh first (MOOR_ROOT, MOOR_CACHE, die).

flux_key() {
  (cd "$MOOR_ROOT/test-env/flux" && cat source-controller/go.mod source-controller/go.sum \
    kustomize-controller/go.mod kustomize-controller/go.sum) | sha256sum | cut -c1-16
}

flux_bin() { echo "$MOOR_CACHE/tools/flux-$(flux_key)/bin"; }

# flux_module_dir MODULE: where the Go module cache holds the pinned version of a Flux controller
# (its config/crd/bases/*.yaml are the CRDs the benchmark applies).
flux_module_dir() {
  (cd "$MOOR_ROOT/test-env/flux/${1##*/}" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' "$1")
}

# ensure_flux: build both controllers once (several minutes on 2 cores); later calls return at once.
ensure_flux() {
  local bin; bin=$(flux_bin)
  if [ -x "$bin/source-controller" ] && [ -x "$bin/kustomize-controller" ]; then
    export PATH="$bin:$PATH"; return 0
  fi
  command -v go >/dev/null 2>&1 || die "Go is missing: install Go >= 1.26 (https://go.dev/doc/install) and retry"
  mkdir -p "$bin" "$MOOR_CACHE/logs"
  local log="$MOOR_CACHE/logs/flux-build.log" tmp="$bin.tmp.$$" start=$SECONDS c
  echo "moor: building Flux's source-controller and kustomize-controller from Go modules into $bin (log: $log)" >&2
  mkdir -p "$tmp"
  for c in source-controller kustomize-controller; do
    if ! ( cd "$MOOR_ROOT/test-env/flux/$c" && export CGO_ENABLED=0 GOFLAGS=-mod=mod &&
           go build -trimpath -ldflags "-s -w" -o "$tmp/$c" "github.com/fluxcd/$c" ) >>"$log" 2>&1; then
      rm -rf "$tmp"
      tail -n 20 "$log" >&2
      die "failed to build Flux's $c (see $log)"
    fi
  done
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
  echo "moor: Flux controllers built in $((SECONDS - start)) s" >&2
  export PATH="$bin:$PATH"
}
