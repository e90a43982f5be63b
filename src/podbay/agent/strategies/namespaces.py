"""Namespaces (pkg/registry/core/namespace): the ``kubernetes`` finalizer, phase Active, the
``kubernetes.io/metadata.name`` label; deletion marks the namespace Terminating and the namespace
controller (``agent.namespaces``) removes its content, then the namespace. default, kube-system and
kube-public may not be deleted.
"""

from __future__ import annotations

from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api import names
from podbay.api.fielderror import FieldError, invalid
from podbay.api.query import DeleteOptions
from podbay.api.validation import validate_object_meta
from podbay.errors import Forbidden

Obj = dict[str, Any]
FINALIZER = "kubernetes"
NAME_LABEL = "kubernetes.io/metadata.name"
IMMORTAL = ("default", "kube-system", "kube-public")


class NamespaceStrategy(Strategy):
    has_status = True
    returns_deleted_object = True
    namespaced = False

    def prepare_create(self, obj: Obj) -> Obj:
        obj["spec"] = {"finalizers": [FINALIZER]}
        obj["status"] = {"phase": "Active"}
        self._label(obj)
        return obj

    @staticmethod
    def _label(obj: Obj) -> None:
        md = obj.setdefault("metadata", {})
        if md.get("name"):
            md["labels"] = {**(md.get("labels") or {}), NAME_LABEL: md["name"]}

    def validate(self, obj: Obj) -> list[FieldError]:
        md = obj.get("metadata") or {}
        errs = [e for e in validate_object_meta(md, namespaced=False) if e.field != "metadata.name"
                or e.type != "Invalid"]
        name = md.get("name")
        if isinstance(name, str) and name:
            errs += [invalid("metadata.name", name, m) for m in names.is_dns1123_label(name)]
        return errs

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        new = super().prepare_update(new, old)
        new["spec"] = old.get("spec") or {}   # spec.finalizers change only through /finalize
        self._label(new)
        return new

    def prepare_finalize(self, new: Obj, old: Obj) -> Obj:
        out = dict(old)
        out["spec"] = {"finalizers": list(((new.get("spec") or {}).get("finalizers")) or [])}
        return out

    def delete_grace(self, obj: Obj, opts: DeleteOptions) -> int | None:
        name = (obj.get("metadata") or {}).get("name")
        if name in IMMORTAL:
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            {"name": name, "kind": "namespaces"})
        return 0   # always finalized by the namespace controller

    def deletable(self, obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        return bool(md.get("deletionTimestamp")) and not md.get("finalizers") and \
            not (obj.get("spec") or {}).get("finalizers")

    def before_delete(self, obj: Obj) -> Obj:
        obj.setdefault("status", {})["phase"] = "Terminating"
        return obj
