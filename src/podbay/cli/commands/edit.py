"""``podbay edit``: kubectl edit for every served kind.

The object is written as YAML (or ``-o json``) under kubectl's comment header to a temporary file
and opened in ``$KUBE_EDITOR`` / ``$EDITOR`` (``vi`` by default). When the editor exits, comment
lines are dropped; an empty or unchanged file cancels the edit. Otherwise the two-way strategic
merge patch from the object to the edit (``podbay.api.threeway``; a JSON merge patch for kinds
without a schema) is sent; a failure reopens the file with the error at the top, as kubectl does,
until the edit succeeds or is left unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

import click

from podbay.cli.args import resource_args
from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import CliError, fail
from podbay.client.http import ApiClient, ApiError

Obj = dict[str, Any]
HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
          "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
          "# reopened with the relevant failures.\n#\n")


def editor_argv(path: str) -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    if " " in editor.strip():
        return ["sh", "-c", f'{editor} "$1"', "sh", path]
    return [editor, path]


def _strip_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def _render(obj: Obj, fmt: str) -> str:
    from podbay.cli.output import dump_json, dump_yaml

    return dump_json(obj) if fmt == "json" else dump_yaml(obj)


def _parse(text: str) -> Obj | None:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CliError(f"error: the edited file failed validation: {e}") from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CliError("error: the edited file must be one object")
    return value


def edit_one(client: ApiClient, res: Any, ns: str | None, name: str, fmt: str, *, dry_run: str = "none") -> bool:
    """Edit one object; True if it changed (or no change was asked for), False on failure."""
    from podbay.api import schema, threeway
    from podbay.cli.output import without_managed_fields

    original = without_managed_fields(client.get(res.path(ns, name)))
    text = HEADER + _render(original, fmt)
    suffix = ".json" if fmt == "json" else ".yaml"
    fd, path = tempfile.mkstemp(prefix=f"podbay-edit-{name}-", suffix=suffix)
    os.close(fd)
    try:
        while True:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            if subprocess.call(editor_argv(path)) != 0:
                raise CliError("error: there was a problem with the editor")
            with open(path, encoding="utf-8") as f:
                edited_text = f.read()
            body = _strip_comments(edited_text)
            edited = _parse(body)
            if edited is None or edited == original:
                if text.startswith(HEADER):
                    err("Edit cancelled, no changes made.")
                    return True
                err("error: Edit cancelled, no valid changes were saved.")
                return False
            for key in ("apiVersion", "kind"):
                if edited.get(key) != original.get(key):
                    raise CliError("error: At least one of apiVersion, kind and name was changed")
            if (edited.get("metadata") or {}).get("name") != name:
                raise CliError("error: At least one of apiVersion, kind and name was changed")
            schema_name = schema.definition_name(res.group, res.version, res.kind)
            patch = threeway.two_way_merge_patch(original, edited, schema_name)
            ctype = ("application/strategic-merge-patch+json" if schema_name
                     else "application/merge-patch+json")
            query: dict[str, Any] = {"fieldManager": "podbay-edit"}
            if dry_run == "server":
                query["dryRun"] = "All"
            try:
                if dry_run != "client":
                    client.patch(res.path(ns, name), json.dumps(patch).encode(), ctype, query)
            except ApiError as e:
                from podbay.cli.errors import server_error_line

                message = server_error_line(e.status)
                text = (f"# {res.group_resource} \"{name}\" was not valid:\n"
                        + "".join(f"# * {line}\n" for line in message.splitlines()) + "#\n" + edited_text)
                if not sys.stdin.isatty():   # a scripted editor would make the same edit again
                    keep = _keep_copy(edited_text, suffix)
                    err(f"error: {res.group_resource} \"{name}\" could not be patched: {message}")
                    err(f"A copy of your changes has been stored to \"{keep}\"")
                    return False
                continue
            suffix_msg = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
            out(f"{res.name_of(name)} edited{suffix_msg}\n")
            return True
    finally:
        os.unlink(path)


def _keep_copy(text: str, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="podbay-edit-", suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


@click.command("edit")
@click.argument("args", nargs=-1)
@click.option("-o", "--output", default="yaml", type=click.Choice(["yaml", "json"]), help="The edit format.")
@click.option("-f", "--filename", "files", multiple=True)
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@common
def command(args: tuple[str, ...], output: str, files: tuple[str, ...], dry_run: str) -> None:
    """Edit resources in $KUBE_EDITOR/$EDITOR and send the change (any served kind)."""
    s = settings()
    client = s.client()
    objs: list[tuple[Any, str | None, str]] = []
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        objs = [(m.res, m.namespace, m.name) for m in resolve_manifests(read_manifests(files))]
    else:
        if not args:
            raise fail("You must provide one or more resources by argument or filename.")
        for t in resource_args(s.discovery(), args, "edit", names_required=True):
            objs += [(t.res, s.namespace, n) for n in t.names]
    ok = True
    for res, ns, name in objs:
        ok = edit_one(client, res, ns, name, output, dry_run=dry_run) and ok
    if not ok:
        sys.exit(1)

