#!/usr/bin/env bash
# Install what podbay needs on Debian 12 (root), then the dev venv. Idempotent and quick when
# everything is in place: apt only runs if a package is missing, pip only if pyproject changed.
#
#   scripts/install-deps.sh            system packages + venv
#   scripts/install-deps.sh --system   system packages only
#   scripts/install-deps.sh --venv     venv only
#   scripts/install-deps.sh --bench    system packages + the benchmarks' peers (podman, wrk, iperf3) + venv
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-.venv}
STAMP="$VENV/.podbay-deps.sha256"
PYTHON=${PYTHON:-python3}

# Not kubernetes-client: it overwrites /usr/bin/kubectl of the preinstalled kubectl package
# and dpkg aborts (PLATFORM.md §1). No kmod: the kernel has no loadable modules.
PACKAGES=(
  crun runc conmon containernetworking-plugins
  iproute2 iptables nftables conntrack busybox-static catatonit util-linux procps
  skopeo docker-registry debootstrap apache2-utils curl
  golang-github-opencontainers-specs-dev
  make python3 gcc
)
# Only the benchmarks need the peers they are compared with and the load generators.
BENCH_PACKAGES=(podman wrk iperf3)

log() { printf 'install-deps: %s\n' "$*"; }

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
  done
}

apt_install() {
  local -a want
  mapfile -t want < <(missing_packages "$@")
  if ((${#want[@]} == 0)); then
    return 0
  fi
  if ((EUID != 0)); then
    log "missing packages ${want[*]}: run as root"
    exit 1
  fi
  log "installing ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${want[@]}"
}

install_system() {
  if ! command -v dpkg-query >/dev/null; then
    log "not a Debian system: install ${PACKAGES[*]} by hand"
    exit 1
  fi
  apt_install "${PACKAGES[@]}"
  # Debian's python3 needs python3-venv for ensurepip; other interpreters (pyenv) bring their own.
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  log "system packages ok"
}

install_venv() {
  local want_hash
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  want_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_hash" ]] \
     && "$VENV/bin/python" -c 'import podbay' 2>/dev/null; then
    log "venv ok ($VENV, pyproject unchanged)"
    return 0
  fi
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    "$VENV/bin/python" -m ensurepip -q  # a venv made with --without-pip or a broken one
  fi
  log "pip install -e .[dev] into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
  # The CLI's start-up is measured: ship byte-compiled sources even where PYTHONDONTWRITEBYTECODE is set.
  "$VENV/bin/python" -m compileall -q src >/dev/null || true
  printf '%s\n' "$want_hash" >"$STAMP"
  log "venv ok ($VENV)"
}

case "${1:-all}" in
  all) install_system; install_venv ;;
  --system) install_system ;;
  --venv) install_venv ;;
  --bench) install_system; apt_install "${BENCH_PACKAGES[@]}"; install_venv ;;
  *) echo "usage: $0 [--system|--venv|--bench]" >&2; exit 2 ;;
esac
