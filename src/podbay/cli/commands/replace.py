"""``podbay replace -f``: PUT each manifest over the live object (kubectl replace), ``--force``
deletes and re-creates."""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import server_error_line, with_source
from podbay.client.http import ApiError


@click.command("replace")
@click.option("-f", "--filename", "files", multiple=True, required=True)
@click.option("-R", "--recursive", is_flag=True)
@click.option("--force", is_flag=True, help="Delete and re-create the objects.")
@click.option("--save-config", is_flag=True)
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@common
def command(files: tuple[str, ...], recursive: bool, force: bool, save_config: bool, dry_run: str) -> None:
    """Replace resources with the manifests' content."""
    from podbay.cli.manifests import install_order, read_manifests, resolve_manifests
    from podbay.cli.waiting import gone, wait_for

    client = settings().client()
    failed = False
    for m in install_order(resolve_manifests(read_manifests(files, recursive))):
        doc: dict[str, Any] = dict(m.doc)
        if save_config:
            from podbay.cli.commands.apply import with_last_applied

            doc = with_last_applied(doc)
        query: dict[str, Any] = {"fieldManager": "podbay-replace", "fieldValidation": "Strict"}
        if dry_run == "server":
            query["dryRun"] = "All"
        verb = "replacing"
        try:
            if force:
                import time

                verb = "deleting"
                try:
                    old = client.delete(m.res.path(m.namespace, m.name), None, {"kind": "DeleteOptions",
                                                                                 "apiVersion": "v1"})
                    out(f'{m.res.kind_group} "{m.name}" deleted\n')
                    uid = str((old.get("metadata") or {}).get("uid") or "")
                    wait_for(client, m.res, m.namespace, m.name, time.monotonic() + 300, gone(uid))
                except ApiError as e:
                    if e.code != 404:
                        raise
                verb = "creating"
                client.post(m.res.path(m.namespace), doc, query)
                out(f"{m.res.name_of(m.name)} replaced\n")
                continue
            if dry_run != "client":
                live = client.get(m.res.path(m.namespace, m.name))
                meta = dict(doc.get("metadata") or {})
                meta.setdefault("resourceVersion", (live.get("metadata") or {}).get("resourceVersion"))
                doc["metadata"] = meta
                client.put(m.res.path(m.namespace, m.name), doc, query)
            suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
            out(f"{m.res.name_of(m.name)} replaced{suffix}\n")
        except ApiError as e:
            err(server_error_line(with_source(e.status, verb, m.source)))
            failed = True
    if failed:
        sys.exit(1)
