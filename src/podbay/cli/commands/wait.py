"""``podbay wait``: kubectl wait for every served kind.

``--for=delete``, ``--for=create``, ``--for=condition=TYPE[=VALUE]`` (``status.conditions``, VALUE
true by default, case-insensitive) and ``--for=jsonpath='{...}'[=VALUE]`` (without VALUE: the
path exists). One deadline (``--timeout``, 30s) for all objects, as kubectl; each met condition
prints ``kind/name condition met``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from podbay.cli.args import parse_duration, resource_args
from podbay.cli.context import FOREVER, common, err, out, settings
from podbay.cli.errors import fail
from podbay.cli.waiting import Done, gone, wait_for
from podbay.client.http import ApiError

Obj = dict[str, Any]


def condition_met(cond: str, want: str) -> Done:
    def done(obj: Obj | None) -> bool:
        for c in ((obj or {}).get("status") or {}).get("conditions") or []:
            if str(c.get("type", "")).lower() == cond.lower():
                return str(c.get("status", "")).lower() == want.lower()
        return False

    return done


def jsonpath_met(expr: str, want: str | None) -> Done:
    from podbay.cli.jsonpath import Template, relaxed, text_of

    template = Template(relaxed(expr))

    def done(obj: Obj | None) -> bool:
        if obj is None:
            return False
        found = [v for vs in template.results(obj) for v in vs]
        if want is None:
            return bool(found)
        return len(found) == 1 and not isinstance(found[0], (dict, list)) and text_of(found[0]) == want

    return done


def parse_for(spec: str) -> tuple[str, Callable[[str], Done]]:
    """(kind of wait, uid -> predicate)."""
    low = spec.lower()
    if low == "delete":
        return "delete", gone
    if low == "create":
        return "create", lambda _uid: (lambda obj: obj is not None)
    if low.startswith("condition="):
        cond, _, value = spec[len("condition="):].partition("=")
        if not cond:
            raise fail(f"unrecognized condition: {spec!r}")
        pred = condition_met(cond, value or "true")
        return "condition", lambda _uid: pred
    if low.startswith("jsonpath="):
        body = spec[len("jsonpath="):]
        expr: str = body
        want: str | None = None
        if body.startswith("{"):
            close = body.find("}")
            if close < 0:
                raise fail(f"unrecognized condition: {spec!r}")
            expr, rest = body[:close + 1], body[close + 1:]
            if rest:
                if not rest.startswith("="):
                    raise fail(f"unrecognized condition: {spec!r}")
                want = rest[1:]
        elif "=" in body:
            expr, want = body.split("=", 1)
        pred = jsonpath_met(expr, want)
        return "jsonpath", lambda _uid: pred
    raise fail(f"unrecognized condition: {spec!r}")


@click.command("wait")
@click.argument("args", nargs=-1)
@click.option("--for", "for_", required=True, help="delete|create|condition=NAME[=VALUE]|jsonpath='{...}'=VALUE")
@click.option("--timeout", default="30s", help="How long to wait (0: check once).")
@click.option("-l", "--selector", default=None)
@click.option("--all", "all_", is_flag=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-f", "--filename", "files", multiple=True)
@common
def command(args: tuple[str, ...], for_: str, timeout: str, selector: str | None, all_: bool,
            all_namespaces: bool, files: tuple[str, ...]) -> None:
    """Wait for a condition on one or many resources (any served kind)."""
    s = settings()
    client = s.client()
    mode, make = parse_for(for_)
    limit = parse_duration(timeout)
    deadline = time.monotonic() + (limit if limit > 0 else 0.001) if limit >= 0 else time.monotonic() + FOREVER
    targets: list[tuple[Any, str | None, str]] = []
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        targets = [(m.res, m.namespace, m.name) for m in resolve_manifests(read_manifests(files))]
    else:
        for t in resource_args(s.discovery(), args, "wait"):
            if t.names:
                targets += [(t.res, s.namespace, n) for n in t.names]
            elif selector or all_:
                ns = None if all_namespaces else s.namespace
                query = {"labelSelector": selector} if selector else None
                for o in client.get(t.res.path(ns), query).get("items") or []:
                    md = o.get("metadata") or {}
                    targets.append((t.res, md.get("namespace"), md.get("name", "")))
            else:
                raise fail("resource(s) were provided, but no name was specified")
    if not targets:
        raise fail("no matching resources found")
    errors: list[str] = []
    for res, ns, name in targets:
        uid = ""
        if mode != "create":
            try:
                obj = client.get(res.path(ns, name))
                uid = str((obj.get("metadata") or {}).get("uid") or "")
            except ApiError as e:
                if e.code == 404 and mode == "delete":
                    continue   # already gone: nothing to print, as kubectl
                raise
        if wait_for(client, res, ns, name, deadline, make(uid)):
            out(f"{res.name_of(name)} condition met\n")
        else:
            errors.append(f"timed out waiting for the condition on {res.group_resource}/{name}"
                          if mode != "create" else "timed out waiting for the condition")
    if len(errors) == 1:
        err(f"error: {errors[0]}")
    else:
        for line in errors:
            err(line)
    if errors:
        sys.exit(1)
