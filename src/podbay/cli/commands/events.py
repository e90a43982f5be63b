"""``podbay events``: kubectl events -- the namespace's events, oldest first, with kubectl's LAST SEEN
(``5m (x3 over 10m)``) and ``Kind/name`` objects; ``--for TYPE/NAME``, ``--types``, ``-w``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from podbay.cli.context import common, err, now, out, settings
from podbay.cli.errors import fail

Obj = dict[str, Any]


def _time(e: Obj) -> str:
    return str(e.get("lastTimestamp") or (e.get("series") or {}).get("lastObservedTime") or e.get("eventTime")
               or e.get("firstTimestamp") or (e.get("metadata") or {}).get("creationTimestamp") or "")


def last_seen(e: Obj, t: datetime) -> str:
    from podbay.cli.printers import since

    first = since(str(e.get("firstTimestamp") or e.get("eventTime") or ""), t)
    series = e.get("series")
    if series:
        return f"{since(series.get('lastObservedTime'), t)} (x{series.get('count')} over {first})"
    count = int(e.get("count") or 0)
    if count > 1:
        return f"{since(e.get('lastTimestamp'), t)} (x{count} over {first})"
    return since(_time(e), t)


def row(e: Obj, t: datetime, with_ns: bool) -> list[str]:
    ref = e.get("involvedObject") or {}
    cells = [last_seen(e, t), str(e.get("type") or ""), str(e.get("reason") or ""),
             f"{ref.get('kind', '')}/{ref.get('name', '')}", str(e.get("message") or "").strip()]
    if with_ns:
        cells.insert(0, str((e.get("metadata") or {}).get("namespace") or ""))
    return cells


@click.command("events")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("--for", "for_", default=None, help="TYPE/NAME: only this object's events.")
@click.option("--types", default=None, help="Only these types (Normal,Warning).")
@click.option("-w", "--watch", is_flag=True)
@click.option("--no-headers", is_flag=True)
@click.option("-o", "--output", default="", type=click.Choice(["", "json", "yaml"]))
@common
def command(all_namespaces: bool, for_: str | None, types: str | None, watch: bool, no_headers: bool,
            output: str) -> None:
    """List events (oldest first)."""
    from podbay.cli.tableprint import new_tabwriter

    s = settings()
    client = s.client()
    ns = None if all_namespaces else s.namespace
    path = "/api/v1/events" if ns is None else f"/api/v1/namespaces/{ns}/events"
    query: dict[str, Any] = {}
    kind_filter = ""
    if for_:
        type_arg, _, name = for_.partition("/")
        if not name:
            raise fail(f"--for must be in resource/name form, got {for_!r}")
        kind_filter = s.discovery().resolve_one(type_arg).kind
        query["fieldSelector"] = f"involvedObject.name={name}"
    wanted = {t.strip().lower() for t in (types or "").split(",") if t.strip()}

    def keep(e: Obj) -> bool:
        if kind_filter and (e.get("involvedObject") or {}).get("kind") not in (kind_filter, "", None):
            return False
        return not wanted or str(e.get("type") or "").lower() in wanted

    lst = client.get(path, query)
    items = sorted((e for e in lst.get("items") or [] if keep(e)), key=_time)
    if output:
        from podbay.cli.output import as_list, dump_json, dump_yaml

        doc = as_list([{"apiVersion": "v1", "kind": "Event", **e} for e in items])
        out(dump_json(doc) if output == "json" else dump_yaml(doc))
        return
    tw = new_tabwriter()
    header = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    if ns is None:
        header.insert(0, "NAMESPACE")
    t = now()
    if items and not no_headers:
        tw.write("\t".join(header) + "\n")
    for e in items:
        tw.write("\t".join(row(e, t, ns is None)) + "\n")
    out(tw.flush())
    if not items and not watch:
        err(f"No events found in {ns} namespace." if ns else "No events found.")
        return
    if watch:
        rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
        header_done = bool(items) or no_headers
        for event in client.watch(path, {**query, **({"resourceVersion": rv} if rv else {})}):
            e = event.get("object") or {}
            if event.get("type") in ("BOOKMARK", "ERROR", "DELETED") or not keep(e):
                continue
            if not header_done:
                tw.write("\t".join(header) + "\n")
                header_done = True
            tw.write("\t".join(row(e, now(), ns is None)) + "\n")
            out(tw.flush())
