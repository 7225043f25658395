# shellcheck shell=bash
# Needs apt_install from deps.sh.
# Installs what scripts/image (and the container image test, crates/moor/tests/container_image.rs)
# need, when it is missing (Debian): mmdebstrap builds the root filesystem from Debian packages,
# umoci assembles the OCI image, skopeo pushes and pulls it, jq reads its manifest. No container
# engine is involved.
ensure_image_deps() {
  local need=()
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
  command -v umoci >/dev/null || need+=(umoci)
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v jq >/dev/null || need+=(jq)
  # mmdebstrap verifies the archive with these keys, and reaches it over plain http (signed).
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  [ ${#need[@]} -eq 0 ] && return 0
  apt_install "${need[@]}"
}
