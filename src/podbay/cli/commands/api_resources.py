"""``podbay api-resources`` (and the same data as ``api-versions``): what the server serves, from
discovery (always fetched fresh, as kubectl's ``--cached=false``)."""

from __future__ import annotations

from typing import Any

import click

from podbay.cli.context import common, out, settings
from podbay.cli.errors import fail


@click.command("api-resources")
@click.option("-o", "--output", default="", type=click.Choice(["", "wide", "name"]))
@click.option("--namespaced", default=None, help="true|false: only namespaced or only cluster-scoped.")
@click.option("--api-group", default=None, help="Only this group ('' is the core group).")
@click.option("--verbs", default=None, help="Only resources supporting all these verbs (comma separated).")
@click.option("--categories", default=None, help="Only resources in all these categories.")
@click.option("--sort-by", default=None, type=click.Choice(["name", "kind"]))
@click.option("--no-headers", is_flag=True)
@common
def command(output: str, namespaced: str | None, api_group: str | None, verbs: str | None, categories: str | None,
            sort_by: str | None, no_headers: bool) -> None:
    """Print the API resources the server serves."""
    from podbay.cli.args import bool_flag
    from podbay.cli.tabwriter import TabWriter

    resources: list[Any] = [r for r in settings().discovery().refresh() if "/" not in r.plural]
    if namespaced is not None:
        want = bool_flag(namespaced, "namespaced")
        resources = [r for r in resources if r.namespaced == want]
    if api_group is not None:
        resources = [r for r in resources if r.group == api_group]
    if verbs:
        need = [v for v in verbs.split(",") if v]
        resources = [r for r in resources if all(v in r.verbs for v in need)]
    if categories:
        need = [c for c in categories.split(",") if c]
        resources = [r for r in resources if all(c in r.categories for c in need)]
    groups: list[str] = []
    for r in resources:
        if r.group not in groups:
            groups.append(r.group)
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in resources:   # a group's preferred version only, as kubectl lists them
        if (r.group, r.plural) not in seen:
            seen.add((r.group, r.plural))
            unique.append(r)
    if sort_by == "kind":
        unique.sort(key=lambda r: (r.kind, r.group))
    elif sort_by == "name":
        unique.sort(key=lambda r: (r.plural, r.group))
    else:
        unique.sort(key=lambda r: (r.group != "", r.group, r.plural))
    if output == "name":
        out("".join(f"{r.plural}{'.' + r.group if r.group else ''}\n" for r in unique))
        return
    rows = [] if no_headers else [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
                                  + (["VERBS", "CATEGORIES"] if output == "wide" else [])]
    for r in unique:
        row = [r.plural, ",".join(r.short_names), r.api_version, "true" if r.namespaced else "false", r.kind]
        if output == "wide":
            row += [",".join(sorted(r.verbs)), ",".join(r.categories)]
        rows.append(row)
    tw = TabWriter(minwidth=0, padding=3)
    tw.write("".join("\t".join(row) + "\n" for row in rows))
    out(tw.flush())
    if not unique and not rows:
        raise fail("no resources found")
