"""PersistentVolumeClaims with podbay's local provisioner: a claim of an Immediate class of that
provisioner is bound at creation to a fresh directory (``admit_create``); one of ``podbay-local``
(WaitForFirstConsumer) stays Pending until the scheduler places its first pod, and one of any other
or unknown class stays Pending (the PersistentVolume controller says why in an event). A bound
claim's status follows its request, and deletion honours the
``kubernetes.io/pvc-protection`` finalizer: a claim no pod references is deleted at once, one still
in use stays Terminating until the last such pod is gone (``agent.claims`` finishes it).

Unlike upstream, the protection finalizer cannot be removed by a client: the data directory goes
with the claim, and a pod still using it must keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from podbay.agent import claims
from podbay.agent.strategies import Strategy
from podbay.api.fielderror import FieldError
from podbay.api.pvc import PROTECTION_FINALIZER, default_pvc, validate_pvc, validate_pvc_update
from podbay.volumes.fsutil import remove_tree

Obj = dict[str, Any]


class ClaimStrategy(Strategy):
    has_status = True

    def __init__(self, root: Path, in_use: Callable[[str, str], bool],
                 storage_class: Callable[[str], Obj | None] = lambda name: None) -> None:
        self.root = root
        self.in_use = in_use   # (namespace, claim name) -> a pod object references it
        self.storage_class = storage_class   # name -> the stored StorageClass

    def prepare_create(self, obj: Obj) -> Obj:
        return default_pvc(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_pvc(obj)

    def admit_create(self, obj: Obj) -> None:
        name = str((obj.get("spec") or {}).get("storageClassName") or "")
        if name and claims.provisions_at_creation(obj, self.storage_class(name)):
            claims.provision(self.root, obj)

    def undo_create(self, obj: Obj) -> None:
        if (obj.get("spec") or {}).get("volumeName"):
            remove_tree(claims.claim_dir(self.root, obj))

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        new = super().prepare_update(default_pvc(new), old)
        md, omd = new.setdefault("metadata", {}), old.get("metadata") or {}
        if omd.get("finalizers") is not None:
            md["finalizers"] = list(omd["finalizers"])
        else:
            md.pop("finalizers", None)
        bound = (old.get("spec") or {}).get("volumeName")
        if isinstance(new.get("spec"), dict) and bound and not new["spec"].get("volumeName"):
            new["spec"]["volumeName"] = bound   # a PUT of the original manifest keeps the binding
        if bound and isinstance(new.get("spec"), dict):
            claims.set_bound_status(new)   # capacity follows an expanded request (advisory)
        return new

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        bound = (old.get("spec") or {}).get("volumeName")
        return validate_pvc(new, bound) + validate_pvc_update(old, new)

    def before_delete(self, obj: Obj) -> Obj:
        md = obj.get("metadata") or {}
        if not self.in_use(str(md.get("namespace") or ""), str(md.get("name") or "")):
            md["finalizers"] = [f for f in md.get("finalizers") or [] if f != PROTECTION_FINALIZER]
            if not md["finalizers"]:
                del md["finalizers"]
        return obj
