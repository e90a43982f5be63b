"""``-f FILE|DIR|-`` manifests: reading, resolving each object's resource, and the order of a batch.

Documents come from files, directories (``*.yaml``, ``*.yml``, ``*.json``; ``-R`` descends) or
stdin, as kubectl's file visitor reads them; ``kind: List`` is expanded. Each object resolves to
the served resource of its ``apiVersion``/``kind`` (kubectl's "resource mapping not found" when
none), its namespace (the manifest's, else ``-n``, else ``default``; ``-n`` that disagrees with the
manifest is kubectl's error) and its name.

Order (a podbay choice; kubectl applies in file order): ``apply``/``create`` sort a batch by
Helm's install order -- Namespaces first, then policies, ServiceAccounts, Secrets, ConfigMaps,
storage, claims, RBAC, Services, then workloads -- keeping file order among objects of one kind, so
a file that lists a Namespace after the objects in it, or a Pod before its ConfigMap, still works
on the first apply. ``delete -f`` goes in the reverse (Helm's uninstall) order.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from podbay.cli.errors import CliError, fail

Obj = dict[str, Any]

# Helm's InstallOrder (pkg/release/util/kind_sorter.go); kinds not listed go last, in file order.
INSTALL_ORDER = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
    "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
    "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
_RANK = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
EXTENSIONS = (".yaml", ".yml", ".json")


class Manifest:
    """One object of a manifest, resolved against discovery."""

    def __init__(self, source: str, doc: Obj, res: Any, namespace: str | None, name: str) -> None:
        self.source = source
        self.doc = doc
        self.res = res
        self.namespace = namespace   # None for cluster-scoped kinds
        self.name = name

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind") or "")


def _files(path: str, recursive: bool) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []
    for entry in sorted(os.listdir(path)):
        full = os.path.join(path, entry)
        if os.path.isdir(full):
            if recursive:
                found += _files(full, recursive)
        elif entry.endswith(EXTENSIONS):
            found.append(full)
    return found


def read_manifests(paths: tuple[str, ...] | list[str], recursive: bool = False) -> list[tuple[str, Obj]]:
    """(source, document) for each object of each -f, in order."""
    from podbay.api.manifest import load_documents

    out: list[tuple[str, Obj]] = []
    for p in paths:
        if p == "-":
            sources = [("STDIN", sys.stdin.read())]
        else:
            if not os.path.exists(p):
                raise fail(f'the path "{p}" does not exist')
            sources = []
            for f in _files(p, recursive):
                try:
                    with open(f, encoding="utf-8") as fh:
                        sources.append((f, fh.read()))
                except (OSError, UnicodeDecodeError) as e:
                    raise fail(f"error reading {f}: {e}") from None
        for source, text in sources:
            try:
                docs = load_documents(text)
            except Exception as e:  # the loader's own error types are not known here
                raise fail(f'error validating "{source}": {e}') from None
            out += [(source, doc) for doc in docs]
    if not out:
        raise fail("no objects passed to apply" if paths else "must specify one of -f and -k")
    return out


def resolve(source: str, doc: Obj) -> Manifest:
    """The served resource, namespace and name of one document (kubectl's errors when it has none)."""
    from podbay.cli.context import settings

    s = settings()
    kind, api_version = str(doc.get("kind") or ""), str(doc.get("apiVersion") or "")
    raw_meta = doc.get("metadata")
    meta: Obj = raw_meta if isinstance(raw_meta, dict) else {}
    name = str(meta.get("name") or "")
    ns_in_doc = meta.get("namespace")
    res = s.discovery().for_kind(api_version, kind)
    if res is None:
        raise fail(f'resource mapping not found for name: "{name}" namespace: "{ns_in_doc or ""}" from "{source}": '
                   f'no matches for kind "{kind}" in version "{api_version}"\nensure CRDs are installed first')
    if not name and not meta.get("generateName"):
        raise fail(f'error when retrieving current configuration of:\nResource: "{res.group_resource}", '
                   f'GroupVersionKind: "{_gvk(res)}"\nName: "", Namespace: "{ns_in_doc or s.namespace}"\n'
                   f'from server for: "{source}": resource name may not be empty')
    namespace: str | None = None
    if res.namespaced:
        namespace = str(ns_in_doc or s.namespace)
        if s.namespace_explicit and ns_in_doc and ns_in_doc != s.namespace:
            raise fail(f'the namespace from the provided object "{ns_in_doc}" does not match the namespace '
                       f'"{s.namespace}". You must pass \'--namespace={ns_in_doc}\' to perform this operation.')
    return Manifest(source, doc, res, namespace, name)


def _gvk(res: Any) -> str:
    return f"{res.group}/{res.version}, Kind={res.kind}" if res.group else f"/{res.version}, Kind={res.kind}"


def resolve_manifests(docs: list[tuple[str, Obj]], errors: list[CliError] | None = None) -> list[Manifest]:
    """Each document resolved; with ``errors``, unresolvable ones are collected there instead of raised."""
    out: list[Manifest] = []
    for source, doc in docs:
        try:
            out.append(resolve(source, doc))
        except CliError as e:
            if errors is None:
                raise
            errors.append(e)
    return out


def install_order(items: list[Manifest]) -> list[Manifest]:
    """Stable sort by INSTALL_ORDER (see the module doc)."""
    return sorted(items, key=lambda m: _RANK.get(m.kind, len(_RANK)))


def uninstall_order(items: list[Manifest]) -> list[Manifest]:
    """The reverse of install_order, file order kept among one kind (Helm's UninstallOrder)."""
    return sorted(items, key=lambda m: -_RANK.get(m.kind, len(_RANK)))
