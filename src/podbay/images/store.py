"""The local image store under ``<state root>/images``.

Layout::

    blobs/sha256/<hex>   configs and manifests, content-addressed
    layers/<hex>/        one unpacked layer per diff id (an overlayfs lowerdir)
    refs.json            {"refs": {ref: id hex}, "images": {id hex: {...}}, "layers": {hex: size},
                          "blobs": {compressed layer digest: diff id hex}}
    used.json            {id hex: last used (unix time)}, written apart so a container start never
                         waits for an import holding the lock
    lock                 fcntl lock serializing every change
    .pull-<pid>-*/       a pull in progress: the downloaded layout and layers being unpacked

Every change happens under the lock; layers are unpacked into ``layers/.tmp-*`` and renamed into
place, refs.json is replaced atomically, so a crash leaves either the old or the new state (stale
``.tmp-*`` directories are swept on the next change).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podbay.errors import Conflict, NotFound, PermanentError
from podbay.images import archive, reference
from podbay.images.layers import HashingReader, PipelinedGunzip, decompressed, extract_layer
from podbay.sys import fsflags
from podbay.sys.fileio import atomic_write

_GARBAGE = "_garbage"  # in-memory only: paths to delete once the new state is written
_EMPTY_STATE: dict[str, Any] = {"refs": {}, "images": {}, "layers": {}, "blobs": {}}


@dataclass(frozen=True)
class Image:
    id: str  # "sha256:<hex>" of the config blob
    refs: list[str]
    layer_dirs: list[Path]  # lowest first
    config: dict[str, Any]  # the OCI config's "config" object (Env, Entrypoint, Cmd, WorkingDir, User)
    created: str
    size: int
    digests: list[str] = field(default_factory=list)  # manifest digests it was loaded with
    repo_digests: list[str] = field(default_factory=list)  # "<repo>@<registry digest>" of pulls
    first_detected: float = 0.0

    def status_ref(self, requested: str) -> str:
        """The image as containerd reports it in ``imageID``: the repo digest of the requested
        repository (the index digest for multi-arch images), else the first one, else the id."""
        try:
            repo = reference.parse(requested).repository
        except ValueError:
            repo = ""
        for rd in self.repo_digests:
            if rd.partition("@")[0] == repo:
                return rd
        return self.repo_digests[0] if self.repo_digests else self.id


@dataclass(frozen=True)
class Removed:
    untagged: list[str]
    deleted: str | None  # image id when the image itself went away


def _hex(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.layers = self.root / "layers"
        self._refs_file = self.root / "refs.json"
        self._lock_file = self.root / "lock"
        self._used_file = self.root / "used.json"

    # ---- state ---------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._refs_file.read_text())
        except FileNotFoundError:
            return json.loads(json.dumps(_EMPTY_STATE))  # type: ignore[no-any-return]
        for key in _EMPTY_STATE:
            state.setdefault(key, {})
        return state  # type: ignore[no-any-return]

    def _write_state(self, state: dict[str, Any]) -> None:
        atomic_write(self._refs_file, json.dumps(state, indent=1, sort_keys=True).encode(), 0o644, fsync=True)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Exclusive lock; yields the state, which is written back if the block succeeds.

        Paths listed in ``state[_GARBAGE]`` during the block are deleted only after the new state
        is on disk (still under the lock), so refs.json never names a layer that is gone.
        """
        for d in (self.blobs, self.layers):
            d.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a") as lf:
            fcntl.flock(lf.fileno(), fcntl.LOCK_EX)
            try:
                self._sweep_tmp()
                state = self._read_state()
                state[_GARBAGE] = []
                yield state
                garbage: list[Path] = state.pop(_GARBAGE)
                self._write_state(state)
                for p in garbage:
                    self._delete_path(p)
            finally:
                fcntl.flock(lf.fileno(), fcntl.LOCK_UN)

    def _delete_path(self, p: Path) -> None:
        if p.is_dir() and not p.is_symlink():
            trash = self.layers / f".rm-{p.name}"
            os.rename(p, trash)  # out of sight first: a crash never leaves half a layer in place
            shutil.rmtree(trash, ignore_errors=True)
        else:
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def _sweep_tmp(self) -> None:
        for p in self.layers.glob(".*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(".pull-*"):
            pid = p.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(p, ignore_errors=True)   # a pull whose process is gone

    # ---- blobs and layers ----------------------------------------------------------------------

    def _put_blob(self, data: bytes) -> str:
        digest = archive.sha256_digest(data)
        path = self.blobs / _hex(digest)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(prefix=".blob-", dir=self.blobs)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return digest

    def _unpack(self, src: archive.Source, layer: archive.LayerRef, want_diff: str | None,
                state: dict[str, Any]) -> str:
        """Unpack one layer blob unless its diff id is already present; returns the diff id hex."""
        if want_diff and (self.layers / _hex(want_diff)).is_dir() and _hex(want_diff) in state["layers"]:
            return _hex(want_diff)
        with src.open(layer.path) as raw_file:
            return self._unpack_stream(raw_file, layer.digest, want_diff, state, what=layer.path)

    def _unpack_stream(self, raw_file: Any, blob_digest: str | None, want_diff: str | None,
                       state: dict[str, Any], what: str) -> str:
        fsflags.spread_children(self.layers)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.layers))
        try:
            got, size = unpack_layer(raw_file, blob_digest, want_diff, tmp, what)
            final = self.layers / got
            if final.is_dir():
                shutil.rmtree(tmp)
            else:
                os.rename(tmp, final)
            state["layers"][got] = size
            return got
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _record(self, state: dict[str, Any], config: bytes, diff_hexes: list[str],
                refs: list[str], manifest_digest: str | None, *, digests: Iterable[str] = (),
                repo_digest: str | None = None) -> str:
        cfg = json.loads(config)
        config_ids = [_hex(d) for d in (cfg.get("rootfs") or {}).get("diff_ids") or []]
        if config_ids != diff_hexes:
            raise PermanentError("invalid image: layer diff ids do not match the config's rootfs.diff_ids")
        image_hex = _hex(self._put_blob(config))
        rec = state["images"].setdefault(image_hex, {"layers": diff_hexes, "digests": []})
        rec["size"] = len(config) + sum(state["layers"].get(h, 0) for h in diff_hexes)
        rec.setdefault("first_detected", time.time())
        for d in [manifest_digest, *digests]:
            if d and d not in rec["digests"]:
                rec["digests"].append(d)
        if repo_digest:
            self._set_repo_digest(state, image_hex, repo_digest)
        for ref in refs:
            state["refs"][ref] = image_hex  # a ref moves to the new image, like docker load/tag
        return image_hex

    @staticmethod
    def _set_repo_digest(state: dict[str, Any], image_hex: str, repo_digest: str) -> None:
        """``repo@digest`` names one image: it moves here from any other."""
        for other in state["images"].values():
            if repo_digest in other.get("repo_digests", []):
                other["repo_digests"].remove(repo_digest)
        rds = state["images"][image_hex].setdefault("repo_digests", [])
        rds.append(repo_digest)

    # ---- public API ----------------------------------------------------------------------------

    def import_tar(self, path: Path, ref: str | None, changes_: list[str] | None = None) -> Image:
        """Import a plain rootfs tarball as a one-layer image (``podman import``)."""
        try:
            refs = [reference.normalize(ref)] if ref else []
            from podbay.images import changes  # only `image import` needs it

            cfg_obj = changes.apply_changes({}, changes_ or [])
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        with self._locked() as state:
            try:
                f = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError as exc:
                raise NotFound(f"{path}: no such file or directory") from exc
            except OSError as exc:
                raise PermanentError(f"{path}: {exc.strerror}") from exc
            with f:
                diff_hex = self._unpack_stream(f, None, None, state, what=str(path))
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            config = {
                "created": now, "architecture": archive.host_arch(), "os": "linux", "config": cfg_obj,
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_hex]},
                "history": [{"created": now, "created_by": f"podbay import {path}"}],
            }
            data = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
            image_hex = self._record(state, data, [diff_hex], refs, None)
            return self._image(state, image_hex)

    def load(self, path: Path) -> list[Image]:
        """Load every image of an OCI layout dir, an oci-archive or a docker-archive."""
        path = Path(path)
        if not path.exists():
            raise NotFound(f"{path}: no such file or directory")
        src = archive.Source(path)
        try:
            with self._locked() as state:
                loaded = []
                for img in archive.read_images(src):
                    cfg = archive._json(img.config, "image config")
                    want = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
                    if len(want) != len(img.layers):
                        raise PermanentError(f"invalid image archive: {len(img.layers)} layers but "
                                             f"{len(want)} diff ids in the config")
                    diffs = [self._unpack(src, lr, d, state) for lr, d in zip(img.layers, want, strict=True)]
                    refs = []
                    for name in img.names:
                        try:
                            refs.append(reference.normalize(name))
                        except ValueError:
                            continue  # e.g. a bare tag as ref.name: keep the image untagged
                    loaded.append(self._record(state, img.config, diffs, refs, img.manifest_digest))
                return [self._image(state, h) for h in dict.fromkeys(loaded)]
        finally:
            src.close()

    # ---- pulls ---------------------------------------------------------------------------------

    @contextmanager
    def pull_dir(self) -> Iterator[Path]:
        """A private work dir on the store's filesystem (layers unpacked there are renamed into place)."""
        self.root.mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix=f".pull-{os.getpid()}-", dir=self.root))
        try:
            fsflags.spread_children(d)   # each layer in a quiet block group (see podbay.sys.fsflags)
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def find_digest(self, digest: str) -> Image | None:
        """The image loaded or pulled with manifest digest ``digest`` (index or instance), if any."""
        state = self._read_state()
        for h, rec in sorted(state["images"].items()):
            if digest in rec.get("digests", []) and self._layers_present(state, h):
                return self._image(state, h)
        return None

    def knows_repository(self, repository: str) -> bool:
        """Whether any image here is tagged in, or was pulled from, ``repository``."""
        state = self._read_state()
        if any(r.startswith(repository + ":") or r.startswith(repository + "@") for r in state["refs"]):
            return True
        return any(rd.startswith(repository + "@") for rec in state["images"].values()
                   for rd in rec.get("repo_digests", []))

    def has_layer_blob(self, digest: str) -> bool:
        """Whether the layer pulled as blob ``digest`` is unpacked here (no need to stream it)."""
        state = self._read_state()
        h = state["blobs"].get(digest)
        return h is not None and h in state["layers"] and (self.layers / h).is_dir()

    def _layers_present(self, state: dict[str, Any], image_hex: str) -> bool:
        return all(h in state["layers"] and (self.layers / h).is_dir()
                   for h in state["images"][image_hex]["layers"])

    def tag_pulled(self, ref: str, image_id: str, repo_digest: str, digests: list[str]) -> Image:
        """Point ``ref`` at an image already here (a pull whose digest was known: no download)."""
        with self._locked() as state:
            image_hex = _hex(image_id)
            if image_hex not in state["images"]:
                raise NotFound(f"image {image_id} is gone")
            rec = state["images"][image_hex]
            for d in digests:
                if d not in rec["digests"]:
                    rec["digests"].append(d)
            self._set_repo_digest(state, image_hex, repo_digest)
            state["refs"][ref] = image_hex
            return self._image(state, image_hex)

    def import_pulled(self, layout: Path, work: Path, ref: str, repo_digest: str, digests: list[str],
                      streamed: Mapping[str, Any] | None = None) -> Image:
        """Import the one image of a pulled OCI layout under ``ref`` (never the layout's ref.name, which
        skopeo sets to a bare tag). Layers are unpacked in ``work`` without the lock, then renamed in;
        ``streamed`` (blob digest -> Streamed) are layers already unpacked while they downloaded, used
        only when their computed digests are the manifest's and the config's."""
        src = archive.Source(Path(layout))
        try:
            images = archive.read_images(src)
            if len(images) != 1:
                raise PermanentError(f"pulled layout holds {len(images)} images, expected one")
            img = images[0]
            cfg = archive._json(img.config, "image config")
            want = [str(d) for d in (cfg.get("rootfs") or {}).get("diff_ids") or []]
            if len(want) != len(img.layers):
                raise PermanentError(f"invalid image: {len(img.layers)} layers but {len(want)} diff ids in the config")
            snapshot = self._read_state()
            ready: dict[str, tuple[Path, int]] = {}
            todo = []
            for i, (lr, d) in enumerate(zip(img.layers, want, strict=True)):
                if _hex(d) in snapshot["layers"] and (self.layers / _hex(d)).is_dir():
                    continue
                got = (streamed or {}).get(lr.digest or "")
                if got is not None and got.diff_hex == _hex(d):
                    ready[got.diff_hex] = (got.dir, got.size)
                    continue
                todo.append((i, lr, d))

            def unpack(item: tuple[int, archive.LayerRef, str]) -> tuple[str, Path, int]:
                i, lr, d = item
                dest = Path(work) / f"layer-{i}"
                dest.mkdir(mode=0o755)
                with src.open(lr.path) as f:
                    got, size = unpack_layer(f, lr.digest, d, dest, lr.path)
                return got, dest, size

            # Layers are independent until they are stacked: unpack them at once (decompression,
            # hashing and the file system calls all release the GIL).
            if len(todo) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=min(4, len(todo)), thread_name_prefix="unpack") as pool:
                    for got, dest, size in pool.map(unpack, todo):
                        ready[got] = (dest, size)
            else:
                for got, dest, size in map(unpack, todo):
                    ready[got] = (dest, size)
            with self._locked() as state:
                diffs = []
                for lr, d in zip(img.layers, want, strict=True):
                    h = _hex(d)
                    final = self.layers / h
                    if h in ready and not (final.is_dir() and h in state["layers"]):
                        if final.is_dir():
                            shutil.rmtree(final)   # an unrecorded leftover
                        os.rename(ready[h][0], final)
                        state["layers"][h] = ready[h][1]
                    elif not (final.is_dir() and h in state["layers"]):
                        self._unpack(src, lr, d, state)   # removed since the snapshot: unpack it now
                    if lr.digest:
                        state["blobs"][lr.digest] = h
                    diffs.append(h)
                image_hex = self._record(state, img.config, diffs, [ref], img.manifest_digest, digests=digests,
                                         repo_digest=repo_digest)
                return self._image(state, image_hex)
        finally:
            src.close()

    # ---- use records (GC) ----------------------------------------------------------------------

    def mark_used(self, image_id: str, now: float | None = None) -> None:
        """Remember that a container was started from ``image_id`` (least-recently-used GC order)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "used.lock", "a") as lf:
            fcntl.flock(lf.fileno(), fcntl.LOCK_EX)
            used = self.last_used()
            used[_hex(image_id)] = time.time() if now is None else now
            atomic_write(self._used_file, json.dumps(used, sort_keys=True).encode(), 0o644)

    def last_used(self) -> dict[str, float]:
        with contextlib.suppress(FileNotFoundError, ValueError):
            data = json.loads(self._used_file.read_text())
            if isinstance(data, dict):
                return {str(k): float(v) for k, v in data.items()}
        return {}

    def ids_of(self, refs_or_ids: Iterable[str]) -> set[str]:
        """Image ids (``sha256:...``) that the given refs, repo digests or ids name; unknown ones are skipped."""
        state = self._read_state()
        out = set()
        for r in refs_or_ids:
            h = self._find(state, r)
            if h is not None:
                out.add("sha256:" + h)
        return out

    def mounted_ids(self) -> set[str]:
        """Images a live overlay mount is made of (a container of theirs exists)."""
        state = self._read_state()
        from podbay.sys.mount import mounts

        stacks = [_lowerdirs(m.super_options) for m in mounts() if m.fstype == "overlay"]
        out = set()
        for h, rec in state["images"].items():
            if [str(self.layers / lh) for lh in rec["layers"]] in stacks:
                out.add("sha256:" + h)
        return out

    def list(self) -> list[Image]:
        state = self._read_state()
        return [self._image(state, h) for h in sorted(state["images"])]

    def resolve(self, ref: str) -> Image:
        state = self._read_state()
        image_hex = self._find(state, ref)
        if image_hex is None:
            try:
                shown = reference.normalize(ref)
            except ValueError:
                shown = ref
            raise NotFound(f'image "{shown}" not found in the local store')
        return self._image(state, image_hex)

    def remove(self, ref_or_id: str, *, force: bool = False) -> Removed:
        """Untag a ref (deleting the image when it was the last one), or delete an image by id."""
        with self._locked() as state:
            image_hex = self._find(state, ref_or_id)
            if image_hex is None:
                raise NotFound(f"{ref_or_id}: image not known")
            refs = sorted(r for r, h in state["refs"].items() if h == image_hex)
            by_ref = self._ref_key(state, ref_or_id)
            if by_ref is not None:
                untag = [by_ref]
            elif len(refs) > 1 and not force:
                raise Conflict(f"unable to delete image {image_hex[:12]} (must be forced) - "
                               "image is referenced in multiple repositories")
            else:
                untag = refs
            remaining = [r for r in refs if r not in untag]
            if not remaining:
                self._check_unused(state, image_hex)
            for r in untag:
                del state["refs"][r]
            if remaining:
                return Removed(untag, None)
            self._delete_image(state, image_hex)
            return Removed(untag, "sha256:" + image_hex)

    # ---- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _ref_key(state: dict[str, Any], ref: str) -> str | None:
        try:
            norm = reference.normalize(ref)
        except ValueError:
            return None
        return norm if norm in state["refs"] else None

    def _find(self, state: dict[str, Any], ref: str) -> str | None:
        key = self._ref_key(state, ref)
        if key is not None:
            return str(state["refs"][key])
        try:
            parsed = reference.parse(ref)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.digest:  # repo@sha256:<manifest digest>
            wanted = f"{parsed.repository}@{parsed.digest}"
            for h, rec in state["images"].items():
                if wanted in rec.get("repo_digests", []):
                    return str(h)
            for h, rec in state["images"].items():
                repos = {reference.parse(r).repository for r, ih in state["refs"].items() if ih == h}
                if parsed.digest in rec.get("digests", []) and parsed.repository in repos:
                    return str(h)
        hexpart = _hex(ref)
        if len(hexpart) >= 3 and all(c in "0123456789abcdef" for c in hexpart):
            matches = [h for h in state["images"] if h.startswith(hexpart)]
            if len(matches) == 1:
                return str(matches[0])
        return None

    def _image(self, state: dict[str, Any], image_hex: str) -> Image:
        rec = state["images"][image_hex]
        cfg = json.loads((self.blobs / image_hex).read_bytes())
        return Image(
            id="sha256:" + image_hex,
            refs=sorted(r for r, h in state["refs"].items() if h == image_hex),
            layer_dirs=[self.layers / h for h in rec["layers"]],
            config=dict(cfg.get("config") or {}),
            created=str(cfg.get("created") or ""),
            size=int(rec.get("size", 0)),
            digests=list(rec.get("digests", [])),
            repo_digests=list(rec.get("repo_digests", [])),
            first_detected=float(rec.get("first_detected", 0.0)),
        )

    def _check_unused(self, state: dict[str, Any], image_hex: str) -> None:
        """Refuse to delete an image a container's overlay mount uses, or a layer one still mounts.
        (A layer shared with another image stays anyway, so a container of that one is no obstacle.)"""
        layers = state["images"][image_hex]["layers"]
        shared = {h for other, rec in state["images"].items() if other != image_hex for h in rec["layers"]}
        own = {str(self.layers / h) for h in layers if h not in shared}
        want = [str(self.layers / h) for h in layers]
        from podbay.sys.mount import mounts

        for m in mounts():
            if m.fstype != "overlay":
                continue
            lower = _lowerdirs(m.super_options)
            if lower == want or own & set(lower):
                raise Conflict(f"image sha256:{image_hex[:12]} is in use by a container (mounted at {m.mount_point})")

    def _delete_image(self, state: dict[str, Any], image_hex: str) -> None:
        rec = state["images"].pop(image_hex)
        still = {h for other in state["images"].values() for h in other["layers"]}
        for h in rec["layers"]:
            if h in still:
                continue
            state["layers"].pop(h, None)
            for blob in [b for b, lh in state["blobs"].items() if lh == h]:
                del state["blobs"][blob]
            state[_GARBAGE].append(self.layers / h)
        state[_GARBAGE].append(self.blobs / image_hex)


def _lowerdirs(super_options: str) -> list[str]:
    """The lowerdir list of overlay mount options, lowest layer first (the inverse of rootfs.overlay_options)."""
    for opt in re.split(r"(?<!\\),", super_options):
        if opt.startswith("lowerdir="):
            parts = re.split(r"(?<!\\):", opt[len("lowerdir="):])
            return [p.replace("\\:", ":").replace("\\,", ",").replace("\\\\", "\\") for p in reversed(parts)]
    return []


def unpack_blob(raw_file: Any, dest: Path) -> tuple[str, str, int]:
    """Unpack one (gzip'd or plain) layer stream into the empty dir ``dest``; returns the sha256 hex of
    the blob and of the tar (the diff id) and the tar's size. Verifying them is the caller's job."""
    head = raw_file.read(4)
    raw_file.seek(0)
    os.chmod(dest, 0o755)
    if head[:2] == b"\x1f\x8b":
        gz = PipelinedGunzip(raw_file)
        try:
            extract_layer(gz, dest)
            gz.drain()
        finally:
            gz.close()
        return gz.raw_hash.hexdigest(), gz.diff_hash.hexdigest(), gz.size
    raw = HashingReader(raw_file)
    diff = HashingReader(decompressed(raw, head))
    extract_layer(diff, dest)
    diff.drain()
    raw.drain()
    return raw.hexdigest(), diff.hexdigest(), diff.size


def unpack_layer(raw_file: Any, blob_digest: str | None, want_diff: str | None, dest: Path,
                 what: str) -> tuple[str, int]:
    """``unpack_blob`` verifying the blob digest and the diff id; returns (diff id hex, size)."""
    raw_hex, diff_hex, size = unpack_blob(raw_file, dest)
    if blob_digest and "sha256:" + raw_hex != blob_digest:
        raise PermanentError(f"layer {what}: digest mismatch (want {blob_digest}, got sha256:{raw_hex})")
    if want_diff and diff_hex != _hex(want_diff):
        raise PermanentError(f"layer {what}: diff id mismatch (want {want_diff}, got sha256:{diff_hex})")
    return diff_hex, size
