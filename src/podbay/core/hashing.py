"""Stable hash of a container spec, the key of its restart back-off (kubelet ``HashContainer``).

Upstream hashes only the fields a running pod may change (the image) plus the name, so a new image
means a new container and a fresh back-off entry, while defaulting changes between versions never
restart anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def container_hash(container: Mapping[str, Any]) -> str:
    """8 hex digits of SHA-256 over the canonical JSON of {name, image}."""
    key = {"name": container.get("name"), "image": container.get("image")}
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
