"""Container garbage collection, the decision (kubelet containerGC with MaxPerPodContainer).

Per (pod, container name) podbay keeps the newest two attempts: the current one (running or the
last exit) and the one before it (``kubectl logs -p``). The restart count is the newest attempt's
number and its back-off entry is carried on it, so nothing older is needed. The infra process keeps
only its newest attempt.
"""

from __future__ import annotations

from collections.abc import Iterable

from podbay.core.records import ContainerRecord

KEEP = 2


def attempts_to_remove(records: Iterable[ContainerRecord]) -> list[ContainerRecord]:
    by_name: dict[tuple[str, str], list[ContainerRecord]] = {}
    for r in records:
        by_name.setdefault((r.kind if r.kind == "infra" else "", r.name), []).append(r)
    out: list[ContainerRecord] = []
    for (kind, _), attempts in by_name.items():
        attempts.sort(key=lambda r: r.attempt)
        keep = 1 if kind == "infra" else KEEP
        out += [r for r in attempts[:-keep] if r.state not in ("created", "running")]
    return out
