"""``podbay scale``: set spec.replicas through the ``/scale`` subresource (kubectl's scaler)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from podbay.cli.args import resource_args
from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import CliError, fail, server_error_line
from podbay.client.http import ApiError

MERGE = "application/merge-patch+json"


@click.command("scale")
@click.argument("args", nargs=-1)
@click.option("--replicas", type=int, required=True, help="The new number of replicas.")
@click.option("--current-replicas", type=int, default=-1, help="Only if the current size is this.")
@click.option("--resource-version", default=None, help="Only if the object is still at this resourceVersion.")
@click.option("-l", "--selector", default=None)
@click.option("--all", "all_", is_flag=True)
@click.option("-f", "--filename", "files", multiple=True)
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@common
def command(args: tuple[str, ...], replicas: int, current_replicas: int, resource_version: str | None,
            selector: str | None, all_: bool, files: tuple[str, ...], dry_run: str) -> None:
    """Set a new size for a Deployment, ReplicaSet, StatefulSet or ReplicationController."""
    if replicas < 0:
        raise fail("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    s = settings()
    client = s.client()
    objs: list[tuple[Any, str | None, str]] = []
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        objs = [(m.res, m.namespace, m.name) for m in resolve_manifests(read_manifests(files))]
    else:
        for t in resource_args(s.discovery(), args, "scale"):
            if t.names:
                objs += [(t.res, s.namespace, n) for n in t.names]
            elif selector or all_:
                found = client.get(t.res.path(s.namespace), {"labelSelector": selector} if selector else None)
                objs += [(t.res, s.namespace, o["metadata"]["name"]) for o in found.get("items") or []]
            else:
                raise fail("resource(s) were provided, but no name was specified")
    if not objs:
        raise fail("no objects passed to scale")
    failed = False
    for res, ns, name in objs:
        try:
            if current_replicas >= 0 or resource_version:
                scale = client.get(res.path(ns, name, "scale"))
                have = (scale.get("spec") or {}).get("replicas", 0)
                if current_replicas >= 0 and have != current_replicas:
                    raise CliError(f"error: Expected replicas to be {current_replicas}, was {have}")
                rv = (scale.get("metadata") or {}).get("resourceVersion")
                if resource_version and rv != resource_version:
                    raise CliError(f"error: Expected resourceVersion to be {resource_version}, was {rv}")
            patch: dict[str, Any] = {"spec": {"replicas": replicas}}
            query: dict[str, Any] = {"fieldManager": "podbay-scale"}
            if dry_run == "server":
                query["dryRun"] = "All"
            if dry_run != "client":
                client.patch(res.path(ns, name, "scale"), json.dumps(patch).encode(), MERGE, query)
        except ApiError as e:
            err(server_error_line(e.status))
            failed = True
            continue
        except CliError as e:
            err(str(e))
            failed = True
            continue
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
        out(f"{res.name_of(name)} scaled{suffix}\n")
    if failed:
        sys.exit(1)

