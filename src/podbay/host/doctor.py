"""`podbay doctor`: can this host run pods? One line per check, a `fix:` for each failure.

Every probe of the host goes through a ``Probes`` object so the check logic is testable with
fakes. Required checks decide the exit code; the others (WARN) only limit features.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from podbay.errors import PodbayError
from podbay.host import hostprep
from podbay.sys.mount import parse_mountinfo

CNI_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
CNI_PLUGINS = ("bridge", "host-local", "loopback")
DEFAULT_ROOT = "/var/lib/podbay"
HOST_PREP_FIX = "make host-prep  (or: python -m podbay.host.hostprep)"
MIN_NOFILE = 1024
KERNEL_CONFIG = {"overlay": "CONFIG_OVERLAY_FS", "tmpfs": "CONFIG_TMPFS", "hugetlbfs": "CONFIG_HUGETLBFS"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    @property
    def status(self) -> str:
        if self.ok:
            return "OK"
        return "FAIL" if self.required else "WARN"


# ---- real probes -------------------------------------------------------------------------


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _version(path: str) -> str | None:
    """First line of `path --version`, None when it does not run."""
    from podbay.sys.run import run

    try:
        out = run([path, "--version"], timeout=5.0, check=False)
    except PodbayError:
        return None
    if out.rc != 0:
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def _mount_test(fstype: str, data: str) -> str | None:
    """Mount fstype on a scratch dir, write a file through it, unmount, remove everything."""
    from podbay.sys.mount import mount, umount

    tmp = tempfile.mkdtemp(prefix="podbay-doctor-")
    target = os.path.join(tmp, "mnt")
    mounted = False
    try:
        os.mkdir(target)
        if fstype == "overlay":
            for d in ("lower", "upper", "work"):
                os.mkdir(os.path.join(tmp, d))
            with open(os.path.join(tmp, "lower", "f"), "w") as f:
                f.write("lower\n")
            data = f"lowerdir={tmp}/lower,upperdir={tmp}/upper,workdir={tmp}/work"
        mount("podbay-doctor" if fstype != "hugetlbfs" else "nodev", target, fstype, 0, data)
        mounted = True
        if fstype == "overlay":
            with open(os.path.join(target, "f"), "a") as f:
                f.write("copied up\n")
            if not os.path.exists(os.path.join(tmp, "upper", "f")):
                return "copy-up did not reach the upper dir"
        elif fstype == "tmpfs":
            with open(os.path.join(target, "f"), "w") as f:
                f.write("x")
        return None
    except (PodbayError, OSError) as exc:
        return str(exc)
    finally:
        if mounted:
            try:
                umount(target)
            except PodbayError:
                umount(target, detach=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _writable(path: str) -> str | None:
    """None if podbay can create files at path (or create path itself), else why not."""
    probe = Path(path)
    while not probe.exists():
        if probe.parent == probe:
            return f"no existing parent of {path}"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    try:
        fd, name = tempfile.mkstemp(prefix=".podbay-doctor-", dir=probe)
    except OSError as exc:
        return f"cannot create files in {probe}: {exc.strerror}"
    os.close(fd)
    os.unlink(name)
    return None


@dataclass(frozen=True)
class Probes:
    """The host as the checks see it. Defaults touch the real machine."""

    which: Callable[[str], str | None] = shutil.which
    version: Callable[[str], str | None] = _version
    read_text: Callable[[str], str | None] = _read_text
    is_file: Callable[[str], bool] = os.path.isfile
    euid: Callable[[], int] = os.geteuid
    rlimit_nofile: Callable[[], tuple[int, int]] = hostprep.host_rlimit_nofile
    # mount_test(fstype, data) -> None on success, else the error text; only called as root.
    mount_test: Callable[[str, str], str | None] = _mount_test
    writable: Callable[[str], str | None] = _writable


# ---- checks ------------------------------------------------------------------------------


def _filesystems(p: Probes) -> set[str]:
    text = p.read_text("/proc/filesystems") or ""
    return {line.split()[-1] for line in text.splitlines() if line.split()}


def check_root(p: Probes) -> Check:
    uid = p.euid()
    return Check("root", uid == 0, f"euid {uid}", "run podbay as root (sudo)")


def check_runtime(p: Probes, cgroup_root: str = "/sys/fs/cgroup") -> Check:
    controllers_text = p.read_text(f"{cgroup_root}/unified/cgroup.controllers")
    controllers = controllers_text.split() if controllers_text is not None else []
    crun, runc = p.which("crun"), p.which("runc")
    crun_ver = p.version(crun) if crun else None
    runc_ver = p.version(runc) if runc else None
    if crun and crun_ver is not None and not controllers:
        return Check("oci-runtime", True, f"crun ({crun_ver})")
    why = "not installed" if not crun else "does not run" if crun_ver is None else (
        f"refuses hybrid cgroups with v2 controllers: {' '.join(controllers)}")
    if runc and runc_ver is not None:
        fix = HOST_PREP_FIX if crun and controllers else "apt-get install -y crun"
        return Check("oci-runtime", True, f"runc ({runc_ver}); crun {why}", fix)
    return Check("oci-runtime", False, f"no usable runtime: crun {why}, runc {'does not run' if runc else 'not installed'}",
                 "apt-get install -y crun runc" + (f"; {HOST_PREP_FIX}" if controllers else ""))


def check_conmon(p: Probes) -> Check:
    path = p.which("conmon")
    if not path:
        return Check("conmon", False, "not installed", "apt-get install -y conmon")
    ver = p.version(path)
    if ver is None:
        return Check("conmon", False, f"{path} --version fails", "apt-get install --reinstall -y conmon")
    return Check("conmon", True, f"{path} ({ver})")


def check_cni(p: Probes) -> Check:
    for d in CNI_DIRS:
        if all(p.is_file(f"{d}/{name}") for name in CNI_PLUGINS):
            return Check("cni-plugins", True, f"{' '.join(CNI_PLUGINS)} in {d}")
    return Check("cni-plugins", False, f"{'/'.join(CNI_PLUGINS)} not all found in {' or '.join(CNI_DIRS)}",
                 "apt-get install -y containernetworking-plugins")


def cgroup_layout(mountinfo_text: str, cgroup_root: str = "/sys/fs/cgroup") -> str:
    """"v2", "hybrid", "v1" or "none" from /proc/self/mountinfo text (pure)."""
    mounts = parse_mountinfo(mountinfo_text)
    v1 = [m for m in mounts if m.fstype == "cgroup" and m.mount_point.startswith(cgroup_root)]
    v2 = [m for m in mounts if m.fstype == "cgroup2" and m.mount_point.startswith(cgroup_root)]
    if any(m.mount_point == cgroup_root for m in v2):
        return "v2"
    if v1 and v2:
        return "hybrid"
    return "v1" if v1 else "none"


def check_cgroups(p: Probes, cgroup_root: str = "/sys/fs/cgroup") -> Check:
    layout = cgroup_layout(p.read_text("/proc/self/mountinfo") or "", cgroup_root)
    if layout == "none":
        return Check("cgroups", False, "no cgroup filesystem mounted", f"mount cgroup2 on {cgroup_root}")
    if layout != "hybrid":
        return Check("cgroups", True, layout)
    text = p.read_text(f"{cgroup_root}/unified/cgroup.controllers") or ""
    controllers = text.split()
    if not controllers:
        return Check("cgroups", True, "hybrid (v1 controllers; unified v2 mount has none: crun works)")
    movable = [c for c in controllers if c in hostprep.V1_MOVABLE]
    fix = HOST_PREP_FIX if movable else "use runc (crun cannot run while v2 holds controllers)"
    return Check("cgroups", False, f"hybrid with v2 controllers {' '.join(controllers)} (crun refuses; runc works)",
                 fix, required=False)


def check_fs(p: Probes, fstype: str, data: str, *, required: bool = True, extra: str = "") -> Check:
    name = "overlayfs" if fstype == "overlay" else fstype
    suffix = f"; {extra}" if extra else ""
    if fstype not in _filesystems(p):
        return Check(name, False, f"{fstype} not in /proc/filesystems{suffix}",
                     f"a kernel with {fstype} built in ({KERNEL_CONFIG.get(fstype, fstype)})", required)
    if p.euid() != 0:
        return Check(name, True, f"supported (mount test skipped: not root){suffix}", required=required)
    err = p.mount_test(fstype, data)
    if err is not None:
        return Check(name, False, f"test mount failed: {err}{suffix}", f"check that {fstype} mounts are allowed here", required)
    return Check(name, True, f"test mount ok{suffix}", required=required)


def hugepages_total(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("HugePages_Total:"):
            return int(line.split()[1])
    return None


def check_hugetlbfs(p: Probes) -> Check:
    total = hugepages_total(p.read_text("/proc/meminfo") or "")
    pages = f"HugePages_Total {total if total is not None else '?'}"
    check = check_fs(p, "hugetlbfs", "pagesize=2M,size=2M", required=False, extra=pages)
    if check.ok and not total:
        # medium: HugePages volumes mount, but a pod can map nothing until pages are reserved.
        return Check(check.name, True, check.detail + " (reserve: echo N > /proc/sys/vm/nr_hugepages)", required=False)
    return check


def check_tool(p: Probes, name: str, package: str) -> Check:
    path = p.which(name)
    return Check(name, bool(path), path or "not found", f"apt-get install -y {package}")


def check_rlimits(p: Probes) -> Check:
    soft, hard = p.rlimit_nofile()
    ok = hard >= MIN_NOFILE
    return Check("rlimit-nofile", ok, f"soft {soft}, hard {hard} (container rlimits are capped at hard)",
                 f"raise the hard RLIMIT_NOFILE to at least {MIN_NOFILE} (ulimit -Hn)")


def check_ip_forward(p: Probes) -> Check:
    value = (p.read_text("/proc/sys/net/ipv4/ip_forward") or "").strip()
    return Check("ip-forward", value == "1", f"net.ipv4.ip_forward = {value or '?'}", HOST_PREP_FIX, required=False)


def check_bridge_nf(p: Probes) -> Check:
    """Service traffic between two pods on one bridge must pass conntrack (br_netfilter)."""
    value = (p.read_text("/proc/sys/net/bridge/bridge-nf-call-iptables") or "").strip()
    if not value:
        return Check("bridge-netfilter", False, "no /proc/sys/net/bridge (br_netfilter not in this kernel)",
                     "load br_netfilter (modprobe br_netfilter); without it pod-to-ClusterIP-to-pod replies "
                     "on one bridge are not un-NATed", required=False)
    return Check("bridge-netfilter", True, f"net.bridge.bridge-nf-call-iptables = {value}"
                 + ("" if value == "1" else " (the agent sets it to 1)"), required=False)


def check_service_tool(p: Probes, name: str, package: str) -> Check:
    path = p.which(name)
    return Check(name, bool(path), path or "not found (Services have no data path without it)",
                 f"apt-get install -y {package}", required=False)


def check_state_root(p: Probes, root: str) -> Check:
    err = p.writable(root)
    return Check("state-root", err is None, root if err is None else f"{root}: {err}",
                 "pass --root / PODBAY_ROOT pointing at a writable directory")


def checks(probes: Probes | None = None, *, root: str = DEFAULT_ROOT) -> list[Check]:
    p = probes or Probes()
    return [
        check_root(p),
        check_runtime(p),
        check_conmon(p),
        check_cni(p),
        check_cgroups(p),
        check_fs(p, "overlay", ""),
        check_fs(p, "tmpfs", "size=1m,mode=0700"),
        check_hugetlbfs(p),
        check_tool(p, "unshare", "util-linux"),
        check_tool(p, "nsenter", "util-linux"),
        check_tool(p, "ip", "iproute2"),
        check_ip_forward(p),
        check_service_tool(p, "nft", "nftables"),
        check_service_tool(p, "conntrack", "conntrack"),
        check_bridge_nf(p),
        check_rlimits(p),
        check_state_root(p, root),
    ]


def format_table(results: Sequence[Check]) -> str:
    """`STATUS name  detail` rows, each failure followed by its `fix:` line (pure)."""
    width = max((len(c.name) for c in results), default=0)
    lines = []
    for c in results:
        lines.append(f"{c.status:<4} {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"     {'':<{width}}  fix: {c.fix}")
    return "\n".join(lines)


def exit_code(results: Sequence[Check]) -> int:
    return 0 if all(c.ok or not c.required for c in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podbay doctor", description="check that this host can run pods")
    parser.add_argument("--root", default=os.environ.get("PODBAY_ROOT", DEFAULT_ROOT), help="state root")
    args = parser.parse_args(argv)
    results = checks(root=args.root)
    print(format_table(results))
    code = exit_code(results)
    failed = sum(1 for c in results if not c.ok and c.required)
    print("doctor: all required checks passed" if code == 0 else f"doctor: {failed} required check(s) failed")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
