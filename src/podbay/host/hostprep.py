"""Host preparation the runtime stack needs, and the runtime choice that depends on it.

On a hybrid cgroup host (v1 controllers plus a v2 ``unified`` mount) crun 1.8 refuses to run
anything while ``unified/cgroup.controllers`` is non-empty. On the Debian 12 hosts podbay
targets the only controller left on v2 is hugetlb, so mounting it as a v1 hierarchy empties
the v2 list and crun works (PLATFORM.md §2.4). runc works either way, so it is the fallback.

``python -m podbay.host.hostprep [--dry-run]`` applies the steps (idempotent, root).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from podbay.errors import PermanentError, PodbayError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SYS = Path("/proc/sys")

# Controllers we know how to move from the v2 unified mount to their own v1 hierarchy.
V1_MOVABLE = ("hugetlb",)

# OCI rlimits are uint64; RLIM_INFINITY means "no limit" and is spelled as the max value there.
RLIM_INFINITY_U64 = 2**64 - 1

Which = Callable[[str], "str | None"]


@dataclass(frozen=True)
class HostPaths:
    """Where the host facts live; tests point these at a tmp dir."""

    cgroup_root: Path = CGROUP_ROOT
    proc_sys: Path = PROC_SYS

    @property
    def unified_controllers_file(self) -> Path:
        return self.cgroup_root / "unified" / "cgroup.controllers"

    @property
    def ip_forward_file(self) -> Path:
        return self.proc_sys / "net" / "ipv4" / "ip_forward"


@dataclass(frozen=True)
class HostFacts:
    unified_controllers: tuple[str, ...] | None  # None: no hybrid "unified" mount
    ip_forward: bool


@dataclass(frozen=True)
class Step:
    kind: str  # "mount-cgroup-v1" | "enable-ip-forward"
    arg: str
    description: str


def unified_controllers(paths: HostPaths = HostPaths()) -> tuple[str, ...] | None:
    """Controllers still attached to the hybrid v2 mount; None when there is no such mount."""
    try:
        text = paths.unified_controllers_file.read_text()
    except FileNotFoundError:
        return None
    return tuple(text.split())


def read_facts(paths: HostPaths = HostPaths()) -> HostFacts:
    try:
        forward = paths.ip_forward_file.read_text().strip() == "1"
    except FileNotFoundError:
        forward = False
    return HostFacts(unified_controllers(paths), forward)


def plan(facts: HostFacts) -> list[Step]:
    """The steps that bring the host to the state podbay needs (pure; empty when done)."""
    steps = []
    for ctrl in facts.unified_controllers or ():
        if ctrl in V1_MOVABLE:
            steps.append(Step("mount-cgroup-v1", ctrl, f"mount the {ctrl} cgroup controller as v1 (crun refuses hybrid v2 controllers)"))
    if not facts.ip_forward:
        steps.append(Step("enable-ip-forward", "1", "set net.ipv4.ip_forward=1 (pod traffic leaves the CNI bridge)"))
    return steps


def leftover_controllers(facts: HostFacts) -> tuple[str, ...]:
    """v2 controllers host-prep cannot move: crun stays unusable while any remain."""
    return tuple(c for c in facts.unified_controllers or () if c not in V1_MOVABLE)


def _mount_cgroup_v1(controller: str, paths: HostPaths) -> None:
    # Imported here: the ctypes mount helper is only needed when a step really runs.
    from podbay.sys.mount import mount

    target = paths.cgroup_root / controller
    target.mkdir(exist_ok=True)
    mount("cgroup", str(target), "cgroup", 0, controller)


def apply(steps: Sequence[Step], paths: HostPaths = HostPaths()) -> None:
    for step in steps:
        if step.kind == "mount-cgroup-v1":
            _mount_cgroup_v1(step.arg, paths)
        elif step.kind == "enable-ip-forward":
            paths.ip_forward_file.write_text("1\n")
        else:
            raise PermanentError(f"unknown host preparation step {step.kind!r}")


def prepare(paths: HostPaths = HostPaths(), *, dry_run: bool = False, euid: int | None = None) -> list[str]:
    """Apply what is missing; return report lines. Idempotent: a second run does nothing."""
    facts = read_facts(paths)
    steps = plan(facts)
    report = []
    if not steps:
        report.append("host already prepared: nothing to do")
    elif dry_run:
        report.extend(f"would {s.description}" for s in steps)
    else:
        if (os.geteuid() if euid is None else euid) != 0:
            raise PermanentError("host preparation needs root: " + "; ".join(s.description for s in steps))
        apply(steps, paths)
        report.extend(f"did {s.description}" for s in steps)
        facts = read_facts(paths)
    left = leftover_controllers(facts)
    if left:
        report.append(f"warning: cgroup v2 controllers {' '.join(left)} remain; crun cannot run here, podbay uses runc")
    return report


def choose_runtime(paths: HostPaths = HostPaths(), which: Which = shutil.which) -> str:
    """"crun" when it can work on this cgroup layout, else "runc"; PermanentError when neither."""
    controllers = unified_controllers(paths)
    if which("crun") and not controllers:
        return "crun"
    if which("runc"):
        return "runc"
    if which("crun"):
        raise PermanentError(
            f"crun cannot run on this hybrid cgroup host (v2 controllers: {' '.join(controllers or ())}) "
            "and runc is not installed: run `make host-prep` or `apt-get install -y runc`"
        )
    raise PermanentError("no OCI runtime found: apt-get install -y crun runc")


def _u64(value: int) -> int:
    return RLIM_INFINITY_U64 if value == resource.RLIM_INFINITY or value < 0 else value


def host_rlimit_nofile() -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of this process; an OCI spec must not ask for more than hard."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _u64(soft), _u64(hard)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podbay-hostprep", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dry-run", action="store_true", help="print what would be done")
    args = parser.parse_args(argv)
    try:
        lines = prepare(dry_run=args.dry_run)
    except (PodbayError, OSError) as exc:  # OSError: e.g. a read-only /proc/sys in a container
        print(f"host-prep: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"host-prep: {line}")
    try:
        print(f"host-prep: OCI runtime: {choose_runtime()}")
    except PermanentError as exc:
        print(f"host-prep: warning: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
