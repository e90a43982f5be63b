"""Reading image archives: OCI image layout (dir or tar) and docker-archive (``docker save``).

The parsing is split from the store: ``read_manifests`` turns an archive into ``ImageSource``
values (config bytes, layer descriptors, names) without unpacking anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from podbay.errors import NotSupported, PermanentError
from podbay.images import platform as imgplatform

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def host_arch() -> str:
    m = os.uname().machine
    return _GOARCH.get(m, m)


def host_platform() -> imgplatform.Platform:
    """linux/<GOARCH>[/variant]: arm64 is v8, arm's variant comes from /proc/cpuinfo (containers/image)."""
    arch = host_arch()
    variant = "v8" if arch == "arm64" else ""
    if arch == "arm":
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip().lower() == "cpu architecture" and value.strip().isdigit():
                        variant = "v" + value.strip()
                        break
        except OSError:
            pass
    return imgplatform.Platform("linux", arch, variant)


class Source:
    """Files of an archive, by relative path: a directory or a (possibly compressed) tarball."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if not path.is_dir():
            try:
                self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            except (tarfile.TarError, OSError) as exc:
                raise PermanentError(f"{path}: not an image archive (OCI layout or docker-archive): {exc}") from exc
            for m in self._tar.getmembers():
                self._members[posixpath.normpath(m.name.lstrip("/"))] = m

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    @staticmethod
    def _clean(rel: str) -> str:
        norm = posixpath.normpath(rel.lstrip("/"))
        if norm == ".." or norm.startswith("../"):
            raise PermanentError(f"invalid image archive: path {rel!r} escapes the archive")
        return norm

    def _member(self, rel: str) -> tarfile.TarInfo | None:
        name = self._clean(rel)
        for _ in range(8):  # docker save links duplicate layers with relative symlinks
            m = self._members.get(name)
            if m is None or not m.issym():
                return m
            name = self._clean(posixpath.join(posixpath.dirname(name), m.linkname))
        raise PermanentError(f"invalid image archive: too many symlinks at {rel!r}")

    def exists(self, rel: str) -> bool:
        if self._tar is None:
            p = self.path / self._clean(rel)
            return p.is_file() and p.resolve().is_relative_to(self.path.resolve())
        m = self._member(rel)
        return m is not None and m.isreg()

    @contextmanager
    def open(self, rel: str) -> Iterator[IO[bytes]]:
        if self._tar is None:
            p = self.path / self._clean(rel)
            if not p.resolve().is_relative_to(self.path.resolve()):
                raise PermanentError(f"invalid image archive: {rel!r} points outside the archive")
            try:
                f = p.open("rb")
            except OSError as exc:
                raise PermanentError(f"invalid image archive: cannot read {rel!r}: {exc.strerror}") from exc
            with f:
                yield f
            return
        m = self._member(rel)
        f2 = self._tar.extractfile(m) if m is not None and m.isreg() else None
        if f2 is None:
            raise PermanentError(f"invalid image archive: {rel!r} is missing")
        with f2:
            yield f2

    def read(self, rel: str) -> bytes:
        with self.open(rel) as f:
            return f.read()


@dataclass(frozen=True)
class LayerRef:
    path: str  # inside the archive
    digest: str | None  # digest of the blob as stored (None: docker-archive, verified by diff id)


@dataclass
class ImageSource:
    config: bytes
    layers: list[LayerRef]
    names: list[str] = field(default_factory=list)  # as found (not normalized yet)
    manifest_digest: str | None = None


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_path(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise NotSupported(f"digest {digest!r}: only sha256 digests are supported by podbay")
    return f"blobs/sha256/{hexpart}"


def _read_blob(src: Source, digest: str) -> bytes:
    data = src.read(_blob_path(digest))
    if sha256_digest(data) != digest:
        raise PermanentError(f"invalid image archive: blob {digest} does not match its digest")
    return data


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(f"invalid image archive: {what} is not JSON: {exc}") from exc


def _pick_platform(manifests: list[dict[str, Any]], oci_index: bool) -> dict[str, Any]:
    try:
        return dict(imgplatform.choose(manifests, host_platform(), oci_index=oci_index))
    except imgplatform.NoMatchingPlatform as exc:
        raise NotSupported(str(exc)) from exc


def _oci_images(src: Source, index: dict[str, Any], names: list[str]) -> list[ImageSource]:
    out: list[ImageSource] = []
    for desc in index.get("manifests") or []:
        ann = desc.get("annotations") or {}
        found = [n for n in (ann.get(CONTAINERD_NAME), ann.get(REF_NAME)) if n][:1] or names
        media = desc.get("mediaType", "")
        body = _json(_read_blob(src, desc["digest"]), f"manifest {desc['digest']}")
        if media in (OCI_INDEX, DOCKER_LIST) or body.get("mediaType") in (OCI_INDEX, DOCKER_LIST):
            is_list = DOCKER_LIST in (media, body.get("mediaType"))
            chosen = _pick_platform(body.get("manifests") or [], oci_index=not is_list)
            out += _oci_images(src, {"manifests": [chosen]}, found)
            continue
        cfg = body.get("config") or {}
        layers = [LayerRef(_blob_path(ld["digest"]), ld["digest"]) for ld in body.get("layers") or []]
        out.append(ImageSource(_read_blob(src, cfg["digest"]), layers, list(found), desc["digest"]))
    return out


def _docker_images(src: Source) -> list[ImageSource]:
    manifest = _json(src.read("manifest.json"), "manifest.json")
    if not isinstance(manifest, list):
        raise PermanentError("invalid docker-archive: manifest.json is not a list")
    return [
        ImageSource(src.read(entry["Config"]), [LayerRef(p, None) for p in entry.get("Layers") or []],
                    list(entry.get("RepoTags") or []))
        for entry in manifest
    ]


def read_images(src: Source) -> list[ImageSource]:
    """All images of an archive; docker's manifest.json wins when both formats are present."""
    try:
        if src.exists("manifest.json"):
            return _docker_images(src)
        if src.exists("index.json") and src.exists("oci-layout"):
            return _oci_images(src, _json(src.read("index.json"), "index.json"), [])
    except (KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"invalid image archive {src.path}: malformed metadata ({exc})") from exc
    raise PermanentError(f"{src.path}: not an image archive (no manifest.json, no oci-layout + index.json)")
