"""``metadata.managedFields`` as structured-merge-diff's ``ManagedFields`` and back, after
apimachinery ``util/managedfields/internal/managedfields.go``: one entry per manager identifier
(manager, operation, apiVersion for updates, subresource), sorted on encoding by operation, time,
manager, apiVersion, subresource.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from podbay.api.patch import fieldsv1 as fp
from podbay.api.patch.gofmt import go_quote


@dataclass(frozen=True)
class ManagerId:
    """``BuildManagerIdentifier``: appliers are not told apart by apiVersion, updaters are."""

    manager: str
    operation: str  # Apply | Update
    api_version: str = ""
    subresource: str = ""

    def printed(self) -> str:
        """``printManager``: how conflict messages name a manager."""
        s = go_quote(self.manager)
        if self.subresource:
            s = f"{s} with subresource {go_quote(self.subresource)}"
        if self.operation == "Update":
            return f"{s} using {self.api_version}"
        return s


@dataclass(frozen=True)
class Entry:
    """A ``fieldpath.VersionedSet``."""

    fields: fp.FieldSet
    api_version: str
    applied: bool


Managed = dict[ManagerId, Entry]
Times = dict[ManagerId, str | None]


def decode(entries: Any) -> tuple[Managed, Times]:
    """``DecodeManagedFields``; raises ValueError on an entry upstream would refuse."""
    managed: Managed = {}
    times: Times = {}
    for i, e in enumerate(entries or []):
        if not isinstance(e, dict):
            raise ValueError(f"managed fields entry {i} is not an object")
        op = e.get("operation")
        if op not in ("Apply", "Update"):
            raise ValueError("operation must be `Apply` or `Update`")
        if not e.get("apiVersion"):
            raise ValueError("apiVersion must not be empty")
        ft = e.get("fieldsType", "")
        if ft == "":
            raise ValueError(f"missing fieldsType in managed fields entry {i}")
        if ft != "FieldsV1":
            raise ValueError(f'invalid fieldsType "{ft}" in managed fields entry {i}')
        mid = ManagerId(str(e.get("manager", "")), op,
                        "" if op == "Apply" else str(e["apiVersion"]), str(e.get("subresource", "")))
        managed[mid] = Entry(fp.from_fields_v1(e.get("fieldsV1") or {}), str(e["apiVersion"]),
                             op == "Apply")
        times[mid] = e.get("time")
    return managed, times


def _seconds(t: str | None) -> int:
    if not t:
        return 0
    try:
        return int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def encode(managed: Managed, times: Times) -> list[dict[str, Any]] | None:
    """``encodeManagedFields``: the wire entries, or None when nothing is managed."""
    if not managed:
        return None
    out: list[dict[str, Any]] = []
    for mid, entry in managed.items():
        e: dict[str, Any] = {"manager": mid.manager,
                             "operation": "Apply" if entry.applied else mid.operation,
                             "apiVersion": entry.api_version}
        t = times.get(mid)
        if t is not None:
            e["time"] = t
        e["fieldsType"] = "FieldsV1"
        e["fieldsV1"] = fp.to_fields_v1(entry.fields)
        if mid.subresource:
            e["subresource"] = mid.subresource
        out.append(e)
    out.sort(key=lambda e: (e["operation"], _seconds(e.get("time")), e["manager"],
                            e["apiVersion"], e.get("subresource", "")))
    return out


def is_reset(entries: Any) -> bool:
    """``isResetManagedFields``: ``[]`` or ``[{}]`` asks to drop all managed fields."""
    if entries is None:
        return False
    if isinstance(entries, list):
        return len(entries) == 0 or (len(entries) == 1 and entries[0] == {})
    return False
