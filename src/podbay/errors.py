"""The one error tree of podbay. Adapters raise only these; the server and CLI translate them.

PodbayError
├── ValidationError(causes)        bad user input  -> HTTP 422 Invalid, CLI exit 1
├── NotFound                       -> HTTP 404 NotFound
├── AlreadyExists                  -> HTTP 409 AlreadyExists
├── Conflict                       -> HTTP 409 Conflict
├── Forbidden                      refused by admission or policy -> HTTP 403 Forbidden
├── BadRequest                     a request that cannot be served as asked -> HTTP 400 BadRequest
├── NotSupported                   a valid Kubernetes feature podbay does not do -> HTTP 422
├── PermanentError                 no retry helps (image missing, hostPath type mismatch)
└── TemporaryError(delay)          retry later (CNI not ready, busy mount, runtime timeout)
    ├── RuntimeFailure             OCI runtime / conmon failure; carries argv, rc, stderr tail
    ├── NetworkFailure             CNI plugin failure; carries the CNI code and msg
    └── MountFailure               mount/umount failure

Back-off states (CrashLoopBackOff, ImagePullBackOff) are results, not exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence


class PodbayError(Exception):
    """Base of every error podbay raises on purpose."""

    reason: str = "InternalError"


class ValidationError(PodbayError):
    """Field errors, already formatted in Kubernetes' grammar (``path: body``)."""

    reason = "Invalid"

    def __init__(self, kind: str, name: str, causes: Sequence[object]) -> None:
        self.kind = kind
        self.name = name
        self.causes = list(causes)
        bodies = list(dict.fromkeys(str(c) for c in self.causes))
        if len(bodies) == 1:
            msg = f'{kind} "{name}" is invalid: {bodies[0]}'
        else:
            msg = f'{kind} "{name}" is invalid: [{", ".join(bodies)}]'
        super().__init__(msg)


class NotFound(PodbayError):
    reason = "NotFound"


class AlreadyExists(PodbayError):
    reason = "AlreadyExists"


class Conflict(PodbayError):
    reason = "Conflict"


class Forbidden(PodbayError):
    reason = "Forbidden"


class BadRequest(PodbayError):
    reason = "BadRequest"


class NotSupported(PodbayError):
    """A Kubernetes feature podbay rejects explicitly instead of ignoring it."""

    reason = "Invalid"


class PermanentError(PodbayError):
    reason = "PermanentError"


class TemporaryError(PodbayError):
    reason = "TemporaryError"

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class RuntimeFailure(TemporaryError):
    def __init__(self, message: str, argv: Sequence[str] = (), rc: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.argv = list(argv)
        self.rc = rc
        self.stderr = stderr


class NetworkFailure(TemporaryError):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MountFailure(TemporaryError):
    pass
