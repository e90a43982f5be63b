#!/usr/bin/env bash
# Prepare this host for podbay (root, idempotent): hugetlb cgroup as v1 so crun works on the
# hybrid cgroup layout, net.ipv4.ip_forward=1. See src/podbay/host/hostprep.py.
#   scripts/setup-host.sh [--dry-run]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# hostprep is stdlib-only, so it runs from the source tree even before the venv exists.
PYTHON=python3
[[ -x .venv/bin/python ]] && PYTHON=.venv/bin/python
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m podbay.host.hostprep "$@"
