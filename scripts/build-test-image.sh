#!/bin/sh
# Build the offline test image docker.io/library/busybox:1.35 (an oci-archive) from Debian's
# busybox-static: scripts/build-test-image.sh OUT.tar [--busybox PATH] [--ref REF]
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 OUT.tar [--busybox /bin/busybox] [--ref docker.io/library/busybox:1.35]" >&2
    exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m podbay.images.testimage "$@"
