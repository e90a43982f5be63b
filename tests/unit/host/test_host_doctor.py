from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import pytest

from podbay.host import doctor
from podbay.host.doctor import Check, Probes

HYBRID_MOUNTINFO = """\
30 27 0:25 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
32 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
"""
V2_MOUNTINFO = "30 27 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
V1_MOUNTINFO = HYBRID_MOUNTINFO.splitlines()[0] + "\n" + HYBRID_MOUNTINFO.splitlines()[1] + "\n"

FILESYSTEMS = "nodev\ttmpfs\nnodev\tcgroup2\nnodev\thugetlbfs\nnodev\toverlay\n\text4\n"


def healthy_files(**override: str | None) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        "/proc/filesystems": FILESYSTEMS,
        "/proc/self/mountinfo": HYBRID_MOUNTINFO,
        "/sys/fs/cgroup/unified/cgroup.controllers": "\n",
        "/proc/meminfo": "MemTotal: 1 kB\nHugePages_Total:       4\n",
        "/proc/sys/net/ipv4/ip_forward": "1\n",
        "/proc/sys/net/bridge/bridge-nf-call-iptables": "1\n",
    }
    files.update(override)
    return files


def fake_probes(
    *,
    tools: tuple[str, ...] = ("crun", "runc", "conmon", "unshare", "nsenter", "ip", "nft", "conntrack"),
    files: dict[str, str | None] | None = None,
    plugin_files: tuple[str, ...] = ("/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"),
    euid: int = 0,
    mount_errors: dict[str, str] | None = None,
    nofile: tuple[int, int] = (1024, 20000),
    broken: tuple[str, ...] = (),
) -> Probes:
    table = healthy_files() if files is None else files
    errors = mount_errors or {}

    def mount_test(fstype: str, data: str) -> str | None:
        if euid != 0:
            raise AssertionError("mount test attempted without root")
        return errors.get(fstype)

    return Probes(
        which=lambda name: f"/usr/bin/{name}" if name in tools else None,
        version=lambda path: None if os.path.basename(path) in broken else f"{os.path.basename(path)} version 1.0",
        read_text=table.get,
        is_file=lambda path: path in plugin_files,
        euid=lambda: euid,
        rlimit_nofile=lambda: nofile,
        mount_test=mount_test,
        writable=lambda path: None,
    )


def by_name(results: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in results}


def test_healthy_host_passes_everything() -> None:
    results = doctor.checks(fake_probes())
    assert [c.name for c in results if not c.ok] == []
    assert doctor.exit_code(results) == 0
    assert by_name(results)["oci-runtime"].detail == "crun (crun version 1.0)"


def test_missing_conmon_fails_with_the_apt_fix() -> None:
    results = by_name(doctor.checks(fake_probes(tools=("crun", "unshare", "nsenter", "ip"))))
    assert results["conmon"].status == "FAIL"
    assert results["conmon"].fix == "apt-get install -y conmon"
    assert doctor.exit_code(list(results.values())) == 1


def test_conmon_that_does_not_run_fails() -> None:
    results = by_name(doctor.checks(fake_probes(broken=("conmon",))))
    assert not results["conmon"].ok and "--version fails" in results["conmon"].detail


def test_hybrid_host_with_hugetlb_on_v2_uses_runc_and_warns() -> None:
    files = healthy_files(**{"/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n"})
    results = by_name(doctor.checks(fake_probes(files=files)))
    runtime, cgroups = results["oci-runtime"], results["cgroups"]
    assert runtime.ok and runtime.detail.startswith("runc (runc version 1.0); crun refuses hybrid cgroups")
    assert cgroups.status == "WARN" and "hugetlb" in cgroups.detail
    assert cgroups.fix.startswith("make host-prep")
    assert doctor.exit_code(list(results.values())) == 0


def test_hybrid_host_without_runc_has_no_runtime() -> None:
    files = healthy_files(**{"/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n"})
    results = by_name(doctor.checks(fake_probes(files=files, tools=("crun", "conmon", "unshare", "nsenter", "ip"))))
    assert results["oci-runtime"].status == "FAIL"
    assert "make host-prep" in results["oci-runtime"].fix


def test_broken_crun_falls_back_to_runc() -> None:
    results = by_name(doctor.checks(fake_probes(broken=("crun",))))
    assert results["oci-runtime"].ok and "crun does not run" in results["oci-runtime"].detail


def test_no_runtime_at_all_fails() -> None:
    results = by_name(doctor.checks(fake_probes(tools=("conmon",))))
    assert results["oci-runtime"].status == "FAIL"
    assert results["oci-runtime"].fix == "apt-get install -y crun runc"


def test_cni_plugins_in_opt_are_accepted_and_partial_sets_fail() -> None:
    opt = ("/opt/cni/bin/bridge", "/opt/cni/bin/host-local", "/opt/cni/bin/loopback")
    assert by_name(doctor.checks(fake_probes(plugin_files=opt)))["cni-plugins"].detail.endswith("/opt/cni/bin")
    partial = by_name(doctor.checks(fake_probes(plugin_files=opt[:2])))["cni-plugins"]
    assert partial.status == "FAIL" and partial.fix == "apt-get install -y containernetworking-plugins"


def test_not_root_fails_and_skips_mount_tests() -> None:
    results = by_name(doctor.checks(fake_probes(euid=1000)))
    assert results["root"].status == "FAIL"
    assert "mount test skipped" in results["overlayfs"].detail and results["overlayfs"].ok


def test_failed_overlay_mount_is_a_required_failure() -> None:
    results = by_name(doctor.checks(fake_probes(mount_errors={"overlay": "mount ...: Operation not permitted"})))
    assert results["overlayfs"].status == "FAIL"
    assert "Operation not permitted" in results["overlayfs"].detail
    assert doctor.exit_code(list(results.values())) == 1


def test_missing_overlay_filesystem_fails_without_mounting() -> None:
    files = healthy_files(**{"/proc/filesystems": "nodev\ttmpfs\nnodev\thugetlbfs\n"})
    results = by_name(doctor.checks(fake_probes(files=files)))
    assert results["overlayfs"].status == "FAIL" and "CONFIG_OVERLAY_FS" in results["overlayfs"].fix


def test_hugetlbfs_problems_only_warn() -> None:
    files = healthy_files(**{"/proc/filesystems": "nodev\ttmpfs\nnodev\toverlay\n"})
    results = doctor.checks(fake_probes(files=files))
    assert by_name(results)["hugetlbfs"].status == "WARN"
    assert doctor.exit_code(results) == 0


def test_hugetlbfs_without_reserved_pages_says_how_to_reserve() -> None:
    files = healthy_files(**{"/proc/meminfo": "HugePages_Total:       0\n"})
    check = by_name(doctor.checks(fake_probes(files=files)))["hugetlbfs"]
    assert check.ok and "HugePages_Total 0" in check.detail and "nr_hugepages" in check.detail


def test_missing_tools_name_their_package() -> None:
    results = by_name(doctor.checks(fake_probes(tools=("crun", "conmon"))))
    assert results["nsenter"].fix == "apt-get install -y util-linux"
    assert results["ip"].fix == "apt-get install -y iproute2"


def test_low_hard_nofile_fails() -> None:
    assert by_name(doctor.checks(fake_probes(nofile=(256, 512))))["rlimit-nofile"].status == "FAIL"


def test_ip_forward_off_only_warns() -> None:
    files = healthy_files(**{"/proc/sys/net/ipv4/ip_forward": "0\n"})
    check = by_name(doctor.checks(fake_probes(files=files)))["ip-forward"]
    assert check.status == "WARN" and check.fix.startswith("make host-prep")


def test_state_root_error_is_reported() -> None:
    probes = dataclasses.replace(fake_probes(), writable=lambda path: "read-only file system")
    check = by_name(doctor.checks(probes, root="/ro/podbay"))["state-root"]
    assert check.status == "FAIL" and check.detail == "/ro/podbay: read-only file system"


@pytest.mark.parametrize(
    ("mountinfo", "layout"),
    [(HYBRID_MOUNTINFO, "hybrid"), (V2_MOUNTINFO, "v2"), (V1_MOUNTINFO, "v1"), ("", "none")],
)
def test_cgroup_layout(mountinfo: str, layout: str) -> None:
    assert doctor.cgroup_layout(mountinfo) == layout


def test_no_cgroups_fails() -> None:
    files = healthy_files(**{"/proc/self/mountinfo": ""})
    assert by_name(doctor.checks(fake_probes(files=files)))["cgroups"].status == "FAIL"


def test_hugepages_total() -> None:
    assert doctor.hugepages_total("MemFree: 3 kB\nHugePages_Total:      12\n") == 12
    assert doctor.hugepages_total("MemFree: 3 kB\n") is None


def test_format_table_aligns_and_adds_fix_lines() -> None:
    table = doctor.format_table([
        Check("root", True, "euid 0"),
        Check("conmon", False, "not installed", "apt-get install -y conmon"),
        Check("ip-forward", False, "net.ipv4.ip_forward = 0", "make host-prep", required=False),
    ])
    assert table.splitlines() == [
        "OK   root        euid 0",
        "FAIL conmon      not installed",
        "                 fix: apt-get install -y conmon",
        "WARN ip-forward  net.ipv4.ip_forward = 0",
        "                 fix: make host-prep",
    ]


def test_writable_probe_creates_nothing(tmp_path: Path) -> None:
    assert doctor._writable(str(tmp_path / "not" / "yet")) is None
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    assert "not a directory" in (doctor._writable(str(tmp_path / "file" / "sub")) or "")


def doctor_mounts() -> list[str]:
    """Mount points the doctor's probes made (their scratch dirs are named podbay-doctor-*)."""
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if "podbay-doctor-" in line]


@pytest.mark.root
@pytest.mark.parametrize(("fstype", "data"), [("overlay", ""), ("tmpfs", "size=1m"), ("hugetlbfs", "pagesize=2M,size=2M")])
def test_real_mount_probe_cleans_up(fstype: str, data: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tmp_before = set(os.listdir(tempfile.gettempdir()))
    assert doctor._mount_test(fstype, data) is None
    assert doctor_mounts() == []
    assert {n for n in set(os.listdir(tempfile.gettempdir())) - tmp_before if n.startswith("podbay-doctor-")} == set()


@pytest.mark.root
def test_real_doctor_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    code = doctor.main(["--root", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert doctor_mounts() == []
    assert "OK   root" in out and "OK   state-root" in out
    assert code == (0 if "FAIL" not in out else 1)


def test_service_data_path_checks_are_advisory() -> None:
    results = by_name(doctor.checks(fake_probes(tools=("crun", "conmon", "unshare", "nsenter", "ip"))))
    assert not results["nft"].ok and not results["nft"].required
    assert results["nft"].fix == "apt-get install -y nftables"
    assert results["bridge-netfilter"].ok
