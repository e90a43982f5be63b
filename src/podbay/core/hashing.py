"""Stable hash of a container spec: a change (e.g. a new image) means a new container and a fresh
back-off key, as with kubelet's ``io.kubernetes.container.hash``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def container_hash(container: Mapping[str, Any]) -> str:
    """8 hex digits of SHA-256 over the canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(container, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
