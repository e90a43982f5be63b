"""nfs volume plugin against a fake mount(8): argv, idempotency, kubelet error text, teardown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from podbay.errors import MountFailure
from podbay.sys.run import Completed
from podbay.volumes import nfs


class FakeHost:
    """Records mount argv; a successful mount marks its target as mounted."""

    def __init__(self, rc: int = 0, stderr: str = "") -> None:
        self.rc, self.stderr = rc, stderr
        self.calls: list[list[str]] = []
        self.mounted: set[str] = set()
        self.unmounted: list[tuple[str, bool]] = []
        self.busy = False

    def run(self, argv: Sequence[str]) -> Completed:
        self.calls.append(list(argv))
        if self.rc == 0:
            self.mounted.add(argv[-1])
        return Completed(list(argv), self.rc, "", self.stderr)

    def unmount(self, path: str, detach: bool) -> bool:
        if self.busy and not detach:
            raise MountFailure(f"umount {path}: Device or resource busy")
        self.unmounted.append((path, detach))
        self.mounted.discard(path)
        return True

    def mounter(self) -> nfs.Mounter:
        return nfs.Mounter(run=self.run, is_mounted=lambda p: p in self.mounted, unmount=self.unmount)


def test_mount_source_and_args() -> None:
    assert nfs.mount_source("10.0.0.5", "/exports/a") == "10.0.0.5:/exports/a"
    assert nfs.mount_source("fd00::5", "/x") == "[fd00::5]:/x"
    assert nfs.mount_source("nas.local", "/x") == "nas.local:/x"
    assert nfs.mount_args("s:/x", "/t", False) == ["-t", "nfs", "s:/x", "/t"]
    assert nfs.mount_args("s:/x", "/t", True, ["vers=4.2"]) == ["-t", "nfs", "-o", "vers=4.2,ro", "s:/x", "/t"]


def test_setup_mounts_once_under_the_pod_dir(tmp_path: Path) -> None:
    host = FakeHost()
    pod_dir = tmp_path / "pods" / "uid"
    src = {"server": "127.0.0.1", "path": "/srv/share", "readOnly": True}
    path = nfs.setup_nfs(pod_dir, "share", src, mounter=host.mounter())
    target = pod_dir / "volumes" / "kubernetes.io~nfs" / "share"
    assert path == str(target) and target.is_dir()
    assert host.calls == [["mount", "-t", "nfs", "-o", "ro", "127.0.0.1:/srv/share", str(target)]]
    assert nfs.setup_nfs(pod_dir, "share", src, mounter=host.mounter()) == path
    assert len(host.calls) == 1   # already mounted: idempotent


def test_setup_failure_has_kubelet_wording_and_cleans_up(tmp_path: Path) -> None:
    host = FakeHost(rc=32, stderr="mount.nfs: Connection refused\n")
    pod_dir = tmp_path / "pods" / "uid"
    with pytest.raises(MountFailure) as info:
        nfs.setup_nfs(pod_dir, "share", {"server": "10.9.9.9", "path": "/x"}, mounter=host.mounter())
    target = pod_dir / "volumes" / "kubernetes.io~nfs" / "share"
    assert str(info.value) == (
        'MountVolume.SetUp failed for volume "share" : mount failed: exit status 32\n'
        "Mounting command: mount\n"
        f"Mounting arguments: -t nfs 10.9.9.9:/x {target}\n"
        "Output: mount.nfs: Connection refused"
    )
    assert not target.exists()


def test_missing_mount_binary_is_a_mount_failure(tmp_path: Path) -> None:
    from podbay.errors import RuntimeFailure

    def missing(argv: Sequence[str]) -> Completed:
        raise RuntimeFailure("mount: not found", argv=argv)

    m = nfs.Mounter(run=missing, is_mounted=lambda p: False, unmount=lambda p, d: False)
    with pytest.raises(MountFailure, match=r'volume "v" : mount failed: mount: not found'):
        nfs.setup_nfs(tmp_path, "v", {"server": "s", "path": "/p"}, mounter=m)


def test_teardown_all_unmounts_and_removes_only_mount_points(tmp_path: Path) -> None:
    host = FakeHost()
    pod = {"spec": {"volumes": [{"name": "a", "nfs": {"server": "s", "path": "/a"}},
                                {"name": "b", "nfs": {"server": "s", "path": "/b"}},
                                {"name": "e", "emptyDir": {}}]}}
    paths = nfs.setup_all(pod, tmp_path, mounter=host.mounter())
    assert sorted(paths) == ["a", "b"]
    host.busy = True   # first umount fails busy: lazy detach, as for a dead server
    nfs.teardown_all(tmp_path, mounter=host.mounter())
    assert sorted(host.unmounted) == [(paths["a"], True), (paths["b"], True)]
    assert not (tmp_path / "volumes" / "kubernetes.io~nfs").exists()
    nfs.teardown_all(tmp_path, mounter=host.mounter())   # idempotent


def test_teardown_refuses_to_delete_files_in_an_unmounted_dir(tmp_path: Path) -> None:
    # If the mount point holds files, something is wrong (still mounted?): fail, never rm -rf.
    target = nfs.volume_dir(tmp_path, "v")
    target.mkdir(parents=True)
    (target / "precious").write_text("x")
    with pytest.raises(MountFailure, match="cannot remove nfs mount point .*: Directory not empty"):
        nfs.teardown_nfs(tmp_path, "v", mounter=FakeHost().mounter())
    assert (target / "precious").exists()
