"""``podbay get``: kubectl get for every served kind, printed from the server-side Table.

Tables are requested with ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` (one GET per
name, one list per type) and printed by ``cli.tableprint``; ``-o json|yaml|name|jsonpath|
custom-columns`` fetch the objects instead (``printGeneric``: one object for ``get TYPE NAME``,
else a ``List``). Several types print one table each, separated by a blank line, with
``kind/name`` names. ``-w`` prints the table, then one row per watch event (Table watch events)
until interrupted, re-watching from the last resourceVersion when the server ends a watch.
Errors for missing names go to stderr after the output, exit 1, as kubectl's aggregate.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.args import Target, resource_args
from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import fail, server_error_line
from podbay.cli.output import OutputFormat, as_list
from podbay.client.http import TABLE, ApiError

Obj = dict[str, Any]


@click.command("get")
@click.argument("args", nargs=-1)
@click.option("-o", "--output", default="", help="json|yaml|wide|name|jsonpath=...|custom-columns=...")
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option("-w", "--watch", is_flag=True, help="After listing, watch for changes.")
@click.option("--watch-only", is_flag=True, help="Watch for changes without listing first.")
@click.option("--output-watch-events", is_flag=True, help="Print the watch event type (ADDED, MODIFIED...).")
@click.option("-l", "--selector", default=None, help="Label selector.")
@click.option("--field-selector", default=None, help="Field selector.")
@click.option("--show-labels", is_flag=True, help="Show all labels as the last column.")
@click.option("-L", "--label-columns", multiple=True, help="Labels to show as columns.")
@click.option("--no-headers", is_flag=True)
@click.option("--ignore-not-found", is_flag=True)
@click.option("--sort-by", default=None, help="A JSONPath expression to sort rows by.")
@click.option("-f", "--filename", "files", multiple=True, help="Get the objects of these manifests.")
@click.option("-R", "--recursive", is_flag=True)
@common
def command(args: tuple[str, ...], output: str, all_namespaces: bool, watch: bool, watch_only: bool,
            output_watch_events: bool, selector: str | None, field_selector: str | None, show_labels: bool,
            label_columns: tuple[str, ...], no_headers: bool, ignore_not_found: bool, sort_by: str | None,
            files: tuple[str, ...], recursive: bool) -> None:
    """Display one or many resources (any kind the server serves; `podbay api-resources`)."""
    fmt = OutputFormat(output)
    s = settings()
    if files:
        if args:
            raise fail("when paths are given with -f, no resource arguments are accepted")
        targets = _manifest_targets(files, recursive)
    else:
        targets = resource_args(s.discovery(), args, "get")
    columns = [c for spec in label_columns for c in spec.split(",") if c]
    query: dict[str, Any] = {}
    if selector:
        query["labelSelector"] = selector
    if field_selector:
        query["fieldSelector"] = field_selector
    if watch or watch_only:
        return _watch(targets, fmt, all_namespaces, query, watch_only, output_watch_events, show_labels,
                      columns, no_headers)
    getter = _Getter(all_namespaces, query, fmt.human, ignore_not_found, sort_by)
    results = getter.fetch(targets)
    if fmt.human:
        _print_tables(results, targets, fmt, all_namespaces, show_labels, columns, no_headers, sort_by,
                      getter.errors, ignore_not_found)
    else:
        _print_generic(results, targets, fmt, selector or field_selector, sort_by)
    for e in getter.errors:
        err(server_error_line(e.status))
    if getter.errors:
        sys.exit(1)


class _Getter:
    def __init__(self, all_namespaces: bool, query: dict[str, Any], table: bool, ignore_not_found: bool,
                 sort_by: str | None) -> None:
        self.s = settings()
        self.client = self.s.client()
        self.all_namespaces = all_namespaces
        self.query = dict(query)
        if table and sort_by:
            self.query["includeObject"] = "Object"   # rows are sorted by the object's fields
        self.table = table
        self.ignore_not_found = ignore_not_found
        self.errors: list[ApiError] = []

    def _get(self, path: str, query: dict[str, Any] | None = None) -> Obj:
        if self.table:
            return self.client.get_table(path, query)
        return self.client.get(path, query)

    def fetch(self, targets: list[Target]) -> list[tuple[Any, Obj]]:
        """(resource, Table or object or list) per name or per collection, in argument order."""
        out_: list[tuple[Any, Obj]] = []
        for t in targets:
            res = t.res
            if t.names:
                for name in t.names:
                    ns = getattr(t, "namespace", None) or self.s.namespace
                    try:
                        obj = self._get(res.path(ns, name), {"includeObject": "Object"} if self.table and
                                        "includeObject" in self.query else None)
                    except ApiError as e:
                        if not (e.code == 404 and self.ignore_not_found):
                            self.errors.append(e)
                        continue
                    out_.append((res, obj))
                continue
            if not res.allows("list"):
                if not t.from_category:
                    raise fail(f"the server does not allow listing {res.group_resource}")
                continue
            ns = None if self.all_namespaces else self.s.namespace
            try:
                out_.append((res, self._get(res.path(ns), self.query)))
            except ApiError as e:
                self.errors.append(e)
        return out_


def _manifest_targets(files: tuple[str, ...], recursive: bool) -> list[Target]:
    from podbay.cli.manifests import read_manifests, resolve_manifests

    targets: list[Target] = []
    for m in resolve_manifests(read_manifests(files, recursive)):
        t = Target(m.res, [m.name])
        t.namespace = m.namespace   # type: ignore[attr-defined]
        targets.append(t)
    return targets


def _sort_rows(table: Obj, sort_by: str) -> None:
    from podbay.cli.jsonpath import Template, relaxed

    template = Template(relaxed(sort_by))

    def key(row: Obj) -> Any:
        found = [v for vs in template.results(row.get("object") or {}) for v in vs]
        v = found[0] if found else None
        return (v is None, isinstance(v, str), v if isinstance(v, (int, float)) else str(v))

    table["rows"] = sorted(table.get("rows") or [], key=key)


def _print_tables(results: list[tuple[Any, Obj]], targets: list[Target], fmt: OutputFormat, all_namespaces: bool,
                  show_labels: bool, columns: list[str], no_headers: bool, sort_by: str | None,
                  errors: list[ApiError], ignore_not_found: bool) -> None:
    from podbay.cli.tableprint import TablePrinter, new_tabwriter

    with_kind = len({id(res) for res, _ in results}) > 1 or (len(results) > 1 and any(t.from_category for t in targets))
    written = False
    printer: TablePrinter | None = None
    last: Any = None
    tw = new_tabwriter()
    for res, table in results:
        if printer is None or res is not last:
            if printer is not None:
                text = tw.flush()
                if text:
                    out(("\n" if written and not no_headers else "") + text)
                    written = True
            tw = new_tabwriter()
            printer = TablePrinter(tw, wide=fmt.wide, with_namespace=all_namespaces and res.namespaced,
                                   kind_prefix=res.kind_group if with_kind else "", show_labels=show_labels,
                                   label_columns=columns, no_headers=no_headers)
            last = res
        if sort_by:
            _sort_rows(table, sort_by)
        printer.print_table(table)
    text = tw.flush()
    if text:
        out(("\n" if written and not no_headers else "") + text)
        written = True
    if not written and not errors and not ignore_not_found:
        s = settings()
        if not all_namespaces and all(t.res.namespaced for t in targets):
            err(f"No resources found in {s.namespace} namespace.")
        else:
            err("No resources found")


def _print_generic(results: list[tuple[Any, Obj]], targets: list[Target], fmt: OutputFormat,
                   selector: str | None, sort_by: str | None) -> None:
    items: list[tuple[Any, Obj]] = []
    for res, obj in results:
        if "items" in obj and obj.get("kind", "").endswith("List"):
            kind, api_version = obj["kind"][:-len("List")], obj.get("apiVersion") or res.api_version
            items += [(res, {"apiVersion": api_version, "kind": kind, **o}) for o in obj.get("items") or []]
        else:
            items.append((res, obj))
    if sort_by:
        from podbay.cli.jsonpath import Template, relaxed

        template = Template(relaxed(sort_by))

        def key(pair: tuple[Any, Obj]) -> Any:
            found = [v for vs in template.results(pair[1]) for v in vs]
            v = found[0] if found else None
            return (v is None, isinstance(v, str), v if isinstance(v, (int, float)) else str(v))

        items.sort(key=key)
    single = len(targets) == 1 and len(targets[0].names) == 1 and not selector and len(items) == 1
    names = {id(o): res for res, o in items}

    def name_of(o: Obj) -> str:
        return str(names[id(o)].name_of((o.get("metadata") or {}).get("name", "")))

    objs = [o for _, o in items]
    if single:
        out(fmt.render(objs[0], name_of))
    elif fmt.kind == "custom-columns":
        if objs:
            out(fmt.columns_text(objs))
    elif fmt.kind == "name":
        out("".join(name_of(o) + "\n" for o in objs))
    else:
        out(fmt.render(as_list(objs), name_of))


def _watch(targets: list[Target], fmt: OutputFormat, all_namespaces: bool, query: dict[str, Any],
           watch_only: bool, events: bool, show_labels: bool, columns: list[str], no_headers: bool) -> None:
    from podbay.cli.tableprint import TablePrinter, new_tabwriter

    if len(targets) != 1:
        raise fail("watch is only supported on individual resources and resource collections - more than 1 "
                   "resource was found")
    t = targets[0]
    res = t.res
    if len(t.names) > 1:
        raise fail("watch is only supported on individual resources and resource collections - more than 1 "
                   "resource was found")
    s = settings()
    client = s.client()
    ns = None if all_namespaces and not t.names else s.namespace
    q = dict(query)
    accept = TABLE if fmt.human else "application/json"
    tw = new_tabwriter()
    printer = TablePrinter(tw, wide=fmt.wide, with_namespace=all_namespaces and res.namespaced,
                           show_labels=show_labels, label_columns=columns, no_headers=no_headers)
    printed = [0]

    def show(obj: Obj, event_type: str = "") -> None:
        if fmt.human:
            printer.print_table(obj, "ADDED" if events and not event_type else event_type)
            out(tw.flush())
            return
        if fmt.kind == "yaml" and printed[0]:
            out("---\n")
        if events:
            obj = {"type": event_type or "ADDED", "object": obj}
        out(fmt.render(obj, lambda o: res.name_of((o.get("metadata") or {}).get("name", ""))))
        printed[0] += 1

    skip_first = False
    if t.names:
        name = t.names[0]
        q["fieldSelector"] = ",".join(x for x in [f"metadata.name={name}", q.get("fieldSelector")] if x)
        obj = client.get(res.path(ns, name), accept=accept)
        if not watch_only:
            show(obj)
        rv = "0"   # from now, with a synthetic ADDED of the object first (not printed again)
        skip_first = True
    else:
        lst = client.get(res.path(ns), q, accept=accept)
        rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
        if not watch_only:
            if fmt.human:
                printer.print_table(lst, "ADDED" if events else "")
                out(tw.flush())
            else:
                for item in lst.get("items") or []:
                    show({"apiVersion": res.api_version, "kind": res.kind, **item})
    while True:
        wq = dict(q)
        if rv:
            wq["resourceVersion"] = rv
        for event in client.watch(res.path(ns), wq, accept=accept):
            obj = event.get("object") or {}
            etype = str(event.get("type") or "")
            if etype == "ERROR":
                if obj.get("code") == 410:
                    rv = ""
                    break
                raise ApiError(obj)
            if etype == "BOOKMARK":
                continue
            rv = _event_rv(obj) or rv
            if skip_first:
                skip_first = False
                continue
            show(obj, etype if events else "")


def _event_rv(obj: Obj) -> str:
    rows = obj.get("rows")
    if isinstance(rows, list) and rows:
        meta = (rows[-1].get("object") or {}).get("metadata") or {}
    else:
        meta = obj.get("metadata") or {}
    return str(meta.get("resourceVersion") or "")
