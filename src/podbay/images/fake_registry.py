"""An in-memory RegistryClient for tests of everything above the registry port.

It stores manifests and blobs per host, answers with skopeo's error texts, counts manifest
requests and blob downloads, and can require credentials, refuse connections, fail or hold copies.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podbay.images.keyring import Credential
from podbay.images.platform import DOCKER_LIST, Platform, choose
from podbay.images.registry import UNAVAILABLE_PREFIX, BlobFn, CopyProgress, ProgressFn, PullError, Target

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer tar with the given regular files (fixed metadata)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_650_000_000
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class FakeRegistry:
    manifests: dict[str, bytes] = field(default_factory=dict)                    # digest -> bytes
    blobs: dict[str, bytes] = field(default_factory=dict)                        # digest -> bytes
    tags: dict[str, str] = field(default_factory=dict)                           # host/path:tag -> digest
    members: dict[str, set[str]] = field(default_factory=dict)                   # host/path -> digests in it
    auth: dict[str, tuple[str, str]] = field(default_factory=dict)               # host -> required user/pass
    down: set[str] = field(default_factory=set)                                  # hosts refusing connections
    manifest_requests: list[str] = field(default_factory=list)                   # names asked for
    blob_downloads: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    creds_seen: list[tuple[str, str | None]] = field(default_factory=list)       # (name, username)
    platform: Platform = field(default_factory=lambda: Platform("linux", "amd64"))
    fail_copy: str | None = None                 # the next copy fails with this text
    write_delay: float = 0.0                     # pause after announcing a blob file (streaming tests)
    gate: threading.Event | None = None          # copies wait for it (and report that they started)
    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    active: int = 0
    max_active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- filling it ----------------------------------------------------------------------------
    def put_image(self, name: str, layers: list[bytes], *, config: dict[str, Any] | None = None,
                  architecture: str = "amd64", os_: str = "linux", variant: str = "", tag: bool = True) -> str:
        """Store an image (layers = uncompressed tars) and tag it as ``name`` (host/path:tag); returns the
        manifest digest."""
        blobs = [gzip.compress(raw, mtime=0) for raw in layers]
        cfg: dict[str, Any] = {"architecture": architecture, "os": os_, "config": config or {},
                               "rootfs": {"type": "layers", "diff_ids": [digest_of(raw) for raw in layers]}}
        if variant:
            cfg["variant"] = variant
        cfg_bytes = _json(cfg)
        for b in (cfg_bytes, *blobs):
            self.blobs[digest_of(b)] = b
        manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": {"mediaType": OCI_CONFIG, "digest": digest_of(cfg_bytes), "size": len(cfg_bytes)},
                          "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(b), "size": len(b)} for b in blobs]})
        d = digest_of(manifest)
        self.manifests[d] = manifest
        self._member(name, d)
        if tag:
            self.tags[name] = d
        return d

    def _member(self, name: str, digest: str) -> None:
        repo = name.partition("@")[0]
        colon = repo.rfind(":")
        if colon > repo.rfind("/"):
            repo = repo[:colon]
        self.members.setdefault(repo, set()).add(digest)

    def put_index(self, name: str, entries: list[tuple[str, dict[str, str] | None]],
                  media_type: str = OCI_INDEX) -> str:
        """Tag an index/list of (manifest digest, platform or None) as ``name``; returns its digest."""
        items = []
        for d, plat in entries:
            desc: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": d, "size": len(self.manifests[d])}
            if plat is not None:
                desc["platform"] = plat
            items.append(desc)
        index = _json({"schemaVersion": 2, "mediaType": media_type, "manifests": items})
        d = digest_of(index)
        self.manifests[d] = index
        for entry, _ in entries:
            self._member(name, entry)
        self._member(name, d)
        self.tags[name] = d
        return d

    def put_archive(self, path: Path, name: str) -> str:
        """Store the image of an oci-archive (as skopeo would push it) under ``name``; returns its digest."""
        with tarfile.open(path) as t:
            files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isreg()}  # type: ignore[union-attr]
        index = json.loads(files["index.json"])
        digest = str(index["manifests"][0]["digest"])
        for fname, data in files.items():
            if fname.startswith("blobs/sha256/"):
                d = "sha256:" + fname.rsplit("/", 1)[1]
                (self.manifests if d == digest else self.blobs)[d] = data
        self._member(name, digest)
        self.tags[name] = digest
        return digest

    # ---- the port ------------------------------------------------------------------------------
    def _check(self, target: Target, cred: Credential | None, what: str) -> None:
        host = target.host
        self.creds_seen.append((target.name, cred.username if cred else None))
        if host in self.down:
            raise PullError(f'{UNAVAILABLE_PREFIX}: pinging container registry {host}: Get "https://{host}/v2/": '
                            f"dial tcp {host}: connect: connection refused")
        need = self.auth.get(host)
        if need is not None and (cred is None or (cred.username, cred.password) != need):
            raise PullError(f"{what}: unauthorized: authentication required")

    def _resolve(self, name: str) -> tuple[str, str, str | None]:
        repo, at, digest = name.partition("@")
        if at:
            return repo, digest, digest if digest in self.members.get(repo, set()) else None
        colon = repo.rfind(":")
        base, tag = (repo[:colon], repo[colon + 1:]) if colon > repo.rfind("/") else (repo, "latest")
        return base, tag, self.tags.get(f"{base}:{tag}")

    def manifest(self, target: Target, cred: Credential | None) -> bytes:
        with self._lock:
            self.manifest_requests.append(target.name)
        repo, ref, digest = self._resolve(target.name)
        self._check(target, cred, f"reading manifest {ref} in {repo}")
        if digest is None:
            raise PullError(f"reading manifest {ref} in {repo}: manifest unknown: manifest unknown", not_found=True)
        return self.manifests[digest]

    def copy(self, target: Target, layout: Path, cred: Credential | None, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, on_blob: BlobFn | None = None) -> None:
        repo, ref, digest = self._resolve(target.name)
        self._check(target, cred, f"initializing source docker://{target.name}: reading manifest {ref} in {repo}")
        with self._lock:
            self.copies.append(target.name)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.started.release()
            if self.gate is not None:
                while not self.gate.wait(0.05):
                    if cancel is not None and cancel.is_set():
                        raise PullError("pull cancelled")
            if self.fail_copy is not None:
                msg, self.fail_copy = self.fail_copy, None
                raise PullError(msg)
            if digest is None:
                raise PullError(f"reading manifest {ref} in {repo}: manifest unknown: manifest unknown", not_found=True)
            body = json.loads(self.manifests[digest])
            if body.get("mediaType") in (OCI_INDEX, DOCKER_LIST):   # like skopeo: this host's instance only
                chosen = choose(body.get("manifests") or [], self.platform, oci_index=body["mediaType"] == OCI_INDEX)
                digest = str(chosen["digest"])
                body = json.loads(self.manifests[digest])
            (layout / "blobs" / "sha256").mkdir(parents=True)
            (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
            finished: dict[str, int] = {}
            for desc in [body["config"], *body["layers"]]:
                data = self.blobs[desc["digest"]]
                if desc in body["layers"]:
                    with self._lock:
                        self.blob_downloads.append(desc["digest"])
                # as containers/image's oci: destination does: a temp file, renamed when complete
                tmp = layout / f"oci-put-blob{len(finished)}"
                with tmp.open("wb") as f:
                    if on_blob is not None:
                        on_blob(tmp)
                        time.sleep(self.write_delay)
                    for off in range(0, len(data), 1 << 16):
                        f.write(data[off:off + (1 << 16)])
                        f.flush()
                tmp.rename(layout / "blobs" / "sha256" / desc["digest"][7:])
                finished[desc["digest"]] = len(data)
                if progress is not None:
                    progress(CopyProgress(dict(finished)))
            manifest = self.manifests[digest]
            (layout / "blobs" / "sha256" / digest[7:]).write_bytes(manifest)
            (layout / "index.json").write_bytes(_json({"schemaVersion": 2, "manifests": [
                {"mediaType": body.get("mediaType", OCI_MANIFEST), "digest": digest, "size": len(manifest),
                 "annotations": {"org.opencontainers.image.ref.name": "pulled"}}]}))
        finally:
            with self._lock:
                self.active -= 1
