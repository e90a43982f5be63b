"""``podbay delete``: kubectl delete for every served kind.

Targets are ``TYPE NAME...``, ``TYPE/NAME...``, ``TYPE -l SELECTOR``, ``TYPE --all`` or ``-f``
manifests (in reverse install order: workloads before Services, ConfigMaps and Namespaces). Each
object gets one DELETE with ``DeleteOptions`` (``gracePeriodSeconds``, ``propagationPolicy`` from
``--cascade=background|foreground|orphan``); then, with ``--wait`` (the default), the command
waits until every deleted object is gone, as kubectl does. kubectl 1.37's wording:
``pod "web" deleted from default namespace``, ``namespace "x" deleted``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from podbay.cli.args import bool_flag, parse_duration, resource_args
from podbay.cli.context import FOREVER, common, err, out, settings
from podbay.cli.errors import fail, server_error_line
from podbay.cli.waiting import gone, wait_for
from podbay.client.http import ApiError

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
           "true": "Background", "false": "Orphan"}


@click.command("delete")
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "files", multiple=True, help="Delete the objects of these manifests.")
@click.option("-R", "--recursive", is_flag=True)
@click.option("-l", "--selector", default=None, help="Delete the objects matching this label selector.")
@click.option("--field-selector", default=None)
@click.option("--all", "all_", is_flag=True, help="Delete every object of the type(s) in the namespace.")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("--grace-period", type=int, default=-1)
@click.option("--now", "now_", is_flag=True, help="Grace period 1 second.")
@click.option("--force", is_flag=True, help="Delete at once (with --grace-period=0).")
@click.option("--wait", is_flag=False, flag_value="true", default="true", help="Wait until the objects are gone.")
@click.option("--timeout", default="0s")
@click.option("--ignore-not-found", is_flag=True)
@click.option("--cascade", default="background", help="background|foreground|orphan")
@click.option("-o", "--output", default="", type=click.Choice(["", "name"]))
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@common
def command(args: tuple[str, ...], files: tuple[str, ...], recursive: bool, selector: str | None,
            field_selector: str | None, all_: bool, all_namespaces: bool, grace_period: int, now_: bool,
            force: bool, wait: str, timeout: str, ignore_not_found: bool, cascade: str, output: str,
            dry_run: str) -> None:
    """Delete resources by name, label selector, --all or from manifests (any served kind)."""
    s = settings()
    client = s.client()
    policy = CASCADE.get(cascade.lower())
    if policy is None:
        raise fail(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')
    if now_:
        if grace_period != -1:
            raise fail("--now and --grace-period cannot be specified together")
        grace_period = 1
    if grace_period == 0 and not force:
        grace_period = 1   # kubectl: --grace-period=0 without --force means 1
    if force and grace_period < 0:
        grace_period = 0
    targets: list[tuple[Any, str | None, str]] = []
    missing_ok = ignore_not_found
    if files:
        if args:
            raise fail("there is no need to specify a resource type as a separate argument when passing "
                       "arguments in resource/name form")
        from podbay.cli.manifests import read_manifests, resolve_manifests, uninstall_order

        targets = [(m.res, m.namespace, m.name)
                   for m in uninstall_order(resolve_manifests(read_manifests(files, recursive)))]
    else:
        if not args:
            raise fail("You must provide one or more resources by argument or filename.\nExample resource "
                       "specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'"
                       "\n   '<resource>'")
        by_selector = bool(selector or field_selector or all_)
        for t in resource_args(s.discovery(), args, "delete"):
            if t.names:
                if by_selector:
                    raise fail("name cannot be provided when a selector is specified")
                targets += [(t.res, s.namespace, n) for n in t.names]
                continue
            if not by_selector:
                raise fail("resource(s) were provided, but no name was specified")
            missing_ok = True   # listed objects that vanish meanwhile are not errors
            selectors = {k: v for k, v in (("labelSelector", selector), ("fieldSelector", field_selector)) if v}
            ns = None if all_namespaces else s.namespace
            for o in client.get(t.res.path(ns), selectors).get("items") or []:
                md = o.get("metadata") or {}
                targets.append((t.res, md.get("namespace"), md.get("name", "")))
        if by_selector and not targets:
            err("No resources found" if all_namespaces else f"No resources found in {s.namespace} namespace.")
            return
    if force and grace_period == 0:
        err("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
            "terminated. The resource may continue to run on the cluster indefinitely.")
    failed = False
    pending: list[tuple[Any, str | None, str, str]] = []
    for res, ns, name in targets:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy}
        query: dict[str, Any] = {}
        if grace_period >= 0:
            query["gracePeriodSeconds"] = grace_period
            body["gracePeriodSeconds"] = grace_period
        if dry_run == "server":
            query["dryRun"] = "All"
        if dry_run != "client":
            try:
                result = client.delete(res.path(ns, name), query, body)
            except ApiError as e:
                if e.code == 404 and missing_ok:
                    continue
                err(server_error_line(e.status))
                failed = True
                continue
        else:
            result = {}
        _print(res, ns, name, output, "force deleted" if force and grace_period == 0 else "deleted", dry_run)
        uid = str((result.get("metadata") or {}).get("uid") or (result.get("details") or {}).get("uid") or "")
        if dry_run == "none" and result.get("kind") != "Status":
            pending.append((res, ns, name, uid))
    if bool_flag(wait, "wait") and pending:
        limit = parse_duration(timeout) or FOREVER
        deadline = time.monotonic() + limit
        for res, ns, name, uid in pending:
            if not wait_for(client, res, ns, name, deadline, gone(uid)):
                err(f"error: timed out waiting for the condition on {res.group_resource}/{name}")
                failed = True
    if failed:
        sys.exit(1)


def _print(res: Any, ns: str | None, name: str, output: str, what: str, dry_run: str) -> None:
    if output == "name":
        out(res.name_of(name) + "\n")
        return
    if dry_run != "none":
        what += " (dry run)" if dry_run == "client" else " (server dry run)"
    where = f" from {ns} namespace" if res.namespaced and ns else ""
    out(f'{res.kind_group} "{name}" {what}{where}\n')
