"""``nfs`` volumes: the kubelet's nfs plugin (mount(8) of server:path under the pod dir).

The mount lives at ``<pod_dir>/volumes/kubernetes.io~nfs/<name>``; ``readOnly`` mounts it ``ro``.
Errors keep the kubelet's shape: ``MountVolume.SetUp failed for volume "<name>" : mount failed:
exit status 32\\nMounting command: mount\\nMounting arguments: ...\\nOutput: ...``.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podbay.errors import MountFailure, RuntimeFailure
from podbay.sys import mount as sysmount
from podbay.sys.run import Completed, run
from podbay.volumes.fsutil import ensure_dir, ensure_pod_dir

PLUGIN_DIR = "kubernetes.io~nfs"
MOUNT_BINARY = "mount"


def _run_mount(argv: Sequence[str]) -> Completed:
    return run(argv, check=False, timeout=120.0)


@dataclass(frozen=True)
class Mounter:
    """The host operations the plugin needs; tests inject fakes."""

    run: Callable[[Sequence[str]], Completed] = _run_mount
    is_mounted: Callable[[str], bool] = field(default=sysmount.is_mount_point)
    unmount: Callable[[str, bool], bool] = field(default=lambda path, detach: sysmount.umount(path, detach=detach))


def is_nfs_volume(volume: dict[str, Any]) -> bool:
    return volume.get("nfs") is not None


def mount_source(server: str, path: str) -> str:
    """server:path, with an IPv6 literal bracketed as the kubelet does."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(server).version == 6:
            server = f"[{server}]"
    return f"{server}:{path}"


def mount_args(source: str, target: str, read_only: bool, options: Sequence[str] = ()) -> list[str]:
    """MakeMountArgs: ``-t nfs [-o opts] source target``; readOnly appends ``ro``."""
    opts = [*options, *(["ro"] if read_only else [])]
    args = ["-t", "nfs"]
    if opts:
        args += ["-o", ",".join(opts)]
    return [*args, source, target]


def volume_dir(pod_dir: Path | str, name: str) -> Path:
    return Path(pod_dir) / "volumes" / PLUGIN_DIR / name


def _failed(name: str, msg: str) -> MountFailure:
    # A server may come back: retryable, unlike a bad spec.
    return MountFailure(f'MountVolume.SetUp failed for volume "{name}" : {msg}')


def setup_nfs(
    pod_dir: Path | str,
    name: str,
    source: dict[str, Any],
    *,
    options: Sequence[str] = (),
    mounter: Mounter | None = None,
) -> str:
    """Mount the nfs volume (idempotent: an existing mount is kept) and return its host path.

    options: extra mount options (the kubelet has none for an inline nfs source; a PV's
    mountOptions would go here, e.g. ``vers=4.2``).
    """
    m = mounter or Mounter()
    pod_dir = Path(pod_dir)
    target = volume_dir(pod_dir, name)
    if target.is_dir() and m.is_mounted(str(target)):
        return str(target)
    ensure_pod_dir(pod_dir)
    ensure_dir(target.parent)
    ensure_dir(target)
    args = mount_args(mount_source(str(source.get("server", "")), str(source.get("path", ""))), str(target),
                      bool(source.get("readOnly")), options)
    try:
        res = m.run([MOUNT_BINARY, *args])
        err = "" if res.rc == 0 else f"exit status {res.rc}"
        output = (res.stdout + res.stderr).strip()
    except RuntimeFailure as exc:   # mount(8) missing or hung
        err, output = str(exc), ""
    if err:
        # Leave no half-made mount point behind, as the kubelet's nfs SetUpAt does.
        if m.is_mounted(str(target)):
            m.unmount(str(target), False)
        with contextlib.suppress(OSError):
            target.rmdir()
        raise _failed(name, f"mount failed: {err}\nMounting command: {MOUNT_BINARY}\n"
                            f"Mounting arguments: {' '.join(args)}\nOutput: {output}")
    return str(target)


def teardown_nfs(pod_dir: Path | str, name: str, *, mounter: Mounter | None = None) -> None:
    """Unmount (if mounted) and remove the mount point; server data is never touched."""
    m = mounter or Mounter()
    target = volume_dir(pod_dir, name)
    if target.is_symlink() or not target.exists():
        return
    if m.is_mounted(str(target)):
        try:
            m.unmount(str(target), False)
        except MountFailure:
            m.unmount(str(target), True)  # busy (a dead server, a process inside): detach lazily
    try:
        target.rmdir()   # never rm -rf here: files in it mean it is somehow still someone's data
    except OSError as exc:
        raise MountFailure(f"cannot remove nfs mount point {target}: {exc.strerror}") from exc


def setup_all(pod: dict[str, Any], pod_dir: Path | str, *, mounter: Mounter | None = None) -> dict[str, str]:
    """volume name -> host path for every nfs volume of the pod."""
    vols = (pod.get("spec") or {}).get("volumes") or []
    return {v["name"]: setup_nfs(pod_dir, v["name"], v["nfs"], mounter=mounter) for v in vols if is_nfs_volume(v)}


def teardown_all(pod_dir: Path | str, *, mounter: Mounter | None = None) -> None:
    """Tear down every nfs volume found on disk (works without the pod spec)."""
    base = Path(pod_dir) / "volumes" / PLUGIN_DIR
    if not base.is_dir() or base.is_symlink():
        return
    for entry in sorted(base.iterdir()):
        teardown_nfs(pod_dir, entry.name, mounter=mounter)
    with contextlib.suppress(OSError):
        base.rmdir()
