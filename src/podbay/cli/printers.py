"""kubectl's pod table: AGE, READY / STATUS / RESTARTS columns, rows and -o formats.

Pure functions of (pod, now). The column logic (kubectl's ``printPod`` and apimachinery's
``HumanDuration``) lives in ``podbay.api.printing``; this module only lays out rows. api.printing is
imported where it is used: it costs more at start-up than ``--help`` or ``version`` should pay.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

Pod = dict[str, Any]

HEADERS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
WIDE_HEADERS = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 (``2024-01-02T03:04:05Z``, fractional seconds allowed) -> aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def since(value: str | None, now: datetime) -> str:
    """kubectl's translateTimestampSince."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    from podbay.api.printing import human_duration

    return human_duration((now - t).total_seconds())


def pod_row(pod: Pod, now: datetime, *, wide: bool = False, with_namespace: bool = False) -> list[str]:
    from podbay.api.printing import pod_columns

    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ready, reason, restarts = pod_columns(pod, now.timestamp())
    row = [meta.get("name", ""), ready, reason, restarts, since(meta.get("creationTimestamp"), now)]
    if wide:
        ips = status.get("podIPs") or []
        ip = (ips[0].get("ip") if ips else "") or "<none>"
        gates = spec.get("readinessGates") or []
        gates_str = "<none>"
        if gates:
            conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
            true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
            gates_str = f"{true}/{len(gates)}"
        row += [ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_str]
    if with_namespace:
        row.insert(0, meta.get("namespace", ""))
    return row


def header(*, wide: bool = False, with_namespace: bool = False) -> list[str]:
    cols = HEADERS + (WIDE_HEADERS if wide else [])
    return (["NAMESPACE"] if with_namespace else []) + cols


def table_lines(rows: list[list[str]]) -> str:
    """Rows as tab-separated lines, ready for a TabWriter(6, 3)."""
    return "".join("\t".join(r) + "\n" for r in rows)


def render_table(rows: list[list[str]]) -> str:
    from podbay.cli.tabwriter import TabWriter

    tw = TabWriter(minwidth=6, padding=3)
    tw.write(table_lines(rows))
    return tw.flush()


def as_list(items: list[Pod]) -> dict[str, Any]:
    """kubectl's -o json/yaml of several objects: a v1 List."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def without_managed_fields(obj: Any) -> Any:
    """What kubectl prints by default (``--show-managed-fields=false``): no metadata.managedFields."""
    if isinstance(obj, dict):
        if obj.get("kind") == "List" or ("items" in obj and isinstance(obj.get("items"), list)):
            return {**obj, "items": [without_managed_fields(i) for i in obj["items"]]}
        md = obj.get("metadata")
        if isinstance(md, dict) and "managedFields" in md:
            return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}
    return obj


def to_json(obj: Any) -> str:
    return json.dumps(without_managed_fields(obj), indent=4, ensure_ascii=False) + "\n"


def to_yaml(obj: Any) -> str:
    import yaml

    return str(yaml.safe_dump(without_managed_fields(obj), default_flow_style=False, sort_keys=True,
                              allow_unicode=True))


def now_utc() -> datetime:
    return datetime.now(UTC)
