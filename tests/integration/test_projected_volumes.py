"""AtomicWriter layout/update semantics (tmp dirs, no root) and projected volume SetUp/TearDown (root)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.core.projection import CONFIGMAP, PROJECTED, SECRET, FileProjection
from podbay.errors import PermanentError
from podbay.sys import mount as sysmount
from podbay.volumes.atomic_writer import DATA_DIR, write_payload
from podbay.volumes.projected import (
    setup_projected_volume,
    teardown_projected_volume,
    update_projected_volume,
)


def fp(data: str | bytes, mode: int = 0o644) -> FileProjection:
    return FileProjection(data.encode() if isinstance(data, str) else data, mode)


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def ts_dirs(d: Path) -> list[str]:
    return sorted(n for n in os.listdir(d) if n.startswith("..") and n not in ("..data", "..data_tmp"))


@pytest.fixture
def umask077() -> Iterator[None]:
    old = os.umask(0o077)
    yield
    os.umask(old)


# --- AtomicWriter ----------------------------------------------------------------------------------

def test_layout(tmp_path: Path) -> None:
    changed = write_payload(tmp_path, {"key": fp("v1"), "dir/sub/file": fp("deep", 0o400)})
    assert changed
    [ts] = ts_dirs(tmp_path)
    assert ts.startswith("..") and len(ts.split(".")) == 4  # ..YYYY_MM_DD_HH_MM_SS.<random>
    assert os.readlink(tmp_path / DATA_DIR) == ts
    assert os.readlink(tmp_path / "key") == "..data/key"
    assert os.readlink(tmp_path / "dir") == "..data/dir"
    assert (tmp_path / "key").read_text() == "v1"
    assert (tmp_path / "dir/sub/file").read_text() == "deep"
    assert (tmp_path / ts / "key").is_file() and not (tmp_path / ts / "key").is_symlink()
    assert sorted(os.listdir(tmp_path)) == sorted([ts, "..data", "key", "dir"])


def test_update_swaps_data_link_and_removes_old(tmp_path: Path) -> None:
    write_payload(tmp_path, {"a": fp("1"), "b": fp("2")})
    first = os.readlink(tmp_path / DATA_DIR)
    assert write_payload(tmp_path, {"a": fp("1 changed"), "b": fp("2")})
    second = os.readlink(tmp_path / DATA_DIR)
    assert second != first
    assert ts_dirs(tmp_path) == [second]
    assert (tmp_path / "a").read_text() == "1 changed"
    assert not os.path.lexists(tmp_path / "..data_tmp")


def test_unchanged_payload_is_noop(tmp_path: Path) -> None:
    payload = {"a": fp("1"), "d/b": fp(b"\x00\x01", 0o600)}
    assert write_payload(tmp_path, payload)
    before = os.readlink(tmp_path / DATA_DIR)
    assert write_payload(tmp_path, dict(payload)) is False
    assert os.readlink(tmp_path / DATA_DIR) == before


def test_mode_change_alone_rewrites(tmp_path: Path) -> None:
    write_payload(tmp_path, {"a": fp("1", 0o644)})
    assert write_payload(tmp_path, {"a": fp("1", 0o400)})
    assert mode(tmp_path / DATA_DIR / "a") == 0o400


def test_removed_keys_disappear(tmp_path: Path) -> None:
    write_payload(tmp_path, {"a": fp("1"), "gone": fp("x"), "dir/keep": fp("k"), "dir/drop": fp("d")})
    assert write_payload(tmp_path, {"a": fp("1"), "dir/keep": fp("k")})
    assert not os.path.lexists(tmp_path / "gone")
    assert not os.path.lexists(tmp_path / "dir/drop")
    assert (tmp_path / "dir/keep").read_text() == "k"
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith("..")) == ["a", "dir"]
    assert write_payload(tmp_path, {}) and [n for n in os.listdir(tmp_path) if not n.startswith("..")] == []


def test_modes_exact_under_umask_077(tmp_path: Path, umask077: None) -> None:
    write_payload(tmp_path, {"r": fp("r", 0o444), "x": fp("x", 0o755), "d/w": fp("w", 0o664)})
    ts = tmp_path / os.readlink(tmp_path / DATA_DIR)
    assert mode(ts) == 0o755
    assert mode(ts / "d") == 0o755
    assert (mode(ts / "r"), mode(ts / "x"), mode(ts / "d/w")) == (0o444, 0o755, 0o664)


def test_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    outside = tmp_path / "outside"
    vol.mkdir()
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("precious")
    os.symlink(victim, vol / "key")  # a user-visible name pointing outside the volume
    os.symlink(outside, vol / "dir")  # a directory name pointing outside
    assert write_payload(vol, {"key": fp("new"), "dir/f": fp("f")})
    assert victim.read_text() == "precious"
    assert os.listdir(outside) == ["victim"]
    assert os.readlink(vol / "key") == "..data/key"
    assert os.readlink(vol / "dir") == "..data/dir"
    assert (vol / "key").read_text() == "new"


def test_planted_data_link_outside_is_not_followed(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    outside = tmp_path / "outside"
    vol.mkdir()
    outside.mkdir()
    (outside / "key").write_text("precious")
    os.symlink(outside, vol / DATA_DIR)  # ..data pointing out of the volume
    assert write_payload(vol, {"key": fp("mine")})
    assert (outside / "key").read_text() == "precious"
    assert os.readlink(vol / DATA_DIR).startswith("..2")
    assert (vol / "key").read_text() == "mine"


def test_crash_debris_is_cleaned(tmp_path: Path) -> None:
    write_payload(tmp_path, {"a": fp("1")})
    (tmp_path / "..2001_01_01_00_00_00.1").mkdir()  # a write that died before the swap
    os.symlink("..nowhere", tmp_path / "..data_tmp")
    assert write_payload(tmp_path, {"a": fp("2")})
    assert ts_dirs(tmp_path) == [os.readlink(tmp_path / DATA_DIR)]
    assert not os.path.lexists(tmp_path / "..data_tmp")


def test_invalid_payload_path_rejected(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="must not start with '..'"):
        write_payload(tmp_path, {"..data": fp("x")})
    assert os.listdir(tmp_path) == []


# --- projected volume SetUp / TearDown (root) ------------------------------------------------------

@pytest.fixture
def pod_dir(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = tmp_path / "pods" / "uid-1"
    yield d
    left = sysmount.mounts_under(str(tmp_path.resolve()))
    sysmount.unmount_all_under(str(tmp_path.resolve()))
    assert left == [], f"test left mounts behind: {left}"


def is_tmpfs_mount(p: Path) -> bool:
    return sysmount.fs_type_magic(str(p)) == sysmount.TMPFS_MAGIC and sysmount.is_mount_point(str(p))


@pytest.mark.root
def test_secret_volume_on_tmpfs_and_teardown(pod_dir: Path) -> None:
    payload = {"secret-key": fp("secret-value", 0o400)}
    host = Path(setup_projected_volume(pod_dir, SECRET, "sec", payload, size_bytes=1 << 20))
    assert host == pod_dir / "volumes" / SECRET / "sec"
    assert is_tmpfs_mount(host)
    assert mode(host) == 0o1777  # tmpfs root as the kubelet's wrapped Memory emptyDir
    assert (host / "secret-key").read_text() == "secret-value"
    assert mode(host / DATA_DIR / "secret-key") == 0o400
    # Idempotent: a second set-up neither stacks a mount nor rewrites.
    setup_projected_volume(pod_dir, SECRET, "sec", payload, size_bytes=1 << 20)
    assert sum(1 for m in sysmount.mounts() if m.mount_point == str(host.resolve())) == 1
    assert update_projected_volume(pod_dir, SECRET, "sec", payload) is False
    assert update_projected_volume(pod_dir, SECRET, "sec", {"secret-key": fp("rotated", 0o400)})
    assert (host / "secret-key").read_text() == "rotated"
    teardown_projected_volume(pod_dir, SECRET, "sec")
    assert not os.path.lexists(host)
    assert not sysmount.mounts_under(str(pod_dir.resolve()))
    teardown_projected_volume(pod_dir, SECRET, "sec")  # idempotent


@pytest.mark.root
def test_configmap_volume_on_disk_root_0777(pod_dir: Path, umask077: None) -> None:
    host = Path(setup_projected_volume(pod_dir, CONFIGMAP, "cfg", {"k": fp("v")}))
    assert not is_tmpfs_mount(host)
    assert mode(host) == 0o777
    assert (host / "k").read_text() == "v"
    teardown_projected_volume(pod_dir, CONFIGMAP, "cfg")
    assert not os.path.lexists(host)


@pytest.mark.root
def test_projected_fs_group_readonly_mask(pod_dir: Path) -> None:
    host = Path(setup_projected_volume(
        pod_dir, PROJECTED, "proj", {"a": fp("1", 0o400), "d/b": fp("2", 0o600)}, fs_group=1234,
    ))
    try:
        ts = host / os.readlink(host / DATA_DIR)
        assert is_tmpfs_mount(host)
        assert os.stat(ts / "a").st_gid == 1234
        assert mode(ts / "a") == 0o440  # g+r only: the volume is read-only
        assert mode(ts / "d/b") == 0o640
        assert mode(ts / "d") == 0o2755
        assert mode(host) == 0o3777
    finally:
        teardown_projected_volume(pod_dir, PROJECTED, "proj")


@pytest.mark.root
def test_host_volumes_skip_a_refresh_only_while_its_inputs_hold(pod_dir: Path) -> None:
    """Set up records what was read; an update of the ConfigMap (a new version) is projected at the next
    refresh, and nothing else makes one needed."""
    from podbay.agent.sandbox import HostVolumes
    from podbay.testing.api import FakeObjects

    objs = FakeObjects()
    objs.put({"kind": "ConfigMap", "metadata": {"name": "app", "namespace": "d", "resourceVersion": "1"},
              "data": {"k": "v1"}})
    pod = {"metadata": {"name": "p", "namespace": "d", "uid": pod_dir.name, "resourceVersion": "7"},
           "spec": {"containers": [{"name": "c"}], "volumes": [{"name": "cfg", "configMap": {"name": "app"}}]}}
    vols = HostVolumes(objs, pod_dir.parent.parent, 1 << 30)
    paths = vols.setup(pod, pod_dir)
    assert (Path(paths["cfg"]) / "k").read_text() == "v1"
    assert not vols.refresh_needed(pod, pod_dir)
    objs.put({"kind": "ConfigMap", "metadata": {"name": "app", "namespace": "d", "resourceVersion": "2"},
              "data": {"k": "v2"}})
    assert vols.refresh_needed(pod, pod_dir)
    vols.refresh(pod, pod_dir)
    assert (Path(paths["cfg"]) / "k").read_text() == "v2"
    assert not vols.refresh_needed(pod, pod_dir)
    vols.teardown(pod_dir)
