"""Image store against the real kernel: the busybox test image and whiteouts through overlayfs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.images import rootfs, testimage
from podbay.images.store import ImageStore
from podbay.sys.mount import mounts_under

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlayfs, mknod)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="needs busybox-static"),
]


@pytest.fixture
def containers(tmp_path: Path) -> Iterator[Path]:
    base = tmp_path / "containers"
    base.mkdir()
    try:
        yield base
    finally:
        for c in base.iterdir():
            rootfs.unmount(c)
        assert mounts_under(str(tmp_path)) == []


def _tree(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(path)): (p.lstat().st_mode, p.lstat().st_mtime_ns) for p in path.rglob("*")}


def test_busybox_image_end_to_end(tmp_path: Path, containers: Path) -> None:
    out = tmp_path / "busybox.tar"
    proc = subprocess.run([str(REPO / "scripts/build-test-image.sh"), str(out)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    store = ImageStore(tmp_path / "state" / "images")
    [loaded] = store.load(out)
    img = store.resolve("busybox:1.35")
    assert img == loaded and img.refs == ["docker.io/library/busybox:1.35"]
    assert img.config == {"Cmd": ["sh"], "Env": [testimage.PATH_ENV]}
    assert len(img.layer_dirs) == 1  # a single-layer image mounts too
    layer = img.layer_dirs[0]
    before = _tree(layer)

    cdir = containers / "c1"
    root = rootfs.mount_overlay(img.layer_dirs, cdir)
    assert root == cdir / "rootfs"
    assert rootfs.mount_overlay(img.layer_dirs, cdir) == root  # idempotent: no second mount
    assert mounts_under(str(cdir)) == [str(root)]
    assert (root / "bin/sh").is_symlink() and os.readlink(root / "bin/sh") == "busybox"
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert "user:x:1001:1001:" in (root / "etc/passwd").read_text()
    assert "nobody:x:65534:" in (root / "etc/group").read_text()

    # the image runs: chroot into the overlay and use a few applets
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    run = subprocess.run([chroot, str(root), "/bin/sh", "-c", "echo hi > /tmp/x && cat /tmp/x && id -u"],
                         capture_output=True, text=True, timeout=10, env={"PATH": "/bin"})
    assert run.stdout.split() == ["hi", "0"], run.stderr
    (root / "etc/hosts").write_text("changed\n")
    assert (cdir / "upper/tmp/x").read_text() == "hi\n"
    assert (cdir / "upper/etc/hosts").read_text() == "changed\n"
    assert "changed" not in (layer / "etc/hosts").read_text()
    assert _tree(layer) == before  # the shared layer is never written

    rootfs.unmount(cdir)
    rootfs.unmount(cdir)  # idempotent
    assert mounts_under(str(cdir)) == []
    assert not (root / "bin").exists()


def _layer(entries: list[tuple[str, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in entries:
            ti = tarfile.TarInfo(name)
            if name.endswith("/"):
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
            else:
                ti.size = len(text)
                tar.addfile(ti, io.BytesIO(text.encode()))
    return buf.getvalue()


def _sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _docker_archive(path: Path, layers: list[bytes], tag: str) -> None:
    conf = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": [_sha(x) for x in layers]}}).encode()
    files = {"config.json": conf, "manifest.json": json.dumps([{
        "Config": "config.json", "RepoTags": [tag], "Layers": [f"l{i}/layer.tar" for i in range(len(layers))]}]).encode()}
    files.update({f"l{i}/layer.tar": gzip.compress(x) if i else x for i, x in enumerate(layers)})
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))


def test_whiteouts_through_overlay(tmp_path: Path, containers: Path) -> None:
    lower = _layer([("etc/", ""), ("etc/keep", "k"), ("etc/gone", "g"),
                    ("cache/", ""), ("cache/a", "a"), ("cache/sub/", ""), ("cache/sub/b", "b")])
    upper = _layer([("etc/.wh.gone", ""), ("cache/", ""), ("cache/.wh..wh..opq", ""), ("cache/fresh", "f")])
    archive = tmp_path / "wh.tar"
    _docker_archive(archive, [lower, upper], "localhost/wh:1")
    store = ImageStore(tmp_path / "state" / "images")
    [img] = store.load(archive)
    assert len(img.layer_dirs) == 2

    root = rootfs.mount_overlay(img.layer_dirs, containers / "c")
    assert (root / "etc/keep").read_text() == "k"
    assert not (root / "etc/gone").exists()
    assert sorted(os.listdir(root / "etc")) == ["keep"]
    assert sorted(os.listdir(root / "cache")) == ["fresh"]  # opaque: lower content hidden
    assert (img.layer_dirs[0] / "cache/sub/b").exists()  # still in the lower layer itself
    rootfs.unmount(containers / "c")
    assert mounts_under(str(containers)) == []


def test_remove_refuses_while_mounted(tmp_path: Path, containers: Path) -> None:
    archive = tmp_path / "a.tar"
    _docker_archive(archive, [_layer([("f", "x")])], "localhost/busy:1")
    store = ImageStore(tmp_path / "state" / "images")
    [img] = store.load(archive)
    rootfs.mount_overlay(img.layer_dirs, containers / "c")
    from podbay.errors import Conflict

    with pytest.raises(Conflict, match="in use"):
        store.remove("localhost/busy:1")
    assert store.resolve("localhost/busy:1").id == img.id
    rootfs.unmount(containers / "c")
    assert store.remove("localhost/busy:1").deleted == img.id
    assert not img.layer_dirs[0].exists()
