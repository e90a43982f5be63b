"""Small in-memory image archives for the image-store tests (stdlib tarfile only)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Entry = tuple[str, str, Any]  # (name, kind: file|dir|sym|link, data/linkname)


def layer(entries: Iterable[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_600_000_000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, data if isinstance(data, int) else 0o755
                tar.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tar.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                tar.addfile(ti)
            else:
                raw = data.encode() if isinstance(data, str) else data
                ti.size, ti.mode = len(raw), 0o644
                tar.addfile(ti, io.BytesIO(raw))
    return buf.getvalue()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config(layers: list[bytes], cfg: dict[str, Any] | None = None) -> bytes:
    return json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": cfg or {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(x) for x in layers]},
    }).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tar.addfile(ti, io.BytesIO(data))


def oci_layout(out: Path, layers: list[bytes], ref: str | None, *, gz: bool = True, as_tar: bool = False,
               cfg: dict[str, Any] | None = None) -> Path:
    """Write an OCI image layout (directory, or tarred when as_tar) with one image."""
    conf = config(layers, cfg)
    blobs = [gzip.compress(x, mtime=0) if gz else x for x in layers]
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(conf), "size": len(conf)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""),
                    "digest": digest(b), "size": len(b)} for b in blobs],
    }).encode()
    desc: dict[str, Any] = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": digest(manifest), "size": len(manifest)}
    if ref:
        desc["annotations"] = {"org.opencontainers.image.ref.name": ref}
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
             "index.json": json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()}
    for b in [conf, manifest, *blobs]:
        files["blobs/sha256/" + digest(b)[7:]] = b
    if as_tar:
        with tarfile.open(out, "w") as tar:
            for name, data in files.items():
                _add(tar, name, data)
    else:
        for name, data in files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
    return out


def docker_archive(out: Path, layers: list[bytes], tags: list[str], cfg: dict[str, Any] | None = None) -> Path:
    """Write a docker-archive as ``docker save`` does (manifest.json, <id>.json, <n>/layer.tar)."""
    conf = config(layers, cfg)
    conf_name = digest(conf)[7:] + ".json"
    names = [f"{i:02d}{'a' * 62}/layer.tar" for i in range(len(layers))]
    with tarfile.open(out, "w") as tar:
        _add(tar, conf_name, conf)
        for name, data in zip(names, layers, strict=True):
            _add(tar, name, data)
        _add(tar, "manifest.json", json.dumps([{"Config": conf_name, "RepoTags": tags, "Layers": names}]).encode())
    return out
