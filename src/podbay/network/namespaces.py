"""Pod-level net/uts/ipc namespaces pinned by bind mounts (no pause process needed to hold them).

util-linux `unshare --net=FILE` bind-mounts the new namespace onto FILE, so the namespaces live
until `unpin` unmounts them; containers join them by path in their OCI spec.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podbay.errors import RuntimeFailure
from podbay.network.podfiles import kernel_hostname
from podbay.ports import PinnedNamespaces
from podbay.sys.mount import fs_type_magic, umount
from podbay.sys.run import run

NSFS_MAGIC = 0x6E736673
KINDS = ("net", "uts", "ipc")



def hostname_for(pod: Mapping[str, Any]) -> str:
    """The UTS hostname of the pod (SEMANTICS §8); FQDN only with setHostnameAsFQDN."""
    return kernel_hostname(pod)


def _paths(ns_dir: Path) -> PinnedNamespaces:
    return PinnedNamespaces(ns_dir / "net", ns_dir / "uts", ns_dir / "ipc")


def _is_ns(path: Path) -> bool:
    return fs_type_magic(str(path)) == NSFS_MAGIC


def is_pinned(ns_dir: Path) -> bool:
    return all(_is_ns(Path(ns_dir) / k) for k in KINDS)


def _hostname_argv(hostname: str) -> list[str]:
    exe = shutil.which("hostname")
    if exe:
        return [exe, hostname]
    bb = shutil.which("busybox")
    if bb:
        return [bb, "hostname", hostname]
    raise RuntimeFailure("neither hostname nor busybox found to set the pod hostname")


def pin(ns_dir: Path, hostname: str) -> PinnedNamespaces:
    """Create (or return the existing) pinned net/uts/ipc namespaces with the hostname set."""
    ns_dir = Path(ns_dir)
    paths = _paths(ns_dir)
    if is_pinned(ns_dir):
        return paths
    # A half-pinned dir is a crash before any CNI ADD: start over rather than mix namespaces.
    unpin(ns_dir)
    ns_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ns_dir, 0o700)
    for p in (paths.net, paths.uts, paths.ipc):
        p.touch(mode=0o600)
    argv = ["unshare", f"--net={paths.net}", f"--uts={paths.uts}", f"--ipc={paths.ipc}",
            *_hostname_argv(hostname)]
    try:
        run(argv, timeout=30)
        if not is_pinned(ns_dir):
            raise RuntimeFailure(f"unshare did not pin the namespaces in {ns_dir}", argv=argv)
    except BaseException:
        unpin(ns_dir)
        raise
    return paths


def unpin(ns_dir: Path) -> None:
    """Unmount the pinned namespaces and remove their files and the dir; idempotent."""
    ns_dir = Path(ns_dir)
    for kind in KINDS:
        p = ns_dir / kind
        # Loop: a repeated pin over a live mount would have stacked a second bind mount.
        while p.exists() and umount(str(p)):
            pass
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    try:
        ns_dir.rmdir()
    except FileNotFoundError:
        pass
