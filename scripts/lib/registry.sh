# shellcheck shell=bash
# Needs apt_install from deps.sh.
# Installs what the image automation tests (crates/moor-registry) need, when it is missing
# (Debian): distribution's OCI registry (/usr/bin/docker-registry, run by the tests on loopback
# ports with their own config; the package's own service is not used) and openssl (the token
# service of the bearer-auth test signs its JWTs with it).
ensure_registry_deps() {
  local need=()
  [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
  command -v openssl >/dev/null || need+=(openssl)
  [ ${#need[@]} -eq 0 ] && return 0
  apt_install "${need[@]}" || return 1
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # Installing the package may start its registry service on :5000; the tests do not need it.
  if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
    $sudo systemctl stop docker-registry >/dev/null 2>&1 || true
  fi
}
