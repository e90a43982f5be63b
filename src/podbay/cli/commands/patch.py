"""``podbay patch``: kubectl patch (strategic merge, JSON merge, JSON patch) for every served kind."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from podbay.cli.args import resource_args
from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import fail, server_error_line
from podbay.client.http import ApiError

TYPES = {"strategic": "application/strategic-merge-patch+json", "merge": "application/merge-patch+json",
         "json": "application/json-patch+json"}


def _body(patch: str | None, patch_file: str | None) -> bytes:
    """-p / --patch-file as JSON (YAML is converted, as kubectl's yaml.ToJSON)."""
    if (patch is None) == (patch_file is None):
        raise fail("must specify -p to patch" if patch is None else "--patch and --patch-file are mutually exclusive")
    if patch_file is not None:
        try:
            with open(patch_file, encoding="utf-8") as f:
                patch = f.read()
        except OSError as e:
            raise fail(f"unable to read patch file: {e}") from None
    assert patch is not None
    try:
        value: Any = json.loads(patch)
    except ValueError:
        import yaml

        try:
            value = yaml.safe_load(patch)
        except yaml.YAMLError as e:
            raise fail(f"unable to parse \"{patch}\": {e}") from None
    return json.dumps(value).encode()


@click.command("patch")
@click.argument("args", nargs=-1)
@click.option("-p", "--patch", default=None, help="The patch (JSON or YAML).")
@click.option("--patch-file", default=None)
@click.option("--type", "type_", default="strategic", type=click.Choice(list(TYPES)))
@click.option("--subresource", default=None, help="status or scale.")
@click.option("-f", "--filename", "files", multiple=True)
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@click.option("-o", "--output", default="")
@common
def command(args: tuple[str, ...], patch: str | None, patch_file: str | None, type_: str, subresource: str | None,
            files: tuple[str, ...], dry_run: str, output: str) -> None:
    """Update fields of resources with a strategic merge, JSON merge or JSON patch."""
    s = settings()
    client = s.client()
    body = _body(patch, patch_file)
    objs: list[tuple[Any, str | None, str]] = []
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        objs = [(m.res, m.namespace, m.name) for m in resolve_manifests(read_manifests(files))]
    else:
        for t in resource_args(s.discovery(), args, "patch", names_required=True):
            objs += [(t.res, s.namespace, n) for n in t.names]
    failed = False
    for res, ns, name in objs:
        try:
            before = client.get(res.path(ns, name, subresource))
            query: dict[str, Any] = {"fieldManager": "podbay-patch"}
            if dry_run == "server":
                query["dryRun"] = "All"
            after = before if dry_run == "client" else client.patch(res.path(ns, name, subresource), body,
                                                                      TYPES[type_], query)
        except ApiError as e:
            err(server_error_line(e.status))
            failed = True
            continue
        if output:
            from podbay.cli.output import OutputFormat

            out(OutputFormat(output, allowed=("json", "name", "yaml")).render(after, res.name_of_obj))
            continue
        same = (before.get("metadata") or {}).get("resourceVersion") == (after.get("metadata") or {}).get(
            "resourceVersion")
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
        out(f"{res.name_of(name)} patched{' (no change)' if same and dry_run == 'none' else ''}{suffix}\n")
    if failed:
        sys.exit(1)
