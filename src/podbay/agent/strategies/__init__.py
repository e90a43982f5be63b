"""What each kind does beyond the generic registry: defaulting, validation, update rules, deletion.

A ``Strategy`` mirrors kube-apiserver's ``rest.RESTCreateStrategy`` / ``RESTUpdateStrategy`` /
``RESTDeleteStrategy`` for one stored kind. Hooks that touch the host (a claim's directory) are
``admit_create`` and ``before_delete``, which the registry never calls on a dry run. Reactions to
committed changes (spawning a pod worker, re-projecting volumes) are hub listeners, not hooks.
"""

from __future__ import annotations

from typing import Any

from podbay.api import meta
from podbay.api.fielderror import FieldError
from podbay.api.query import DeleteOptions
from podbay.api.validation import validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]


class Strategy:
    has_status = False              # the main resource keeps the stored status; /status changes only it
    create_on_update = False        # PUT of a missing object creates it (AllowCreateOnUpdate)
    returns_deleted_object = False  # an immediate DELETE answers the object instead of a Status
    namespaced = True

    def prepare_create(self, obj: Obj) -> Obj:
        """PrepareForCreate: defaults and server-set fields (status reset)."""
        if self.has_status:
            obj.pop("status", None)
        return obj

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_object_meta(obj.get("metadata"), namespaced=self.namespaced)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        """PrepareForUpdate of the main resource: the stored status stays."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def prepare_status_update(self, new: Obj, old: Obj) -> Obj:
        """The /status subresource: only status changes; everything else stays as stored."""
        out = dict(old)
        if "status" in new:
            out["status"] = new["status"]
        else:
            out.pop("status", None)
        out["metadata"] = dict(old.get("metadata") or {})
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv:
            out["metadata"]["resourceVersion"] = rv
        return out

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_object_meta_update(new.get("metadata"), old.get("metadata")) + self.validate(new)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def bumps_generation(self, new: Obj, old: Obj) -> bool:
        """A change besides the spec that moves metadata.generation on (Deployment annotations)."""
        return False

    def prepare_finalize(self, new: Obj, old: Obj) -> Obj:
        """The /finalize subresource (namespaces only)."""
        from podbay.errors import MethodNotAllowed

        raise MethodNotAllowed("the server does not allow this method on the requested resource")

    def deletable(self, obj: Obj) -> bool:
        """After an update: marked for deletion and nothing left to wait for (ShouldDeleteDuringUpdate)."""
        return meta.should_delete_during_update(obj)

    def admit_create(self, obj: Obj) -> None:
        """Host side effects a create needs before it is stored (never on a dry run)."""

    def undo_create(self, obj: Obj) -> None:
        """The store refused the create after admit_create: undo its side effects."""

    def delete_grace(self, obj: Obj, opts: DeleteOptions) -> int | None:
        """Seconds of graceful deletion (the object is only marked), or None to delete at once."""
        return None

    def before_delete(self, obj: Obj) -> Obj:
        """Last changes before a delete is decided (drop finalizers this kind handles itself)."""
        return obj


class Plain(Strategy):
    """A kind with metadata validation only (ServiceAccount, Lease, ...)."""

    def __init__(self, *, namespaced: bool = True, has_status: bool = False, create_on_update: bool = False) -> None:
        self.namespaced = namespaced
        self.has_status = has_status
        self.create_on_update = create_on_update
