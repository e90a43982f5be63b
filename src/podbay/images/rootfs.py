"""A container's root filesystem: the image layers as overlayfs lowerdirs plus a private upper."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from podbay.errors import MountFailure, NotSupported
from podbay.sys import mount as sysmount

_PAGE = 4096  # mount(2) data is copied into one page


def _escape(path: Path) -> str:
    # overlayfs splits lowerdir on ':' and the option string on ','
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")


def overlay_options(layer_dirs: Sequence[Path], upper: Path, work: Path) -> str:
    """The overlay mount data; lowerdir lists the top-most layer first (pure)."""
    lower = ":".join(_escape(Path(d)) for d in reversed(layer_dirs))
    return f"lowerdir={lower},upperdir={_escape(upper)},workdir={_escape(work)}"


def mount_overlay(layer_dirs: Sequence[Path], container_dir: Path) -> Path:
    """Mount the layers at ``container_dir/rootfs`` (idempotent); returns the rootfs path."""
    container_dir = Path(container_dir)
    upper, work, rootfs = container_dir / "upper", container_dir / "work", container_dir / "rootfs"
    for d in (upper, work, rootfs):
        d.mkdir(parents=True, exist_ok=True)
    if sysmount.is_mount_point(str(rootfs)):
        return rootfs
    lowers = [Path(d) for d in layer_dirs]
    if not lowers:  # an image without layers (import of an empty tar) still gets a rootfs
        empty = container_dir / "empty"
        empty.mkdir(exist_ok=True)
        lowers = [empty]
    for d in lowers:
        if not d.is_dir():
            raise MountFailure(f"image layer {d} is missing; remove and load the image again")
    data = overlay_options(lowers, upper, work)
    if len(data.encode()) >= _PAGE:
        raise NotSupported(f"image has too many layers ({len(lowers)}) for one overlay mount")
    os.chmod(upper, 0o755)
    sysmount.mount("overlay", str(rootfs), "overlay", 0, data)
    return rootfs


def unmount(container_dir: Path) -> None:
    """Unmount ``container_dir/rootfs`` and anything below it (idempotent)."""
    rootfs = Path(container_dir) / "rootfs"
    if rootfs.exists():
        sysmount.unmount_all_under(os.path.realpath(rootfs))
