"""``podbay apply -f FILE|DIR|-``: kubectl apply for every served kind.

Client-side (the default, as kubectl): an object that does not exist is created with its
``kubectl.kubernetes.io/last-applied-configuration`` annotation; one that exists gets the three-way
strategic merge patch of (last applied, manifest, live) -- ``podbay.api.threeway`` -- so fields
other writers set are kept and fields the previous apply set and this one dropped are removed; an
empty patch is ``unchanged``. A 409 Conflict re-reads and retries, as kubectl's ``patchSimple``.
``--server-side`` sends the manifest as an ``application/apply-patch+yaml`` PATCH with the field
manager ``podbay`` (``--force-conflicts`` takes over conflicting fields).

Objects are applied in Helm's install order (Namespaces first; ``cli.manifests``), a podbay
choice: kubectl goes in file order. Output and errors are kubectl's (``service/web configured``,
``Error from server (Invalid): error when creating "x.yaml": ...``); a failed object does not stop
the others, the exit code is 1.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import CliError, fail, server_error_line, with_source
from podbay.cli.manifests import Manifest, install_order, read_manifests, resolve_manifests
from podbay.client.http import ApiClient, ApiError

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CSA_MANAGER = "podbay-client-side-apply"   # kubectl: kubectl-client-side-apply
SSA_MANAGER = "podbay"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
MAX_PATCH_RETRY = 5
CONFLICT_HELP = """
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"""
WARN_NO_LAST_APPLIED = (
    "Warning: resource {name} is missing the kubectl.kubernetes.io/last-applied-configuration annotation which "
    "is required by podbay apply. podbay apply should only be used on resources created declaratively by "
    "either podbay create --save-config or podbay apply. The missing annotation will be patched automatically.")


@click.command("apply")
@click.option("-f", "--filename", "files", multiple=True, required=True, help="File, directory or - (stdin).")
@click.option("-R", "--recursive", is_flag=True, help="Process the directory of -f recursively.")
@click.option("--server-side", is_flag=True, help="Server-side apply (field manager podbay).")
@click.option("--force-conflicts", is_flag=True, help="Server-side apply: take over conflicting fields.")
@click.option("--field-manager", default=None, help="The field manager's name.")
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@click.option("--validate", default="strict", help="strict|warn|ignore (the server's fieldValidation).")
@click.option("-o", "--output", default="", type=click.Choice(["", "name", "json", "yaml"]))
@common
def command(files: tuple[str, ...], recursive: bool, server_side: bool, force_conflicts: bool,
            field_manager: str | None, dry_run: str, validate: str, output: str) -> None:
    """Create or update resources from manifests (every served kind), Namespaces first."""
    if force_conflicts and not server_side:
        raise fail("--force-conflicts only works with --server-side")
    errors: list[CliError] = []
    items = install_order(resolve_manifests(read_manifests(files, recursive), errors))
    applier = Applier(settings().client(), server_side=server_side, force=force_conflicts,
                      manager=field_manager or (SSA_MANAGER if server_side else CSA_MANAGER), dry_run=dry_run,
                      validation=validation_param(validate), output=output)
    failed = bool(errors)
    for e in errors:
        err(str(e))
    for m in items:
        try:
            applier.apply(m)
        except ApiError as e:
            err(server_error_line(with_source(e.status, applier.verb, m.source)))
            failed = True
        except CliError as e:
            err(str(e))
            failed = True
    if failed:
        sys.exit(1)


def validation_param(validate: str) -> str:
    """kubectl's --validate: strict/true -> Strict, warn -> Warn, ignore/false -> Ignore."""
    v = validate.lower()
    if v in ("strict", "true"):
        return "Strict"
    if v == "warn":
        return "Warn"
    if v in ("ignore", "false"):
        return "Ignore"
    raise fail(f'invalid - validate option "{validate}"; must be one of: strict (or true), warn, ignore (or false)')


def last_applied_value(doc: Obj) -> str:
    """What kubectl stores in the annotation: the manifest (without the annotation) as Go's json.Marshal."""
    from podbay.cli.output import go_json

    return go_json(_without_last_applied(doc)) + "\n"


def _without_last_applied(doc: Obj) -> Obj:
    # GetModifiedConfiguration leaves an empty (non-nil) annotations map behind: kubectl's annotation
    # reads ``"annotations":{}`` for a manifest without annotations, and so does podbay's.
    meta = dict(doc.get("metadata") or {})
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    return {**doc, "metadata": meta}


def with_last_applied(doc: Obj) -> Obj:
    """GetModifiedConfiguration(annotate=true): the manifest carrying its own last-applied annotation."""
    value = last_applied_value(doc)
    base = _without_last_applied(doc)
    meta = dict(base["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: value}
    return {**base, "metadata": meta}


def _with_namespace(m: Manifest) -> Obj:
    doc = m.doc
    if m.namespace is not None and not (doc.get("metadata") or {}).get("namespace"):
        doc = {**doc, "metadata": {**(doc.get("metadata") or {}), "namespace": m.namespace}}
    return doc


def parse_last_applied(obj: Obj) -> Obj | None:
    import json

    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def compute_patch(res: Any, original: Obj | None, modified: Obj, current: Obj) -> tuple[Obj, str]:
    """(patch, content type): strategic merge where the kind has a schema, else JSON merge."""
    from podbay.api import schema, threeway

    name = schema.definition_name(res.group, res.version, res.kind)
    try:
        if name is None:
            return threeway.three_way_json_merge_patch(original, modified, current), MERGE
        return threeway.three_way_merge_patch(original, modified, current, name), STRATEGIC
    except threeway.ThreeWayError as e:
        raise fail(f"creating patch with:\noriginal:\n{original}\nmodified:\n{modified}\ncurrent:\n{current}\n"
                   f"for: {res.group_resource}: {e}") from None


class Applier:
    def __init__(self, client: ApiClient, *, server_side: bool, force: bool, manager: str, dry_run: str,
                 validation: str, output: str) -> None:
        self.client = client
        self.server_side = server_side
        self.force = force
        self.manager = manager
        self.dry_run = dry_run
        self.validation = validation
        self.output = output
        self.verb = "creating"

    def _query(self) -> dict[str, Any]:
        q: dict[str, Any] = {"fieldManager": self.manager, "fieldValidation": self.validation}
        if self.dry_run == "server":
            q["dryRun"] = "All"
        return q

    def _print(self, m: Manifest, what: str, obj: Obj | None) -> None:
        from podbay.cli.output import dump_json, dump_yaml

        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(self.dry_run, "")
        if self.output == "name":
            out(m.res.name_of(m.name) + "\n")
        elif self.output in ("json", "yaml") and obj is not None:
            out(dump_json(obj) if self.output == "json" else dump_yaml(obj))
        else:
            out(f"{m.res.name_of(m.name)} {what}{suffix}\n")

    def apply(self, m: Manifest) -> None:
        if self.server_side:
            return self._server_side(m)
        doc = _with_namespace(m)
        modified = with_last_applied(doc)
        path = m.res.path(m.namespace, m.name)
        for attempt in range(MAX_PATCH_RETRY + 1):
            self.verb = "retrieving current configuration of"
            try:
                current = self.client.get(path)
            except ApiError as e:
                if e.code != 404:
                    raise
                self.verb = "creating"
                if self.dry_run == "client":
                    return self._print(m, "created", modified)
                created = self.client.post(m.res.path(m.namespace), modified, self._query())
                self._warnings()
                return self._print(m, "created", created)
            original = parse_last_applied(current)
            if original is None and attempt == 0:
                err(WARN_NO_LAST_APPLIED.format(name=f"{m.res.plural}/{m.name}"))
            self.verb = "patching"
            patch, ctype = compute_patch(m.res, original, modified, current)
            from podbay.cli.output import go_json

            if not patch:
                return self._print(m, "unchanged", current)
            if self.dry_run == "client":
                return self._print(m, "configured", current)
            try:
                patched = self.client.patch(path, go_json(patch).encode(), ctype, self._query())
            except ApiError as e:
                if e.code == 409 and attempt < MAX_PATCH_RETRY:
                    continue   # the live object moved on: diff against the new one
                raise
            self._warnings()
            return self._print(m, "configured", patched)
        return None

    def _server_side(self, m: Manifest) -> None:
        import json

        self.verb = "patching"
        doc = _with_namespace(m)
        q = self._query()
        if self.force:
            q["force"] = True
        try:
            obj = self.client.patch(m.res.path(m.namespace, m.name), json.dumps(doc).encode(), APPLY_PATCH, q)
        except ApiError as e:
            if e.code == 409:
                raise CliError(f"error: {e.message}{CONFLICT_HELP}") from None
            raise
        self._warnings()
        self._print(m, "serverside-applied", obj)

    def _warnings(self) -> None:
        for w in self.client.warnings:
            err(f"Warning: {w}")
