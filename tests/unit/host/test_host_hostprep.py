from __future__ import annotations

import resource
from pathlib import Path

import pytest

from podbay.errors import PermanentError
from podbay.host import hostprep
from podbay.host.hostprep import HostFacts, HostPaths, Step


def fake_host(tmp: Path, *, controllers: str | None, ip_forward: str = "1") -> HostPaths:
    paths = HostPaths(cgroup_root=tmp / "cgroup", proc_sys=tmp / "sys")
    paths.cgroup_root.mkdir(parents=True)
    if controllers is not None:
        (paths.cgroup_root / "unified").mkdir()
        paths.unified_controllers_file.write_text(controllers + "\n")
    paths.ip_forward_file.parent.mkdir(parents=True)
    paths.ip_forward_file.write_text(ip_forward + "\n")
    return paths


def which_of(*present: str):  # type: ignore[no-untyped-def]
    return lambda name: f"/usr/bin/{name}" if name in present else None


class TestPlan:
    def test_prepared_host_needs_nothing(self) -> None:
        assert hostprep.plan(HostFacts(unified_controllers=(), ip_forward=True)) == []
        assert hostprep.plan(HostFacts(unified_controllers=None, ip_forward=True)) == []

    def test_hugetlb_on_v2_is_moved_to_v1(self) -> None:
        steps = hostprep.plan(HostFacts(unified_controllers=("hugetlb",), ip_forward=True))
        assert [(s.kind, s.arg) for s in steps] == [("mount-cgroup-v1", "hugetlb")]

    def test_ip_forward_off_is_enabled(self) -> None:
        steps = hostprep.plan(HostFacts(unified_controllers=None, ip_forward=False))
        assert [(s.kind, s.arg) for s in steps] == [("enable-ip-forward", "1")]

    def test_other_v2_controllers_are_left_and_reported(self) -> None:
        facts = HostFacts(unified_controllers=("hugetlb", "misc"), ip_forward=True)
        assert [s.arg for s in hostprep.plan(facts)] == ["hugetlb"]
        assert hostprep.leftover_controllers(facts) == ("misc",)


class TestFacts:
    def test_unified_controllers_from_files(self, tmp_path: Path) -> None:
        assert hostprep.unified_controllers(fake_host(tmp_path / "a", controllers=None)) is None
        assert hostprep.unified_controllers(fake_host(tmp_path / "b", controllers="")) == ()
        assert hostprep.unified_controllers(fake_host(tmp_path / "c", controllers="hugetlb misc")) == ("hugetlb", "misc")


class TestChooseRuntime:
    def test_crun_when_no_unified_mount(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "v1only", controllers=None)
        assert hostprep.choose_runtime(paths, which_of("crun", "runc")) == "crun"

    def test_crun_when_unified_has_no_controllers(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "hybrid_empty", controllers="")
        assert hostprep.choose_runtime(paths, which_of("crun", "runc")) == "crun"

    def test_runc_when_v2_holds_controllers(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "hybrid_hugetlb", controllers="hugetlb")
        assert hostprep.choose_runtime(paths, which_of("crun", "runc")) == "runc"

    def test_runc_when_crun_missing(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "v1only", controllers=None)
        assert hostprep.choose_runtime(paths, which_of("runc")) == "runc"

    def test_only_crun_on_unprepared_hybrid_host_is_an_error(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "hybrid_hugetlb", controllers="hugetlb")
        with pytest.raises(PermanentError, match="host-prep"):
            hostprep.choose_runtime(paths, which_of("crun"))

    def test_no_runtime_is_an_error(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path / "v1only", controllers=None)
        with pytest.raises(PermanentError, match="no OCI runtime"):
            hostprep.choose_runtime(paths, which_of())


class TestPrepare:
    def test_enables_ip_forward_once(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path, controllers="", ip_forward="0")
        assert hostprep.prepare(paths, euid=0) == ["did set net.ipv4.ip_forward=1 (pod traffic leaves the CNI bridge)"]
        assert paths.ip_forward_file.read_text().strip() == "1"
        assert hostprep.prepare(paths, euid=0) == ["host already prepared: nothing to do"]

    def test_dry_run_changes_nothing(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path, controllers="", ip_forward="0")
        assert hostprep.prepare(paths, dry_run=True, euid=1000)[0].startswith("would set net.ipv4.ip_forward=1")
        assert paths.ip_forward_file.read_text().strip() == "0"

    def test_needs_root_when_work_is_left(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path, controllers="hugetlb", ip_forward="1")
        with pytest.raises(PermanentError, match="needs root.*hugetlb"):
            hostprep.prepare(paths, euid=1000)

    def test_non_root_is_fine_when_nothing_to_do(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path, controllers="", ip_forward="1")
        assert hostprep.prepare(paths, euid=1000) == ["host already prepared: nothing to do"]

    def test_unmovable_controllers_give_a_warning(self, tmp_path: Path) -> None:
        paths = fake_host(tmp_path, controllers="misc", ip_forward="1")
        report = hostprep.prepare(paths, euid=0)
        assert report[-1].startswith("warning: cgroup v2 controllers misc remain")

    def test_unknown_step_is_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(PermanentError, match="unknown"):
            hostprep.apply([Step("reboot", "", "reboot")], HostPaths(tmp_path, tmp_path))


def test_rlimit_nofile_matches_the_process() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    got = hostprep.host_rlimit_nofile()
    assert got[1] == (hostprep.RLIM_INFINITY_U64 if hard == resource.RLIM_INFINITY else hard)
    assert got[0] <= got[1]


def test_infinity_is_max_uint64() -> None:
    assert hostprep._u64(resource.RLIM_INFINITY) == 2**64 - 1
    assert hostprep._u64(4096) == 4096
