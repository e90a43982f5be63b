"""Template hashes and the names built from them (``controller.ComputeHash``,
``history.HashControllerRevision``, ``rand.SafeEncodeString``).

Upstream hashes Go's dump of the typed struct; a Python runtime hashes the canonical JSON of the
same object instead (sorted keys, ``None`` and empty lists/maps dropped — the distinctions Go's
typed zero values do not make), so equal templates give equal hashes and a change gives a new one.
The algorithms around it are upstream's: FNV-32a plus the little-endian collision count for pod
templates, FNV-32 plus the decimal probe for ControllerRevisions, and the digits of the sum
mapped through ``bcdfghjklmnpqrstvwxz2456789``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

POD_TEMPLATE_HASH = "pod-template-hash"
# rand.SafeEncodeString's alphabet: no vowels (no words), no 0/1/3 (no look-alikes).
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def safe_encode_string(s: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped to ``_ALPHANUMS[byte % 27]``."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in s.encode())


def fnv32a(data: bytes, h: int = _FNV_OFFSET) -> int:
    for b in data:
        h ^= b
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def fnv32(data: bytes, h: int = _FNV_OFFSET) -> int:
    for b in data:
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
        h ^= b
    return h


def normalize(value: Any) -> Any:
    """Drop ``None`` and empty lists/maps inside maps, recursively (apimachinery's semantic
    equality treats nil and empty alike)."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            v = normalize(v)
            if v is None or (isinstance(v, (list, dict)) and not v):
                continue
            out[str(k)] = v
        return out
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def go_json(value: Any) -> bytes:
    """``json.Marshal`` of a map: sorted keys, compact, Go's HTML-safe escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text.encode()


def canonical(value: Any) -> bytes:
    return go_json(normalize(value))


def compute_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """``controller.ComputeHash``: the pod-template-hash of a Deployment's (or DaemonSet's) template."""
    h = fnv32a(canonical(template))
    if collision_count is not None:
        # PutUint32 into an 8-byte buffer: the count, little-endian, then four zero bytes.
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0\0\0\0", h)
    return safe_encode_string(str(h))


def hash_controller_revision(data: bytes, probe: int | None) -> str:
    """``history.HashControllerRevision`` over the revision's raw data."""
    h = fnv32(data)
    if probe is not None:
        h = fnv32(str(probe).encode(), h)
    return safe_encode_string(str(h))


def without_hash_label(template: Mapping[str, Any]) -> Any:
    md = dict(template.get("metadata") or {})
    lbl = dict(md.get("labels") or {})
    lbl.pop(POD_TEMPLATE_HASH, None)
    md["labels"] = lbl
    return normalize({**template, "metadata": md})


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """``deploymentutil.EqualIgnoreHash``: templates equal once pod-template-hash is removed."""
    return bool(without_hash_label(a) == without_hash_label(b))
