"""Real emptyDir / hostPath / subPath behaviour on this host (root; everything lives in tmp dirs)."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbay.errors import PermanentError
from podbay.sys import mount as sysmount
from podbay.volumes import emptydir, manager, subpath
from podbay.volumes.hostpath import setup_host_path
from podbay.volumes.plan import VolumePlan

pytestmark = pytest.mark.root
MI = 1024**2


@pytest.fixture(autouse=True)
def _root_and_umask(tmp_path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    old = os.umask(0o022)
    yield
    os.umask(old)
    left = sysmount.mounts_under(str(tmp_path.resolve()))
    sysmount.unmount_all_under(str(tmp_path.resolve()))
    assert left == [], f"test left mounts behind: {left}"


@pytest.fixture
def pod_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "root" / "pods" / "uid-1"
    yield d
    manager.teardown_pod_volumes(d)  # the autouse fixture then checks nothing stayed mounted


def mkpod(volumes: list[dict[str, Any]], **sc: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"volumes": volumes, "containers": [{"name": "c"}]}
    if sc:
        spec["securityContext"] = sc
    return {"metadata": {"name": "p", "uid": "uid-1"}, "spec": spec}


def mode(p: Path | str) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def mount_count(p: Path | str) -> int:
    real = os.path.realpath(p)
    return sum(1 for m in sysmount.mounts() if m.mount_point == real)


# --- emptyDir --------------------------------------------------------------------------------------

def test_default_empty_dir_is_0777_despite_umask(pod_dir: Path):
    paths = manager.setup_pod_volumes(mkpod([{"name": "data", "emptyDir": {}}]), pod_dir, 1 << 30)
    vol = pod_dir / "volumes/kubernetes.io~empty-dir/data"
    assert paths == {"data": str(vol)}
    assert mode(vol) == 0o777
    assert mode(pod_dir) == 0o750
    assert (pod_dir / "plugins/kubernetes.io~empty-dir/data/ready").is_file()
    (vol / "keep").write_text("x")
    # set-up again (agent restart) keeps the data
    manager.setup_pod_volumes(mkpod([{"name": "data", "emptyDir": {}}]), pod_dir, 1 << 30)
    assert (vol / "keep").read_text() == "x"


def test_memory_empty_dir_size_and_enospc(pod_dir: Path):
    pod = mkpod([{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "10Mi"}}])
    path = Path(manager.setup_pod_volumes(pod, pod_dir, 1 << 30)["m"])
    vfs = os.statvfs(path)
    assert vfs.f_blocks * vfs.f_frsize == 10 * MI
    assert os.lstat(path).st_mode & 0o7777 == 0o1777
    assert emptydir.mount_medium(path) == "Memory"
    with pytest.raises(OSError) as ei, open(path / "big", "wb") as f:
        for _ in range(11):
            f.write(b"\0" * MI)
            f.flush()
    assert ei.value.errno == errno.ENOSPC
    used, inodes = manager.volume_usage(path)
    assert used >= 9 * MI and inodes >= 2
    manager.teardown_pod_volumes(pod_dir)
    assert mount_count(path) == 0 and not path.exists()


def test_memory_set_up_twice_is_idempotent(pod_dir: Path):
    pod = mkpod([{"name": "m", "emptyDir": {"medium": "Memory"}}])
    path = Path(manager.setup_pod_volumes(pod, pod_dir, 64 * MI)["m"])
    (path / "f").write_text("keep")
    manager.setup_pod_volumes(pod, pod_dir, 64 * MI)
    assert mount_count(path) == 1
    # marker lost (crash between mount and marker): still no second mount, data kept
    (pod_dir / "plugins/kubernetes.io~empty-dir/m/ready").unlink()
    manager.setup_pod_volumes(pod, pod_dir, 64 * MI)
    assert mount_count(path) == 1 and (path / "f").read_text() == "keep"
    vfs = os.statvfs(path)
    assert vfs.f_blocks * vfs.f_frsize == 64 * MI


def test_teardown_without_spec_unmounts_and_removes(pod_dir: Path):
    pod = mkpod([{"name": "m", "emptyDir": {"medium": "Memory"}}, {"name": "d", "emptyDir": {}}])
    paths = manager.setup_pod_volumes(pod, pod_dir, 16 * MI)
    Path(paths["d"], "sub").mkdir()
    Path(paths["d"], "sub", "file").write_text("x")
    (pod_dir / "etc-hosts").write_text("127.0.0.1 localhost\n")  # not ours: must stay
    manager.teardown_pod_volumes(pod_dir)
    assert sysmount.mounts_under(str(pod_dir.resolve())) == []
    assert not (pod_dir / "volumes").exists() and not (pod_dir / "plugins").exists()
    assert (pod_dir / "etc-hosts").exists()
    manager.teardown_pod_volumes(pod_dir)  # idempotent


def test_teardown_never_follows_symlinks_out(pod_dir: Path, tmp_path: Path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "f").write_text("keep")
    path = Path(manager.setup_pod_volumes(mkpod([{"name": "d", "emptyDir": {}}]), pod_dir, MI)["d"])
    (path / "link").symlink_to(outside)
    manager.teardown_pod_volumes(pod_dir)
    assert (outside / "f").read_text() == "keep"


def test_fs_group_modes(pod_dir: Path):
    pod = mkpod([{"name": "d", "emptyDir": {}}, {"name": "m", "emptyDir": {"medium": "Memory"}}], fsGroup=1234)
    paths = manager.setup_pod_volumes(pod, pod_dir, 16 * MI)
    for name, want in (("d", 0o2777), ("m", 0o3777)):
        st = os.stat(paths[name])
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (want, 0, 1234), name
    # new files inherit the group through setgid
    Path(paths["d"], "new").write_text("x")
    assert os.stat(Path(paths["d"], "new")).st_gid == 1234
    # a re-setup (agent restart) does not drop setgid/sticky
    (pod_dir / "plugins/kubernetes.io~empty-dir/m/ready").unlink()
    manager.setup_pod_volumes(pod, pod_dir, 16 * MI)
    assert mode(paths["m"]) == 0o3777


def test_set_volume_ownership_walk(tmp_path: Path):
    root = tmp_path / "vol"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "file").write_text("x")
    os.chmod(root / "dir" / "file", 0o600)
    outside = tmp_path / "outside"
    outside.write_text("y")
    os.chmod(outside, 0o600)
    (root / "link").symlink_to(outside)
    emptydir.set_volume_ownership(root, 4321)
    assert (mode(root / "dir"), os.stat(root / "dir").st_gid) == (0o2775, 4321)
    assert (mode(root / "dir" / "file"), os.stat(root / "dir" / "file").st_gid) == (0o660, 4321)
    assert os.lstat(root / "link").st_gid == 4321  # the link itself, lchown
    assert (mode(outside), os.stat(outside).st_gid) == (0o600, 0)  # the target is untouched


def test_fs_group_on_root_mismatch_skips_walk(tmp_path: Path):
    root = tmp_path / "vol"
    root.mkdir()
    (root / "f").write_text("x")
    os.chown(root, 0, 77)
    os.chmod(root, 0o2770)
    emptydir.set_volume_ownership(root, 77, "OnRootMismatch")
    assert os.stat(root / "f").st_gid == 0  # root already matched: no walk
    emptydir.set_volume_ownership(root, 77, "Always")
    assert os.stat(root / "f").st_gid == 77


@pytest.mark.skipif(not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"), reason="no 2Mi pages")
def test_hugepages_mount(pod_dir: Path):
    pod = mkpod([{"name": "h", "emptyDir": {"medium": "HugePages-2Mi"}}])
    pod["spec"]["containers"][0]["resources"] = {"requests": {"hugepages-2Mi": "2Mi"},
                                                 "limits": {"hugepages-2Mi": "2Mi", "memory": "8Mi"}}
    path = manager.setup_pod_volumes(pod, pod_dir, MI)["h"]
    assert emptydir.mount_medium(Path(path)) == "HugePages"
    manager.setup_pod_volumes(pod, pod_dir, MI)
    assert mount_count(path) == 1
    # the same dir asked for 1Gi pages: the kubelet's mismatch message
    (pod_dir / "plugins/kubernetes.io~empty-dir/h/ready").unlink()
    plan = VolumePlan(name="h", plugin="empty-dir", medium="HugePages-1Gi", hugepage_size="1Gi")
    with pytest.raises(PermanentError) as ei:
        emptydir.setup_empty_dir(plan, pod_dir)
    assert f"pod uid-1: mounted dir {path} pagesize '2Mi' and requested medium size '1Gi' differ" in str(ei.value)
    manager.teardown_pod_volumes(pod_dir)
    assert mount_count(path) == 0


# --- hostPath --------------------------------------------------------------------------------------

def hp(path: Path | str, t: str = "") -> VolumePlan:
    return VolumePlan(name="h", plugin="host-path", host_path=str(path), host_path_type=t)


def hp_error(path: Path | str, t: str, prefixes: list[str] | None = None) -> str:
    with pytest.raises(PermanentError) as ei:
        setup_host_path(hp(path, t), prefixes)
    msg = str(ei.value)
    assert msg.startswith('MountVolume.SetUp failed for volume "h" : ')
    return msg.split(" : ", 1)[1]


@pytest.fixture
def host_objs(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "host"
    d.mkdir()
    objs = {"dir": d / "dir", "file": d / "file", "sock": d / "sock", "chr": d / "chr", "blk": d / "blk"}
    objs["dir"].mkdir()
    objs["file"].write_text("x")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(objs["sock"]))
    s.close()
    os.mknod(objs["chr"], stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.mknod(objs["blk"], stat.S_IFBLK | 0o600, os.makedev(7, 200))
    (d / "link-to-dir").symlink_to(objs["dir"])
    return objs


@pytest.mark.parametrize("t,good,bad,what", [
    ("Directory", "dir", "file", "a directory"),
    ("File", "file", "dir", "a file"),
    ("Socket", "sock", "file", "a socket file"),
    ("CharDevice", "chr", "blk", "a character device"),
    ("BlockDevice", "blk", "chr", "a block device"),
])
def test_host_path_types(host_objs: dict[str, Path], t: str, good: str, bad: str, what: str):
    assert setup_host_path(hp(host_objs[good], t)) == str(host_objs[good])
    b = host_objs[bad]
    assert hp_error(b, t) == f"hostPath type check failed: {b} is not {what}"
    missing = b.parent / "missing"
    assert hp_error(missing, t) == f"hostPath type check failed: {missing} is not {what}"
    assert not missing.exists()


def test_host_path_follows_symlinks(host_objs: dict[str, Path]):
    link = host_objs["dir"].parent / "link-to-dir"
    assert setup_host_path(hp(link, "Directory")) == str(link)


def test_host_path_or_create(tmp_path: Path, host_objs: dict[str, Path]):
    d = tmp_path / "new" / "a" / "b"
    setup_host_path(hp(d, "DirectoryOrCreate"))
    assert d.is_dir() and mode(d) == 0o755 and mode(tmp_path / "new") == 0o755
    assert hp_error(host_objs["file"], "DirectoryOrCreate") == \
        f"hostPath type check failed: {host_objs['file']} is not a directory"
    f = tmp_path / "new" / "file"
    setup_host_path(hp(f, "FileOrCreate"))
    assert f.is_file() and mode(f) == 0o644 and f.read_text() == ""
    assert hp_error(host_objs["dir"], "FileOrCreate") == \
        f"hostPath type check failed: {host_objs['dir']} is not a file"
    orphan = tmp_path / "nope" / "file"
    assert hp_error(orphan, "FileOrCreate") == f"open {orphan}: no such file or directory"
    assert not orphan.parent.exists()


def test_host_path_unset_type(tmp_path: Path, host_objs: dict[str, Path]):
    assert setup_host_path(hp(host_objs["sock"])) == str(host_objs["sock"])
    d = tmp_path / "created-by-runtime"
    setup_host_path(hp(d))
    assert d.is_dir() and mode(d) == 0o755


def test_host_path_rejections(tmp_path: Path, host_objs: dict[str, Path]):
    assert hp_error("/tmp/../etc", "") == "invalid HostPath `/tmp/../etc`: must not contain '..'"
    assert "Bogus is an invalid volume type" in hp_error(host_objs["dir"], "Bogus")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "escape").symlink_to("/etc")
    assert setup_host_path(hp(allowed, "Directory"), [str(allowed)]) == str(allowed)
    assert "not under an allowed prefix" in hp_error(host_objs["dir"], "Directory", [str(allowed)])
    assert "not under an allowed prefix" in hp_error(allowed / "escape", "Directory", [str(allowed)])


def test_host_path_teardown_keeps_data(tmp_path: Path, pod_dir: Path, host_objs: dict[str, Path]):
    pod = mkpod([{"name": "h", "hostPath": {"path": str(host_objs["dir"]), "type": "Directory"}}], fsGroup=99)
    assert manager.setup_pod_volumes(pod, pod_dir, MI) == {"h": str(host_objs["dir"])}
    (host_objs["dir"] / "data").write_text("x")
    manager.teardown_pod_volumes(pod_dir)
    assert (host_objs["dir"] / "data").read_text() == "x"
    assert os.stat(host_objs["dir"]).st_gid == 0  # fsGroup is never applied to hostPath


# --- subPath ---------------------------------------------------------------------------------------

@pytest.fixture
def vol(pod_dir: Path) -> Path:
    return Path(manager.setup_pod_volumes(mkpod([{"name": "v", "emptyDir": {}}]), pod_dir, MI)["v"])


def refused(vol: Path, pod_dir: Path, sub: str) -> PermanentError:
    with pytest.raises(PermanentError) as ei:
        subpath.prepare_subpath(str(vol), sub, pod_dir, "v", "c", 0)
    assert "subPath" in str(ei.value) or "SubPath" in str(ei.value)
    assert sysmount.mounts_under(str(pod_dir.resolve())) == []
    return ei.value


def test_subpath_escapes_refused(tmp_path: Path, pod_dir: Path, vol: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (vol / "to-dir").symlink_to(outside)
    (vol / "to-file").symlink_to(outside / "secret")
    (vol / "to-nothing").symlink_to(outside / "nothing")
    (vol / "rel-up").symlink_to("../../../../..")
    for sub in ("to-dir", "to-file", "to-dir/secret", "rel-up"):
        err = refused(vol, pod_dir, sub)
        assert str(err) == 'failed to prepare subPath for volumeMount "v" of container "c"'
        assert "not within volume path" in str(err.__cause__)  # detail kept for the logs only
    err = refused(vol, pod_dir, "to-nothing")
    assert str(err) == 'failed to create subPath directory for volumeMount "v" of container "c"'
    assert not (outside / "nothing").exists()
    err = refused(vol, pod_dir, "to-nothing/deeper")
    assert str(err).startswith("failed to create subPath directory")
    err = refused(vol, pod_dir, "to-dir/new")
    assert "outside of allowed base" in str(err.__cause__)
    assert not (outside / "new").exists()
    assert not (outside / "nothing").exists()
    assert str(refused(vol, pod_dir, "../x")) == "unable to provision SubPath `../x`: must not contain '..'"
    assert str(refused(vol, pod_dir, "/etc")) == "error SubPath `/etc` must not be an absolute path"
    assert sorted(os.listdir(outside)) == ["secret"]


def test_subpath_detail_names_the_symlink(pod_dir: Path, vol: Path):
    # A symlink component that resolves inside the volume is fine for EvalSymlinks; _safe_open on the
    # *unresolved* path must still refuse it (the TOCTOU guard).
    (vol / "real").mkdir()
    (vol / "alias").symlink_to("real")
    with pytest.raises(subpath.SubPathDenied, match="unexpected symlink found"):
        subpath._safe_open(str(vol / "alias"), str(vol))


def test_subpath_missing_dir_gets_root_mode(pod_dir: Path, vol: Path):
    target = subpath.prepare_subpath(str(vol), "a/b", pod_dir, "v", "c", 0)
    assert target == str(pod_dir / "volume-subpaths/v/c/0")
    assert mode(vol / "a") == 0o777 and mode(vol / "a" / "b") == 0o777
    assert mode(target) == 0o777 and mount_count(target) == 1
    assert mode(pod_dir / "volume-subpaths/v/c") == 0o750
    Path(target, "x").write_text("hi")
    assert (vol / "a" / "b" / "x").read_text() == "hi"
    # container restart: the same bind is reused
    assert subpath.prepare_subpath(str(vol), "a/b", pod_dir, "v", "c", 0) == target
    assert mount_count(target) == 1
    subpath.cleanup_subpaths(pod_dir)
    assert not (pod_dir / "volume-subpaths").exists()


def test_subpath_mode_keeps_setgid_and_sticky(pod_dir: Path):
    pod = mkpod([{"name": "m", "emptyDir": {"medium": "Memory"}}], fsGroup=555)
    vol = manager.setup_pod_volumes(pod, pod_dir, 16 * MI)["m"]
    target = subpath.prepare_subpath(vol, "new/dir", pod_dir, "m", "c", 1)
    assert mode(Path(vol, "new")) == 0o3777 and mode(Path(vol, "new", "dir")) == 0o3777
    manager.teardown_pod_volumes(pod_dir)
    assert mount_count(target) == 0 and mount_count(vol) == 0


def test_subpath_symlink_inside_volume_works(pod_dir: Path, vol: Path):
    # configMap-style layout: key -> ..data/key, ..data -> ..2024_01
    (vol / "..2024_01").mkdir()
    (vol / "..2024_01" / "key").write_text("value")
    (vol / "..data").symlink_to("..2024_01")
    (vol / "key").symlink_to("..data/key")
    (vol / "dirlink").symlink_to("..data")
    t_file = subpath.prepare_subpath(str(vol), "key", pod_dir, "v", "c", 0)
    assert Path(t_file).read_text() == "value" and mode(t_file) != 0o640
    t_dir = subpath.prepare_subpath(str(vol), "dirlink", pod_dir, "v", "c", 1)
    assert os.listdir(t_dir) == ["key"]
    assert mount_count(t_file) == 1 and mount_count(t_dir) == 1


def test_cleanup_after_user_deleted_subpath_dir(tmp_path: Path, pod_dir: Path, vol: Path):
    target = subpath.prepare_subpath(str(vol), "gone", pod_dir, "v", "c", 0)
    (vol / "gone").rmdir()
    manager.teardown_pod_volumes(pod_dir)
    assert mount_count(target) == 0
    assert sysmount.mounts_under(str(tmp_path.resolve())) == []
    assert not (pod_dir / "volumes").exists()


def test_volume_usage_counts_hard_links_once(tmp_path: Path):
    d = tmp_path / "u"
    d.mkdir()
    with open(d / "a", "wb") as f:
        f.write(os.urandom(MI))
    os.link(d / "a", d / "b")
    (d / "l").symlink_to("/usr")
    used, inodes = manager.volume_usage(d)
    assert MI <= used < 2 * MI
    assert inodes == 3  # dir, a (=b), l


def test_empty_dir_teardown_removes_its_subpaths(pod_dir: Path):
    pod = mkpod([{"name": "m", "emptyDir": {"medium": "Memory"}}, {"name": "d", "emptyDir": {}}])
    paths = manager.setup_pod_volumes(pod, pod_dir, 16 * MI)
    t_m = subpath.prepare_subpath(paths["m"], "x", pod_dir, "m", "c", 0)
    t_d = subpath.prepare_subpath(paths["d"], "y", pod_dir, "d", "c", 0)
    emptydir.teardown_empty_dir("m", pod_dir)
    assert mount_count(t_m) == 0 and mount_count(paths["m"]) == 0 and not Path(paths["m"]).exists()
    assert not (pod_dir / "volume-subpaths/m").exists()
    assert mount_count(t_d) == 1  # the other volume is untouched
