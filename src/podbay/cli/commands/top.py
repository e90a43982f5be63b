"""``podbay top pod|node``: usage from ``metrics.k8s.io/v1beta1`` (computed by the agent from the
cgroups), in kubectl top's columns: millicores and MiB, node percentages of allocatable."""

from __future__ import annotations

import math
from typing import Any

import click

from podbay.cli.context import common, out, settings
from podbay.cli.errors import fail
from podbay.client.http import ApiError

Obj = dict[str, Any]
METRICS = "/apis/metrics.k8s.io/v1beta1"


def _cpu_milli(value: Any) -> int:
    from podbay.api.quantity import parse_quantity

    return math.ceil(parse_quantity(str(value or "0")) * 1000)   # Quantity.MilliValue rounds up


def _mem_bytes(value: Any) -> int:
    from podbay.api.quantity import parse_quantity

    return math.ceil(parse_quantity(str(value or "0")))


def _cells(usage: Obj) -> list[str]:
    return [f"{_cpu_milli(usage.get('cpu'))}m", f"{_mem_bytes(usage.get('memory')) // (1024 * 1024)}Mi"]


def _print(rows: list[list[str]], header: list[str], no_headers: bool) -> None:
    from podbay.cli.tableprint import new_tabwriter

    tw = new_tabwriter()
    lines = rows if no_headers else [header, *rows]
    tw.write("".join("".join(c + "\t" for c in r) + "\n" for r in lines))   # kubectl ends every cell with a tab
    out(tw.flush())


def _get(path: str, query: dict[str, Any] | None = None) -> Obj:
    try:
        return settings().client().get(path, query)
    except ApiError as e:
        if e.code == 404 and "metrics" in path and not e.status.get("details"):
            raise fail("Metrics API not available") from None
        raise


@click.group("top")
def group() -> None:
    """Display CPU and memory usage of pods or nodes."""


@group.command("pod")
@click.argument("name", required=False)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-l", "--selector", default=None)
@click.option("--containers", is_flag=True, help="Per container.")
@click.option("--no-headers", is_flag=True)
@click.option("--sort-by", default=None, type=click.Choice(["cpu", "memory"]))
@common
def pod_cmd(name: str | None, all_namespaces: bool, selector: str | None, containers: bool, no_headers: bool,
            sort_by: str | None) -> None:
    """Usage of pods."""
    s = settings()
    ns = None if all_namespaces and not name else s.namespace
    base = f"{METRICS}/pods" if ns is None else f"{METRICS}/namespaces/{ns}/pods"
    if name:
        items = [_get(f"{base}/{name}")]
    else:
        items = _get(base, {"labelSelector": selector} if selector else None).get("items") or []
    if not items:
        raise fail(f"No resources found in {ns} namespace." if ns else "No resources found")

    def total(m: Obj) -> Obj:
        """The pod's usage: the containers' quantities added, then rounded (Quantity.Add, MilliValue)."""
        from podbay.api.quantity import parse_quantity

        usages = [c.get("usage") or {} for c in m.get("containers") or []]
        cpu = sum((parse_quantity(str(u.get("cpu") or "0")) for u in usages), start=parse_quantity("0"))
        mem = sum((parse_quantity(str(u.get("memory") or "0")) for u in usages), start=parse_quantity("0"))
        return {"cpu": f"{math.ceil(cpu * 1000)}m", "memory": str(math.ceil(mem))}

    if sort_by:
        items.sort(key=lambda m: -(_cpu_milli(total(m)["cpu"]) if sort_by == "cpu" else _mem_bytes(total(m)["memory"])))
    rows: list[list[str]] = []
    for m in items:
        meta = m.get("metadata") or {}
        prefix = [str(meta.get("namespace") or "")] if ns is None else []
        if containers:
            for c in m.get("containers") or []:
                rows.append(prefix + [str(meta.get("name", "")), str(c.get("name", ""))] + _cells(c.get("usage") or {}))
        else:
            rows.append(prefix + [str(meta.get("name", ""))] + _cells(total(m)))
    header = (["NAMESPACE"] if ns is None else []) + (["POD", "NAME"] if containers else ["NAME"]) + [
        "CPU(cores)", "MEMORY(bytes)"]
    _print(rows, header, no_headers)


@group.command("node")
@click.argument("name", required=False)
@click.option("-l", "--selector", default=None)
@click.option("--no-headers", is_flag=True)
@click.option("--sort-by", default=None, type=click.Choice(["cpu", "memory"]))
@common
def node_cmd(name: str | None, selector: str | None, no_headers: bool, sort_by: str | None) -> None:
    """Usage of nodes (and its share of their allocatable resources)."""
    client = settings().client()
    if name:
        items = [_get(f"{METRICS}/nodes/{name}")]
    else:
        items = _get(f"{METRICS}/nodes", {"labelSelector": selector} if selector else None).get("items") or []
    if not items:
        raise fail("No resources found")
    nodes = {n["metadata"]["name"]: n for n in client.get("/api/v1/nodes").get("items") or []}
    if sort_by:
        items.sort(key=lambda m: -(_cpu_milli((m.get("usage") or {}).get("cpu")) if sort_by == "cpu"
                                   else _mem_bytes((m.get("usage") or {}).get("memory"))))
    rows = []
    for m in items:
        node_name = (m.get("metadata") or {}).get("name", "")
        usage = m.get("usage") or {}
        alloc = ((nodes.get(node_name) or {}).get("status") or {}).get("allocatable") or {}
        cpu, mem = _cpu_milli(usage.get("cpu")), _mem_bytes(usage.get("memory"))
        cpu_alloc, mem_alloc = _cpu_milli(alloc.get("cpu")), _mem_bytes(alloc.get("memory"))
        rows.append([node_name, f"{cpu}m", f"{cpu * 100 // cpu_alloc}%" if cpu_alloc else "<unknown>",
                     f"{mem // (1024 * 1024)}Mi", f"{mem * 100 // mem_alloc}%" if mem_alloc else "<unknown>"])
    _print(rows, ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"], no_headers)


command = group
