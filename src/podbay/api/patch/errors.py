"""The errors of the write algorithms, each carrying the HTTP answer kube-apiserver gives.

Where upstream lets an algorithm error through as a 500 ``InternalError`` (strategic-merge-patch
format errors, structured-merge-diff validation errors), podbay answers 400 ``BadRequest`` with
the same message: bad input never gets a 500 here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podbay.api.status import status_object
from podbay.errors import PodbayError

# apierrors.NewGenericServerResponse(422, ...) drops the server's own text and says this.
GENERIC_422 = "the server rejected our request due to an error in our request"


class PatchError(PodbayError):
    """A patch/apply request that cannot be carried out; nothing was changed."""

    def __init__(self, message: str, reason: str = "BadRequest", code: int = 400,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body to answer with."""
        return status_object(self.code, self.reason, self.message, self.details)


def bad_request(message: str) -> PatchError:
    return PatchError(message, "BadRequest", 400)


def unprocessable(message: str = GENERIC_422) -> PatchError:
    """``NewGenericServerResponse(422, …)``: reason Invalid, upstream's generic message."""
    return PatchError(message, "Invalid", 422, {})


class ApplyConflict(PatchError):
    """HTTP 409 for server-side apply conflicts (``errors.NewApplyConflict``)."""

    def __init__(self, conflicts: Sequence[tuple[str, str]], message: str) -> None:
        # conflicts: (printed manager, field path) as upstream's StatusCause carries them.
        self.conflicts = list(conflicts)
        causes = [{"type": "FieldManagerConflict", "message": f"conflict with {m}", "field": f}
                  for m, f in self.conflicts]
        super().__init__(message, "Conflict", 409, {"causes": causes})
