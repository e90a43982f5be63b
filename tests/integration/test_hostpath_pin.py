"""hostPath under --allowed-host-path (issue 11 item 1), with real mounts (root; all in tmp dirs).

The path is resolved beneath its prefix without following a symlink and the inode found is bound from
its fd at every container start, so a container that swaps a directory for a symlink to `/` between
two starts gets a refusal, never the host's root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.errors import PermanentError
from podbay.sys import mount as sysmount
from podbay.volumes import hostpath, manager, subpath
from podbay.volumes.hostpath import setup_host_path
from podbay.volumes.plan import VolumePlan

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def _root(tmp_path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    yield
    left = sysmount.mounts_under(str(tmp_path.resolve()))
    sysmount.unmount_all_under(str(tmp_path.resolve()))
    assert left == [], f"test left mounts behind: {left}"


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    d = tmp_path / "allowed"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "data").write_text("inside")
    return d


@pytest.fixture
def pod_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "pods" / "uid"
    d.mkdir(parents=True)
    yield d
    manager.teardown_pod_volumes(d)


def pin(path: Path, allowed: Path, pod_dir: Path, t: str = "Directory", idx: int = 0) -> str:
    return hostpath.pin_host_path(str(path), t, [str(allowed)], pod_dir, "v", "c", idx)


def same_inode(a: str | Path, b: str | Path) -> bool:
    sa, sb = os.stat(a), os.stat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def test_pin_binds_the_checked_inode_and_is_reused(allowed: Path, pod_dir: Path) -> None:
    target = pin(allowed / "sub", allowed, pod_dir)
    assert target == str(pod_dir / "volume-hostpaths" / "v" / "c" / "0")
    assert sysmount.is_mount_point(target) and same_inode(target, allowed / "sub")
    assert (Path(target) / "data").read_text() == "inside"
    assert pin(allowed / "sub", allowed, pod_dir) == target          # restart: the same bind, not a new one
    assert sum(m.mount_point == target for m in sysmount.mounts()) == 1


def test_a_swapped_symlink_to_root_is_refused_at_the_next_start(allowed: Path, pod_dir: Path) -> None:
    first = pin(allowed / "sub", allowed, pod_dir)
    (allowed / "sub" / "data").unlink()
    (allowed / "sub").rmdir()
    (allowed / "sub").symlink_to("/")
    with pytest.raises(PermanentError) as ei:
        pin(allowed / "sub", allowed, pod_dir, idx=1)
    assert str(ei.value) == (f'MountVolume.SetUp failed for volume "v" : hostPath {allowed / "sub"} is not under '
                             f"an allowed prefix: ['{allowed}']")
    assert not os.path.lexists(pod_dir / "volume-hostpaths" / "v" / "c" / "1")
    assert not any(same_inode(m.mount_point, "/") for m in sysmount.mounts()
                   if m.mount_point.startswith(str(pod_dir)))
    assert sysmount.is_mount_point(first)   # the running attempt keeps what it had


def test_symlinks_that_stay_inside_the_prefix_work(allowed: Path, pod_dir: Path) -> None:
    (allowed / "abs").symlink_to(allowed / "sub")     # absolute, but inside
    (allowed / "rel").symlink_to("sub")
    assert same_inode(pin(allowed / "abs", allowed, pod_dir, idx=0), allowed / "sub")
    assert same_inode(pin(allowed / "rel", allowed, pod_dir, idx=1), allowed / "sub")


def test_type_is_checked_on_the_pinned_inode(allowed: Path, pod_dir: Path) -> None:
    (allowed / "f").write_text("x")
    with pytest.raises(PermanentError, match=f"hostPath type check failed: {allowed / 'f'} is not a directory"):
        pin(allowed / "f", allowed, pod_dir)
    target = pin(allowed / "f", allowed, pod_dir, "File")
    assert Path(target).read_text() == "x" and Path(target).is_file()


def test_or_create_never_creates_outside_the_prefix(allowed: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "esc").symlink_to(outside)
    for t, leaf in (("DirectoryOrCreate", "d"), ("FileOrCreate", "f"), ("", "u")):
        plan = VolumePlan(name="h", plugin="host-path", host_path=str(allowed / "esc" / leaf), host_path_type=t)
        with pytest.raises(PermanentError, match="not under an allowed prefix"):
            setup_host_path(plan, [str(allowed)])
    assert list(outside.iterdir()) == []
    made = VolumePlan(name="h", plugin="host-path", host_path=str(allowed / "new" / "deep"),
                      host_path_type="DirectoryOrCreate")
    assert setup_host_path(made, [str(allowed)]) == str(allowed / "new" / "deep")
    assert (allowed / "new" / "deep").is_dir() and (os.stat(allowed / "new").st_mode & 0o777) == 0o755


def test_a_removed_or_create_path_is_made_again_at_the_next_start(allowed: Path, pod_dir: Path) -> None:
    gone = allowed / "gone"
    pin(gone, allowed, pod_dir, "DirectoryOrCreate")
    sysmount.unmount_all_under(str(pod_dir / "volume-hostpaths"))
    gone.rmdir()
    assert same_inode(pin(gone, allowed, pod_dir, "DirectoryOrCreate", idx=1), gone)


def test_subpath_of_a_pinned_host_path_stays_inside_it(allowed: Path, pod_dir: Path) -> None:
    target = pin(allowed, allowed, pod_dir)
    bound = subpath.prepare_subpath(target, "sub", pod_dir, "v", "c", 0)
    assert same_inode(bound, allowed / "sub")
    (allowed / "sub" / "data").unlink()
    (allowed / "sub").rmdir()
    (allowed / "sub").symlink_to("/")
    with pytest.raises(PermanentError, match="failed to prepare subPath"):
        subpath.prepare_subpath(target, "sub", pod_dir, "v", "c", 1)


def test_teardown_unmounts_pins_and_keeps_host_data(allowed: Path, pod_dir: Path) -> None:
    pin(allowed / "sub", allowed, pod_dir)
    pin(allowed / "sub", allowed, pod_dir, idx=1)
    manager.teardown_pod_volumes(pod_dir)
    assert not (pod_dir / "volume-hostpaths").exists()
    assert sysmount.mounts_under(str(pod_dir)) == []
    assert (allowed / "sub" / "data").read_text() == "inside"


def test_without_prefixes_the_path_is_used_as_given(allowed: Path, pod_dir: Path) -> None:
    pod = {"spec": {"volumes": [{"name": "v", "hostPath": {"path": str(allowed)}}]}}
    assert hostpath.container_source(pod, "v", str(allowed), None, pod_dir, "c", 0) == str(allowed)
    assert hostpath.container_source(pod, "v", str(allowed), [str(allowed)], pod_dir, "c", 0) == \
        str(pod_dir / "volume-hostpaths" / "v" / "c" / "0")
    other = {"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}
    assert hostpath.container_source(other, "v", "/x", [str(allowed)], pod_dir, "c", 0) == "/x"
