# shellcheck shell=bash
# Installs the system packages moor's tests and demo need, when they are missing (Debian).
# Go and Rust come with the machine; everything else is built from Go modules (tools.sh).
ensure_system_deps() {
  local need=()
  command -v git >/dev/null || need+=(git)
  command -v curl >/dev/null || need+=(curl)
  command -v openssl >/dev/null || need+=(openssl)
  command -v ssh >/dev/null || need+=(openssh-client)
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  [ -x /usr/lib/git-core/git-http-backend ] || need+=(git)
  [ ${#need[@]} -eq 0 ] && return 0
  apt_install "${need[@]}" || return 1
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # The package's own sshd service is not used: tests start their own sshd on loopback ports.
  [ -d /run/sshd ] || $sudo mkdir -p /run/sshd
}

# apt_install PACKAGE...: installs Debian packages, with sudo unless root; says what it installs.
apt_install() {
  echo "moor: installing $*" >&2
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  command -v apt-get >/dev/null || { echo "moor: missing $* and no apt-get to install them" >&2; return 1; }
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"; } >/dev/null \
    || { echo "moor: failed to install $*" >&2; return 1; }
}

# The web UI's browser tests (crates/moor/tests/ui_browser.rs) drive Debian's headless Chromium
# through chromedriver; they fail, never skip, when these are missing.
ensure_browser_deps() {
  local need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
  [ ${#need[@]} -eq 0 ] && return 0
  apt_install "${need[@]}"
}
