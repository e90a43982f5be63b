"""skopeo's fatal lines turned into the runtime's error text, and CRI-O's classification."""

from __future__ import annotations

import pytest

from podbay.images.skopeo import classify, error_message

CASES = [
    ('time="2026-01-01T00:00:00Z" level=fatal msg="initializing source docker://127.0.0.1:5000/library/busybox:nope: '
     'reading manifest nope in 127.0.0.1:5000/library/busybox: manifest unknown: manifest unknown"',
     "reading manifest nope in 127.0.0.1:5000/library/busybox: manifest unknown: manifest unknown"),
    ('time="x" level=fatal msg="Error parsing image name \\"docker://r/x:nope\\": reading manifest nope in r/x: '
     'manifest unknown: manifest unknown"', "reading manifest nope in r/x: manifest unknown: manifest unknown"),
    ('time="x" level=fatal msg="initializing source docker://127.0.0.1:5002/library/busybox:1.35: reading manifest 1.35 '
     'in 127.0.0.1:5002/library/busybox: errors:\\ndenied: requested access to the resource is denied\\nunauthorized: '
     'authentication required\\n"', "reading manifest 1.35 in 127.0.0.1:5002/library/busybox: errors:\ndenied: "
     "requested access to the resource is denied\nunauthorized: authentication required\n"),
    ('time="x" level=fatal msg="choosing an image from manifest list docker://r/m:1: no image found in image index for '
     'architecture s390x, variant \\"\\", OS linux"', 'choosing an image from manifest list docker://r/m:1: no image '
     'found in image index for architecture s390x, variant "", OS linux'),
    ("plain text failure\n", "plain text failure"),
]


@pytest.mark.parametrize("stderr,want", CASES)
def test_error_message(stderr: str, want: str) -> None:
    assert error_message(stderr) == want


def test_classify_connection_refused_as_registry_unavailable() -> None:
    msg = ('pinging container registry 127.0.0.1:5001: Get "http://127.0.0.1:5001/v2/": dial tcp 127.0.0.1:5001: '
           "connect: connection refused")
    e = classify(msg)
    assert e.unavailable and e.message == "RegistryUnavailable: " + msg
    assert not classify("x509: certificate signed by unknown authority").unavailable
    assert classify("reading manifest x in r: manifest unknown: manifest unknown").not_found
