# shellcheck shell=bash
# Shared by scripts/bench-controller and scripts/bench-flux: the app's objects by kind, the git
# repository of the benchmark apps, a smart-HTTP git server, and measuring helpers.

now_ms() { date +%s%3N; }
calc() { awk "BEGIN { print $1 }"; }
# percentiles: reads one number (ms) a line, prints "p50 X ms, p99 Y ms (n=N)".
percentiles() { sort -n | awk '{a[NR]=$1} END {p50=a[int((NR+1)*0.5)]; i=int(NR*0.99+0.999); if (i>NR) i=NR; printf "p50 %d ms, p99 %d ms (n=%d)", p50, a[i], NR}'; }
# ticks PID...: CPU clock ticks (user + system) used so far by these processes and their
# children that ended (git, kustomize, helm: the controller's work too), gone ones count 0.
ticks() { local p t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# hwm_kib PID: peak RSS (VmHWM) of a live process, in KiB.
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cluster_pids NAME: the pids of a scripts/cluster control plane.
cluster_pids() { cat "$MOOR_ROOT/.moor-state/clusters/$1/pids/"* 2>/dev/null; }

# app_objects KIND: one app's objects. `configmap`: three ConfigMaps (nothing for the control
# plane's controllers to do); `deployment`: a ConfigMap, a Service and a one-replica Deployment
# (kwok makes its pod Ready, so Healthy waits for the scheduler and the controllers).
app_objects() {
  case $1 in
    configmap) cat <<'YAML' ;;
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-env}
data: {LOG_LEVEL: info, PORT: "8080", REGION: local}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-files}
data: {app.properties: "feature.a=true\nfeature.b=false\ncache.size=128\n"}
YAML
    deployment) cat <<'YAML' ;;
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.local/web:1.0.0"}]
YAML
    *) die "unknown --apps-kind '$1' (configmap or deployment)" ;;
  esac
}

# drift KIND NS: change one app's object by hand; healed KIND NS: whether it is back.
drift() {
  case $1 in
    configmap) kubectl -n "$2" patch configmap web-config --type merge -p '{"data":{"greeting":"drift"}}' >/dev/null ;;
    deployment) kubectl -n "$2" scale deployment web --replicas=3 >/dev/null ;;
  esac
}
healed() {
  case $1 in
    configmap) [ "$(kubectl -n "$2" get configmap web-config -o jsonpath='{.data.greeting}')" = hello ] ;;
    deployment) [ "$(kubectl -n "$2" get deployment web -o jsonpath='{.spec.replicas}')" = 1 ] ;;
  esac
}

# bench_repo DIR KIND: a bare repository DIR/repos/repo.git, branch main, with the app's objects
# in app/ (moor) and the same plus a Namespace in flux/ (a Flux Kustomization's targetNamespace
# renames it, as moor's CreateNamespace=true creates it).
bench_repo() {
  local dir=$1 kind=$2
  git init -q --bare -b main "$dir/repos/repo.git"
  git clone -q "$dir/repos/repo.git" "$dir/w" 2>/dev/null
  mkdir -p "$dir/w/app" "$dir/w/flux"
  app_objects "$kind" >"$dir/w/app/all.yaml"
  { printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: placeholder}\n---\n'; app_objects "$kind"; } >"$dir/w/flux/all.yaml"
  git -C "$dir/w" add -A && git -C "$dir/w" -c user.name=b -c user.email=b@b commit -qm init && git -C "$dir/w" push -q origin HEAD:main
}

# git_http_start DIR: serves DIR/repos over smart HTTP; sets git_http_pid and git_http_port.
git_http_start() {
  python3 "$MOOR_ROOT/scripts/lib/git-http.py" "$1/repos" "$1/git-http.port" &
  git_http_pid=$!
  for _ in $(seq 1 50); do [ -s "$1/git-http.port" ] && break; sleep 0.1; done
  git_http_port=$(cat "$1/git-http.port")
}

# moor_apps N URL KIND: N Applications app-XXXX in bench-apps, each into its own namespace.
moor_apps() {
  local i n=$1 url=$2
  for ((i = 0; i < n; i++)); do
    printf -- '---\napiVersion: moor.dev/v1alpha1\nkind: Application\nmetadata: {name: app-%04d, namespace: bench-apps}\nspec:\n  source: {repoURL: "%s", targetRevision: main, path: app}\n  destination: {server: "https://kubernetes.default.svc", namespace: bench-%04d}\n  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n    syncOptions: [CreateNamespace=true]\n' "$i" "$url" "$i"
  done
}

# apps_ready: how many moor Applications are Synced and Healthy (one list).
apps_ready() {
  kubectl get applications.moor.dev -n bench-apps -o jsonpath='{range .items[*]}{.status.sync.status}/{.status.health.status}{"\n"}{end}' | grep -c '^Synced/Healthy$' || true
}

# drift_trials KIND N TRIALS: drift one random app's object at a time and time until it is back;
# prints one latency (ms) a line.
drift_trials() {
  local kind=$1 n=$2 trials=$3 t ns s
  for ((t = 0; t < trials; t++)); do
    ns=$(printf 'bench-%04d' $((RANDOM % n)))
    s=$(now_ms)
    drift "$kind" "$ns"
    until healed "$kind" "$ns"; do sleep 0.02; done
    echo $(($(now_ms) - s))
  done
}

# ports_free PORT...: dies when something listens on one of them already (say a controller
# left by an earlier run, which would answer this run's health checks and metrics).
ports_free() {
  local p
  for p in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p on 127.0.0.1 is in use already (a controller left from an earlier run? ss -ltnp | grep $p)"
    fi
  done
}
