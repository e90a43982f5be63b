#!/bin/sh
# The offline registry test bed: Debian's docker-registry on loopback (plain, TLS + htpasswd, Bearer
# token), the test images pushed under their Docker Hub names, and a registries.conf for podbay.
#   scripts/test-registry.sh up DIR [--images _work/images] [--variants plain,tls,token]
#   scripts/test-registry.sh down DIR
# `up` prints DIR/bed.json (ports, pids, the registries.conf and certs.d to give podbay).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m podbay.images.testregistry "$@"
