"""The registry port: fetch a manifest, copy one image into an OCI layout (skopeo or a fake).

Everything kubelet-level (policy, credentials choice, back-off, events, dedupe) lives above this
port; an implementation only talks to one registry endpoint with at most one credential.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from podbay.images.keyring import Credential

UNAVAILABLE_PREFIX = "RegistryUnavailable"   # k8s.io/cri-api/pkg/errors ErrRegistryUnavailable


class PullError(Exception):
    """A pull failed. ``message`` is the text users see after ``Failed to pull image "x": ``; it
    starts with ``RegistryUnavailable: `` when the registry refused the connection (CRI-O's rule)."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_found = not_found

    @property
    def unavailable(self) -> bool:
        return self.message.startswith(UNAVAILABLE_PREFIX)


@dataclass(frozen=True)
class Target:
    """One endpoint to talk to: ``name`` is ``host[:port]/path:tag`` or ``host[:port]/path@digest``."""

    name: str
    insecure: bool = False          # plain HTTP / unverified TLS allowed
    cert_dir: str | None = None     # extra CA (*.crt) and client cert (*.cert + *.key) for this host

    @property
    def host(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class CopyProgress:
    """A snapshot of a copy: blobs finished (digest -> bytes) and bytes of blobs in flight (start order)."""

    finished: dict[str, int] = field(default_factory=dict)
    partial: tuple[int, ...] = ()

    @property
    def bytes(self) -> int:
        return sum(self.finished.values()) + sum(self.partial)


ProgressFn = Callable[[CopyProgress], None]
BlobFn = Callable[[Path], None]


class RegistryClient(Protocol):
    def manifest(self, target: Target, cred: Credential | None) -> bytes:
        """The raw manifest (or index) bytes for ``target``; raises PullError."""
        ...

    def copy(self, target: Target, layout: Path, cred: Credential | None, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, on_blob: BlobFn | None = None) -> None:
        """Copy the single image ``target`` (by digest) into a new OCI layout dir ``layout``, keeping its
        manifest digest; raises PullError (``layout`` may then hold partial content). ``on_blob(path)``
        is told of each blob file while it is being written (it is renamed into blobs/ when complete)."""
        ...
