"""``label`` and ``annotate``: kubectl's metadata edits, shared.

Each object is read, its labels (or annotations) changed locally (``k=v`` sets, ``k-`` removes; an
existing different value needs ``--overwrite``), and the difference sent as a JSON merge patch of
``metadata`` only (kubectl's ``CreateMergePatch``), with the object's resourceVersion as a
precondition when ``--resource-version`` is given. Output as kubectl: ``pod/web labeled``,
``not labeled`` when nothing changes, ``unlabeled`` when only removals shrink it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.args import key_values, resource_args
from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import CliError, fail, server_error_line
from podbay.client.http import ApiError

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"


def _targets(args: tuple[str, ...], selector: str | None, all_: bool, all_namespaces: bool,
             files: tuple[str, ...], verb: str) -> tuple[list[tuple[Any, str | None, str]], list[str]]:
    """(objects, key=value arguments): the arguments after the resources are the changes."""
    s = settings()
    client = s.client()
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        return [(m.res, m.namespace, m.name) for m in resolve_manifests(read_manifests(files))], list(args)
    pairs = [a for a in args if "=" in a or a.endswith("-")]
    resources = [a for a in args if a not in pairs]
    if not resources:
        raise fail("one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if not pairs:
        raise fail(f"at least one {verb} update is required")
    objs: list[tuple[Any, str | None, str]] = []
    for t in resource_args(s.discovery(), resources, verb):
        if t.names:
            objs += [(t.res, s.namespace, n) for n in t.names]
        elif selector or all_:
            ns = None if all_namespaces else s.namespace
            query = {"labelSelector": selector} if selector else None
            for o in client.get(t.res.path(ns), query).get("items") or []:
                md = o.get("metadata") or {}
                objs.append((t.res, md.get("namespace"), md.get("name", "")))
        else:
            raise fail("resource(s) were provided, but no name was specified")
    return objs, pairs


def run(field: str, verb: str, args: tuple[str, ...], *, overwrite: bool, selector: str | None, all_: bool,
        all_namespaces: bool, files: tuple[str, ...], resource_version: str | None, dry_run: str,
        output: str) -> None:
    """``field`` is labels or annotations; ``verb`` label or annotate."""
    import json

    client = settings().client()
    objs, pairs = _targets(args, selector, all_, all_namespaces, files, verb)
    to_set, to_remove = key_values(pairs, field)
    if resource_version and len(objs) != 1:
        raise fail("--resource-version may only be used with a single resource")
    failed = False
    past = {"label": "labeled", "annotate": "annotated"}[verb]
    for res, ns, name in objs:
        try:
            obj = client.get(res.path(ns, name))
            meta = obj.get("metadata") or {}
            old = dict(meta.get(field) or {})
            new = dict(old)
            for k, v in to_set.items():
                if not overwrite and k in old and old[k] != v:
                    raise CliError(f"error: '{k}' already has a value ({old[k]}), and --overwrite is false")
                new[k] = v
            for k in to_remove:
                if k not in new:
                    if verb == "label":
                        out(f'label "{k}" not found.\n')
                    continue
                del new[k]
            if new == old:
                _print(res, name, f"not {past}", output, obj)
                continue
            patch: Obj = {"metadata": {field: {k: new.get(k) for k in set(old) | set(new)
                                               if old.get(k) != new.get(k)}}}
            if resource_version:
                patch["metadata"]["resourceVersion"] = resource_version
            query: dict[str, Any] = {"fieldManager": f"podbay-{verb}"}
            if dry_run == "server":
                query["dryRun"] = "All"
            if dry_run != "client":
                obj = client.patch(res.path(ns, name), json.dumps(patch).encode(), MERGE, query)
            shrank = len(json.dumps(new)) < len(json.dumps(old))
            what = "unlabeled" if verb == "label" and not overwrite and shrank else past
            _print(res, name, what, output, obj)
        except ApiError as e:
            err(server_error_line(e.status))
            failed = True
        except CliError as e:
            err(str(e))
            failed = True
    if failed:
        sys.exit(1)


def _print(res: Any, name: str, what: str, output: str, obj: Obj) -> None:
    if output:
        from podbay.cli.output import OutputFormat

        out(OutputFormat(output, allowed=("json", "name", "yaml")).render(obj, lambda o: res.name_of(name)))
        return
    out(f"{res.name_of(name)} {what}\n")


def command(verb: str, field: str, what: str) -> click.Command:
    """The click command of ``label`` or ``annotate`` (the same flags as kubectl's)."""

    @click.command(verb)
    @click.argument("args", nargs=-1)
    @click.option("--overwrite", is_flag=True, help="Allow replacing an existing value.")
    @click.option("-l", "--selector", default=None)
    @click.option("--all", "all_", is_flag=True)
    @click.option("-A", "--all-namespaces", is_flag=True)
    @click.option("-f", "--filename", "files", multiple=True)
    @click.option("--resource-version", default=None, help="Only if the object is still at this resourceVersion.")
    @click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
    @click.option("-o", "--output", default="")
    @common
    def edit(args: tuple[str, ...], overwrite: bool, selector: str | None, all_: bool, all_namespaces: bool,
             files: tuple[str, ...], resource_version: str | None, dry_run: str, output: str) -> None:
        run(field, verb, args, overwrite=overwrite, selector=selector, all_=all_, all_namespaces=all_namespaces,
            files=files, resource_version=resource_version, dry_run=dry_run, output=output)

    edit.help = f"Update the {what} of resources: TYPE NAME KEY=VAL... (KEY- removes)."
    return edit
