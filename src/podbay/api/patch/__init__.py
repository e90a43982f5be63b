"""The write algorithms of kube-apiserver, as pure functions over JSON values.

- :func:`apply_patch` — PATCH with ``application/strategic-merge-patch+json`` (:mod:`.smp`),
  ``application/merge-patch+json`` (:mod:`.merge`) or ``application/json-patch+json``
  (:mod:`.jsonpatch_`); mirrors the ``jsonPatcher``/``smpPatcher`` of apiserver's
  ``endpoints/handlers/patch.go``.
- :func:`server_side_apply` — ``application/apply-patch+yaml`` (:mod:`.ssa`), structured-merge-diff's
  ``merge.Updater.Apply`` behind apiserver's field-manager chain.
- :func:`update_managed_fields` — the managedFields bookkeeping of every other write
  (``FieldManager.UpdateNoErrors``).
- :func:`decode_protobuf` — ``application/vnd.kubernetes.protobuf`` request bodies (:mod:`.protobuf`).

Every failure is a :class:`PatchError` (or :class:`ApplyConflict`) that carries the HTTP code, the
Status reason and upstream's message; :meth:`PatchError.status` renders the ``v1.Status``.
"""

from __future__ import annotations

from podbay.api.patch.errors import ApplyConflict, PatchError
from podbay.api.patch.protobuf import PROTOBUF, decode_protobuf
from podbay.api.patch.ssa import (
    default_manager,
    server_side_apply,
    update_managed_fields,
    validate_patch_options,
)
from podbay.api.patch.write import PATCH_TYPES, apply_patch

__all__ = [
    "PATCH_TYPES",
    "PROTOBUF",
    "ApplyConflict",
    "PatchError",
    "apply_patch",
    "decode_protobuf",
    "default_manager",
    "server_side_apply",
    "update_managed_fields",
    "validate_patch_options",
]
