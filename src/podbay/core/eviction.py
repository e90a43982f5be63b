"""Local-storage eviction decisions (kubelet ``eviction_manager.localStorageEviction``), pure.

Per pod, first hit wins, in the kubelet's order:

1. emptyDir ``sizeLimit`` (any medium): evict if the volume's used bytes are strictly greater.
2. pod ephemeral-storage limit (``PodLimits`` aggregation of declared limits): usage is the
   containers' writable layers + logs, local ephemeral volumes (disk emptyDir, configMap,
   downwardAPI, gitRepo) and pod files such as etc-hosts.
3. container ephemeral-storage limit (regular containers with a non-zero limit): usage is that
   container's logs + writable layer.

Limits are printed with ``Quantity.String()`` (canonical form) as the kubelet does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from podbay.api.quantity import format_quantity, parse_with_format

EPHEMERAL_STORAGE = "ephemeral-storage"

SIGNAL_EMPTYDIR = "emptydirfs.limit"
SIGNAL_POD = "ephemeralpodfs.limit"
SIGNAL_CONTAINER = "ephemeralcontainerfs.limit"

EMPTYDIR_MESSAGE = 'Usage of EmptyDir volume "{}" exceeds the limit "{}". '
POD_MESSAGE = "Pod ephemeral local storage usage exceeds the total limit of containers {}. "
CONTAINER_MESSAGE = 'Container {} exceeded its local ephemeral storage limit "{}". '

# Volume sources whose data lives on the node's disk and counts as pod ephemeral storage.
_LOCAL_EPHEMERAL_SOURCES = ("configMap", "downwardAPI", "gitRepo")


@dataclass(frozen=True)
class Violation:
    signal: str
    message: str


def local_storage_violation(
    pod: Mapping[str, Any],
    volume_usage: Mapping[str, int],
    container_usage: Mapping[str, int] | None = None,
    pod_extra_usage: int = 0,
) -> Violation | None:
    """The first local-storage violation of pod, or None.

    volume_usage: used bytes per volume name (missing = unknown, never evicts);
    container_usage: logs + writable layer bytes per container name (all containers);
    pod_extra_usage: other per-pod files (etc-hosts, ...).
    """
    spec = pod.get("spec") or {}
    containers = container_usage or {}
    return (
        _empty_dir_violation(spec, volume_usage)
        or _pod_violation(spec, volume_usage, containers, pod_extra_usage)
        or _container_violation(spec, containers)
    )


def eviction_status(message: str) -> dict[str, Any]:
    """Pod status fragment of an evicted pod (terminal: it is never restarted)."""
    return {"phase": "Failed", "reason": "Evicted", "message": message}


def _empty_dir_violation(spec: Mapping[str, Any], volume_usage: Mapping[str, int]) -> Violation | None:
    for vol in spec.get("volumes") or []:
        empty_dir = vol.get("emptyDir")
        if empty_dir is None or empty_dir.get("sizeLimit") is None:
            continue
        limit, fmt = parse_with_format(empty_dir["sizeLimit"])
        used = volume_usage.get(vol["name"])
        if used is not None and limit > 0 and used > limit:
            return Violation(SIGNAL_EMPTYDIR, EMPTYDIR_MESSAGE.format(vol["name"], format_quantity(limit, fmt)))
    return None


def _pod_violation(
    spec: Mapping[str, Any],
    volume_usage: Mapping[str, int],
    container_usage: Mapping[str, int],
    pod_extra_usage: int,
) -> Violation | None:
    limit = pod_ephemeral_limit(spec)
    if limit is None:
        return None
    used = pod_extra_usage + sum(container_usage.values())
    used += sum(volume_usage.get(v["name"], 0) for v in spec.get("volumes") or [] if is_local_ephemeral(v))
    if used > limit[0]:
        return Violation(SIGNAL_POD, POD_MESSAGE.format(format_quantity(*limit)))
    return None


def _container_violation(spec: Mapping[str, Any], container_usage: Mapping[str, int]) -> Violation | None:
    for ctr in spec.get("containers") or []:
        raw = ((ctr.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE)
        if raw is None or ctr["name"] not in container_usage:
            continue
        limit, fmt = parse_with_format(raw)
        if limit != 0 and limit < container_usage[ctr["name"]]:
            return Violation(SIGNAL_CONTAINER, CONTAINER_MESSAGE.format(ctr["name"], format_quantity(limit, fmt)))
    return None


def is_local_ephemeral(volume: Mapping[str, Any]) -> bool:
    """Disk-backed pod volumes (``IsLocalEphemeralVolume``); Memory and HugePages media are RAM."""
    empty_dir = volume.get("emptyDir")
    if empty_dir is not None:
        return not str(empty_dir.get("medium") or "").startswith(("Memory", "HugePages"))
    return any(volume.get(src) is not None for src in _LOCAL_EPHEMERAL_SOURCES)


def pod_ephemeral_limit(spec: Mapping[str, Any]) -> tuple[Fraction, str] | None:
    """(value, format) of the pod's ephemeral-storage limit, resourcehelper.PodLimits-style.

    Sum over containers and restartable (sidecar) init containers, max with each classic init
    container (plus the sidecars started before it), plus overhead. None when nothing declares one.
    The format is the first contributing quantity's, as Quantity.Add keeps the receiver's.
    """
    total = _Sum()
    for ctr in spec.get("containers") or []:
        total.add(_limit(ctr))
    sidecars = _Sum()
    init_max = _Sum()
    for ctr in spec.get("initContainers") or []:
        q = _limit(ctr)
        if ctr.get("restartPolicy") == "Always":
            total.add(q)
            sidecars.add(q)
            init_max.max_with(sidecars.value)
        else:
            step = _Sum()
            step.add(q)
            step.add(sidecars.value)
            init_max.max_with(step.value)
    total.max_with(init_max.value)
    if total.value is None:
        return None
    overhead = (spec.get("overhead") or {}).get(EPHEMERAL_STORAGE)
    if overhead is not None:
        total.add(parse_with_format(overhead))
    return total.value


def _limit(ctr: Mapping[str, Any]) -> tuple[Fraction, str] | None:
    raw = ((ctr.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE)
    return None if raw is None else parse_with_format(raw)


class _Sum:
    """A ResourceList entry for one resource: absent until something is added."""

    def __init__(self) -> None:
        self.value: tuple[Fraction, str] | None = None

    def add(self, q: tuple[Fraction, str] | None) -> None:
        if q is None:
            return
        self.value = q if self.value is None else (self.value[0] + q[0], self.value[1])

    def max_with(self, q: tuple[Fraction, str] | None) -> None:
        if q is not None and (self.value is None or q[0] > self.value[0]):
            self.value = q

