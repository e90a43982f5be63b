"""OCI runtime-spec 1.0.2 ``config.json`` for one container, as containerd's CRI plugin would write it.

Accepted by crun 1.8.1 and runc 1.1.5. Choices that matter:

* no ``hostname`` (the pod's UTS namespace is joined by path and already carries the hostname);
* network/ipc/uts joined by path (``None`` = the host's), pid new unless a path is given, mount new;
* capabilities: the CRI default set, ``add``/``drop`` applied after ``ALL``; privileged gets every
  capability the host still has (this host lacks CAP_SYS_RESOURCE, so "all known" would fail);
* mounts: the runtime defaults, then the plan's mounts by destination depth (parents first), a later
  mount with the same destination replacing an earlier one (a user ``/etc/hosts`` wins);
* resources from the container spec: memory limit, CPU shares/quota (kubelet's conversions);
* rlimits: only ``RLIMIT_NOFILE``, which the caller keeps below the host hard limit.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podbay.api import seccomp as api_seccomp
from podbay.api.quantity import parse_quantity
from podbay.core import seccomp
from podbay.errors import NotSupported, PermanentError

OCI_VERSION = "1.0.2"

# containerd / CRI-O default capability set (without the CAP_ prefix, as Kubernetes writes them).
DEFAULT_CAPS = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)

# Every capability of Linux 5.9+ in number order (include/uapi/linux/capability.h).
ALL_CAPS = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)

# runc's default spec (libcontainer/specconv/example.go).
MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# Kubernetes mountPropagation -> OCI bind propagation (kubelet translateMountPropagation + CRI).
PROPAGATION = {"None": "rprivate", "HostToContainer": "rslave", "Bidirectional": "rshared"}

CPU_PERIOD = 100_000  # kubelet's quotaPeriod, microseconds
MIN_QUOTA = 1_000
MIN_SHARES, MAX_SHARES = 2, 262_144

@dataclass(frozen=True)
class MountSpec:
    """One mount in the container. For ``type="bind"`` the options are derived from ``readonly`` and
    ``propagation`` (Kubernetes names) unless ``options`` is given; other types use ``options``."""

    destination: str
    source: str
    type: str = "bind"
    options: tuple[str, ...] = ()
    readonly: bool = False
    propagation: str = "None"
    recursive_readonly: bool = False   # "rro": sub-mounts read-only too (mount_setattr, kernel >= 5.12)

    def oci(self) -> dict[str, Any]:
        opts = list(self.options)
        if self.type == "bind" and not opts:
            if self.propagation not in PROPAGATION:
                raise PermanentError(f"invalid mountPropagation {self.propagation!r}")
            opts = ["rbind", PROPAGATION[self.propagation]]
        if self.readonly and "ro" not in opts:
            opts.append("ro")
        if self.recursive_readonly and "rro" not in opts:
            opts.append("rro")
        return {"destination": self.destination, "type": self.type, "source": self.source, "options": opts}


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ContainerPlan:
    """Everything :func:`build_spec` needs; the runtime adapter fills it from pod, image and host."""

    container_id: str
    pod: Mapping[str, Any]
    container: Mapping[str, Any]
    argv: Sequence[str]
    env: Sequence[str]
    rootfs: str
    cgroups_path: str
    user: User = User(0, 0)
    cwd: str = "/"
    readonly_rootfs: bool | None = None   # None: from securityContext.readOnlyRootFilesystem
    net_ns: str | None = None             # namespace paths; None = the host's namespace
    ipc_ns: str | None = None
    uts_ns: str | None = None
    pid_ns: str | None = None             # None = a new PID namespace (unless host_pid)
    host_pid: bool = False
    mounts: Sequence[MountSpec] = ()
    shm_path: str | None = None           # pod shm to bind at /dev/shm; None = a private 64m tmpfs
    rlimit_nofile: tuple[int, int] = (1024, 1024)
    pids_limit: int | None = None
    available_caps: Sequence[str] | None = None   # host bounding set (no CAP_ prefix); None = all
    annotations: Mapping[str, str] = field(default_factory=dict)
    seccomp_localhost: Mapping[str, Any] | None = None   # the loaded file of a Localhost seccompProfile
    arch: str = "x86_64"                                  # host machine, for the seccomp architectures


# --- security context ----------------------------------------------------------------------------


def effective_security_context(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """Container securityContext over the pod's (DetermineEffectiveSecurityContext, Linux fields)."""
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = dict(container.get("securityContext") or {})
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "seccompProfile", "appArmorProfile"):
        if csc.get(key) is None and psc.get(key) is not None:
            csc[key] = psc[key]
    return csc


def _parse_passwd(text: str | None) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
            out.append((parts[0], int(parts[2]), int(parts[3])))
    return out


def _parse_group(text: str | None) -> list[tuple[str, int, list[str]]]:
    out: list[tuple[str, int, list[str]]] = []
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            members = [m for m in (parts[3].split(",") if len(parts) > 3 else []) if m]
            out.append((parts[0], int(parts[2]), members))
    return out


def _format_pod(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def resolve_user(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    image_user: str = "",
    passwd: str | None = None,
    group: str | None = None,
) -> User:
    """uid/gid/additional gids: runAsUser/runAsGroup over the image USER (names via the image's
    /etc/passwd and /etc/group text), plus group memberships, supplementalGroups and fsGroup.
    Enforces runAsNonRoot with kubelet's messages."""
    sc = effective_security_context(pod, container)
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    users = _parse_passwd(passwd)
    groups = _parse_group(group)

    user_part, _, group_part = (image_user or "").partition(":")
    username = ""
    if sc.get("runAsUser") is not None:
        uid = int(sc["runAsUser"])
        entry = next((u for u in users if u[1] == uid), None)
        gid = entry[2] if entry else 0
        username = entry[0] if entry else ""
        group_part = ""  # containerd's WithUserID ignores the image group
    elif user_part == "":
        uid, gid = 0, 0
        username = next((u[0] for u in users if u[1] == 0), "")
    elif user_part.isdigit():
        uid = int(user_part)
        entry = next((u for u in users if u[1] == uid), None)
        gid = entry[2] if entry else 0
        username = entry[0] if entry else ""
    else:
        entry = next((u for u in users if u[0] == user_part), None)
        if entry is None:
            if sc.get("runAsNonRoot"):
                raise PermanentError(
                    f"container has runAsNonRoot and image has non-numeric user ({user_part}), cannot verify "
                    f"user is non-root (pod: \"{_format_pod(pod)}\", container: {container.get('name', '')})")
            raise PermanentError(f"unable to find user {user_part}: no matching entries in passwd file")
        username, uid, gid = entry
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        else:
            g = next((g for g in groups if g[0] == group_part), None)
            if g is None:
                raise PermanentError(f"unable to find group {group_part}: no matching entries in group file")
            gid = g[1]
    if sc.get("runAsGroup") is not None:
        gid = int(sc["runAsGroup"])

    if sc.get("runAsNonRoot"):
        where = f"(pod: \"{_format_pod(pod)}\", container: {container.get('name', '')})"
        if sc.get("runAsUser") is not None and uid == 0:
            raise PermanentError(f"container's runAsUser breaks non-root policy {where}")
        if uid == 0:
            raise PermanentError(f"container has runAsNonRoot and image will run as root {where}")

    extra: list[int] = [gid]
    if username:
        extra += [g[1] for g in groups if username in g[2]]
    extra += [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        extra.append(int(psc["fsGroup"]))
    return User(uid, gid, tuple(dict.fromkeys(extra)))


def capabilities(sc: Mapping[str, Any], available: Sequence[str] | None = None) -> list[str]:
    """Capability names with the CAP_ prefix, in number order."""
    have = ALL_CAPS if available is None else tuple(c for c in ALL_CAPS if c in set(available))
    if sc.get("privileged"):
        caps = set(have)
    else:
        spec = sc.get("capabilities") or {}
        add = [_cap_name(c) for c in spec.get("add") or []]
        drop = [_cap_name(c) for c in spec.get("drop") or []]
        caps = set(DEFAULT_CAPS)
        if "ALL" in add:
            caps = set(have)
        if "ALL" in drop:
            caps = set()
        caps |= {c for c in add if c != "ALL"}
        caps -= {c for c in drop if c != "ALL"}
        caps &= set(have)
    return [f"CAP_{c}" for c in ALL_CAPS if c in caps]


def _cap_name(raw: object) -> str:
    name = str(raw).upper()
    if name.startswith("CAP_"):
        name = name[4:]
    if name != "ALL" and name not in ALL_CAPS:
        raise PermanentError(f"unknown capability {raw!r}")
    return name


# --- resources -----------------------------------------------------------------------------------


def _milli_cpu(v: object) -> int:
    return math.ceil(parse_quantity(v) * 1000)  # type: ignore[arg-type]


def milli_cpu_to_shares(milli: int) -> int:
    """kubelet MilliCPUToShares."""
    if milli == 0:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli * 1024 // 1000))


def milli_cpu_to_quota(milli: int, period: int = CPU_PERIOD) -> int:
    """kubelet milliCPUToQuota (0 = no limit)."""
    if milli == 0:
        return 0
    return max(MIN_QUOTA, milli * period // 1000)


def linux_resources(container: Mapping[str, Any], privileged: bool = False,
                    pids_limit: int | None = None) -> dict[str, Any]:
    res = container.get("resources") or {}
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    out: dict[str, Any] = {
        "devices": [{"allow": True, "access": "rwm"}] if privileged else [{"allow": False, "access": "rwm"}],
    }
    if "memory" in limits:
        out["memory"] = {"limit": math.ceil(parse_quantity(limits["memory"]))}
    cpu_request = requests.get("cpu", limits.get("cpu"))  # request defaults to the limit
    cpu: dict[str, Any] = {"shares": milli_cpu_to_shares(_milli_cpu(cpu_request) if cpu_request is not None else 0)}
    if "cpu" in limits:
        quota = milli_cpu_to_quota(_milli_cpu(limits["cpu"]))
        if quota:
            cpu["quota"] = quota
            cpu["period"] = CPU_PERIOD
    out["cpu"] = cpu
    if pids_limit is not None:
        out["pids"] = {"limit": pids_limit}
    huge = hugepage_limits(limits)
    if huge:
        out["hugepageLimits"] = huge
    return out


def hugepage_limits(limits: Mapping[str, Any]) -> list[dict[str, Any]]:
    """hugepages-<size> limits as OCI hugepageLimits (kubelet's GetHugepageLimitsFromResources):
    the page size in the runtime's notation (2Mi -> 2MB, 1Gi -> 1GB)."""
    out = []
    for name, raw in sorted(limits.items()):
        if not str(name).startswith("hugepages-"):
            continue
        size = int(parse_quantity(str(name)[len("hugepages-"):]))
        units = (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10))
        page = next((f"{size // f}{u}" for u, f in units if size % f == 0 and size >= f), f"{size}B")
        out.append({"pageSize": page, "limit": math.ceil(parse_quantity(raw))})
    return out


def caps_from_mask(mask: int) -> tuple[str, ...]:
    """Capability names (no CAP_ prefix) whose bits are set in a /proc/<pid>/status Cap* mask."""
    return tuple(name for bit, name in enumerate(ALL_CAPS) if mask >> bit & 1)


# --- mounts --------------------------------------------------------------------------------------


def clean_mount_path(path: str) -> str:
    """kubelet: a relative mountPath becomes Clean("/" + path)."""
    return posixpath.normpath("/" + path.lstrip("/")) if path else "/"


def volume_mount(volume_mount: Mapping[str, Any], host_path: str) -> MountSpec:
    """A MountSpec for a container volumeMount whose (subPath-resolved) host path is known."""
    # crun 1.8 and runc 1.1 both apply "rro" with mount_setattr (kernel >= 5.12; this host runs 6.x), so
    # IfPossible and Enabled both give a recursively read-only bind. API validation already requires
    # readOnly and propagation None for them.
    rro = (volume_mount.get("recursiveReadOnly") or "Disabled") in ("Enabled", "IfPossible")
    return MountSpec(
        destination=clean_mount_path(str(volume_mount.get("mountPath", ""))),
        source=host_path,
        readonly=bool(volume_mount.get("readOnly")),
        propagation=str(volume_mount.get("mountPropagation") or "None"),
        recursive_readonly=rro and bool(volume_mount.get("readOnly")),
    )


def _depth(dest: str) -> int:
    norm = posixpath.normpath(dest)
    return 0 if norm == "/" else norm.count("/")


def order_mounts(mounts: Iterable[MountSpec]) -> list[MountSpec]:
    """Last definition of a destination wins; then parents before children, stable otherwise."""
    by_dest: dict[str, MountSpec] = {}
    for m in mounts:
        key = posixpath.normpath(m.destination)
        by_dest.pop(key, None)
        by_dest[key] = m
    return sorted(by_dest.values(), key=lambda m: _depth(m.destination))


def default_mounts(privileged: bool, shm_path: str | None) -> list[dict[str, Any]]:
    sys_opts = ["nosuid", "noexec", "nodev"] + ([] if privileged else ["ro"])
    shm: dict[str, Any]
    if shm_path:
        shm = {"destination": "/dev/shm", "type": "bind", "source": shm_path,
               "options": ["rbind", "rprivate", "nosuid", "noexec", "nodev"]}
    else:
        shm = {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        shm,
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime"] + ([] if privileged else ["ro"])},
    ]


# --- the spec ------------------------------------------------------------------------------------


def seccomp_profile(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any] | None:
    """The effective seccompProfile (fields over the deprecated annotations); None = Unconfined."""
    return api_seccomp.effective_profile(pod, container)


def localhost_profile_name(pod: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    """The localhostProfile (relative to the seccomp profile root) the container needs, if any."""
    profile = seccomp_profile(pod, container) or {}
    if profile.get("type") != api_seccomp.LOCALHOST:
        return None
    name = profile.get("localhostProfile")
    if not name:   # kubelet: "localhostProfile must be set if seccompProfile type is Localhost."
        raise PermanentError("localhostProfile must be set if seccompProfile type is Localhost.")
    return str(name)


def _seccomp(plan: ContainerPlan, caps: Sequence[str]) -> dict[str, Any] | None:
    profile = seccomp_profile(plan.pod, plan.container) or {}
    kind = profile.get("type") or api_seccomp.UNCONFINED  # kubelet default without SeccompDefault
    if kind == api_seccomp.UNCONFINED:
        return None
    if kind == api_seccomp.RUNTIME_DEFAULT:
        return seccomp.runtime_default(caps, plan.arch)
    if kind == api_seccomp.LOCALHOST:
        name = localhost_profile_name(plan.pod, plan.container)
        if plan.seccomp_localhost is None:
            raise PermanentError(f"seccomp profile {name!r} was not loaded")
        return seccomp.localhost(plan.seccomp_localhost, caps, plan.arch, f'"{name}"')
    raise NotSupported(f"seccompProfile type {kind!r} is not supported by podbay")


def build_spec(plan: ContainerPlan) -> dict[str, Any]:
    pod, container = plan.pod, plan.container
    sc = effective_security_context(pod, container)
    privileged = bool(sc.get("privileged"))
    if (sc.get("procMount") or "Default") != "Default":
        raise NotSupported("procMount other than Default is not supported by podbay yet")
    if (sc.get("windowsOptions") or {}).get("hostProcess"):
        raise NotSupported("windowsOptions.hostProcess is not supported on Linux")

    caps = capabilities(sc, plan.available_caps)
    readonly = plan.readonly_rootfs if plan.readonly_rootfs is not None else bool(sc.get("readOnlyRootFilesystem"))
    user: dict[str, Any] = {"uid": plan.user.uid, "gid": plan.user.gid}
    if plan.user.additional_gids:
        user["additionalGids"] = list(plan.user.additional_gids)
    process: dict[str, Any] = {
        "terminal": container.get("tty") is True,   # conmon -t provides the console socket
        "user": user,
        "args": list(plan.argv),
        "env": list(plan.env),
        "cwd": plan.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": plan.rlimit_nofile[1], "soft": plan.rlimit_nofile[0]}],
        # kubelet AddNoNewPrivileges: only an explicit allowPrivilegeEscalation=false sets it.
        "noNewPrivileges": sc.get("allowPrivilegeEscalation") is False,
    }

    user_mounts = order_mounts(plan.mounts)
    user_dests = {posixpath.normpath(m.destination) for m in user_mounts}
    mounts = [m for m in default_mounts(privileged, plan.shm_path) if m["destination"] not in user_dests]
    mounts += [m.oci() for m in user_mounts]

    namespaces: list[dict[str, Any]] = []
    for kind, path in (("network", plan.net_ns), ("ipc", plan.ipc_ns), ("uts", plan.uts_ns)):
        if path is not None:
            namespaces.append({"type": kind, "path": path})
    if not plan.host_pid:
        namespaces.append({"type": "pid", "path": plan.pid_ns} if plan.pid_ns else {"type": "pid"})
    namespaces.append({"type": "mount"})

    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": plan.cgroups_path,
        "resources": linux_resources(container, privileged, plan.pids_limit),
    }
    propagations = {m.propagation for m in user_mounts if m.type == "bind"}
    if "Bidirectional" in propagations:
        linux["rootfsPropagation"] = "rshared"
    elif "HostToContainer" in propagations:
        linux["rootfsPropagation"] = "rslave"
    if not privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    sysctls = ((pod.get("spec") or {}).get("securityContext") or {}).get("sysctls") or []
    if sysctls:
        linux["sysctl"] = {str(s["name"]): str(s.get("value", "")) for s in sysctls}
    # Privileged containers run unconfined, as containerd and CRI-O do.
    profile = _seccomp(plan, caps) if not privileged else None
    if profile:
        linux["seccomp"] = profile

    meta = pod.get("metadata") or {}
    annotations = {
        "io.kubernetes.pod.name": str(meta.get("name", "")),
        "io.kubernetes.pod.namespace": str(meta.get("namespace", "")),
        "io.kubernetes.pod.uid": str(meta.get("uid", "")),
        "io.kubernetes.container.name": str(container.get("name", "")),
        # conmon's -i / --leave-stdin-open follow these (CRI-O's names); see runtime.service.create.
        "io.kubernetes.cri-o.Stdin": "true" if container.get("stdin") is True else "false",
        "io.kubernetes.cri-o.StdinOnce": "true" if container.get("stdinOnce") is True else "false",
        "io.kubernetes.cri-o.TTY": "true" if container.get("tty") is True else "false",
    }
    annotations.update(plan.annotations)
    return {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": plan.rootfs, "readonly": readonly},
        "mounts": mounts,
        "linux": linux,
        "annotations": annotations,
    }
