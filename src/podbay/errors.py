"""The one error tree of podbay. Adapters raise only these; the server and CLI translate them.

PodbayError
├── StatusError(message, details)  an API answer: leaves the server as a Status with .code/.reason
│   ├── ValidationError(kind, name, [FieldError])   422 Invalid (apierrors.NewInvalid)
│   ├── BadRequest                 400 BadRequest (undecodable body, bad query parameter)
│   ├── Unauthorized               401
│   ├── Forbidden                  403 (e.g. a namespace being terminated)
│   ├── NotFound                   404 NotFound
│   ├── MethodNotAllowed           405
│   ├── NotAcceptable              406 (no servable media type in Accept)
│   ├── AlreadyExists              409 AlreadyExists
│   ├── Conflict                   409 Conflict (stale resourceVersion, failed precondition)
│   ├── Gone / Expired             410 (too old resourceVersion, expired continue token)
│   ├── RequestEntityTooLarge      413
│   ├── UnsupportedMediaType       415
│   ├── TooManyRequests            429
│   ├── Timeout                    504
│   └── NotSupported               a valid Kubernetes feature podbay does not do -> HTTP 422
├── PermanentError                 no retry helps (image missing, hostPath type mismatch)
├── StartFailed(reason)            a container could not be created: its waiting reason (ErrImagePull,
│                                  CreateContainerConfigError, ...) and message, as the kubelet reports
└── TemporaryError(delay)          retry later (CNI not ready, busy mount, runtime timeout)
    ├── RuntimeFailure             OCI runtime / conmon failure; carries argv, rc, stderr tail
    ├── NetworkFailure             CNI plugin failure; carries the CNI code and msg
    └── MountFailure               mount/umount failure

Back-off states (CrashLoopBackOff, ImagePullBackOff) are results, not exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podbay.api.fielderror import FieldError


class PodbayError(Exception):
    """Base of every error podbay raises on purpose."""

    reason: str = "InternalError"


class StatusError(PodbayError):
    """An error the API answers with a ``Status`` of this code and reason (apierrors.StatusError)."""

    reason = "InternalError"
    code = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details


class ValidationError(StatusError):
    """Field errors of one object (apierrors.NewInvalid); only ``FieldError`` causes (REVIEW D2)."""

    reason = "Invalid"
    code = 422

    def __init__(self, kind: str, name: str, causes: Sequence[FieldError]) -> None:
        self.kind = kind
        self.name = name
        self.causes = list(causes)
        bodies = list(dict.fromkeys(str(c) for c in self.causes))
        if len(bodies) == 1:
            msg = f'{kind} "{name}" is invalid: {bodies[0]}'
        else:
            msg = f'{kind} "{name}" is invalid: [{", ".join(bodies)}]'
        super().__init__(msg)


class BadRequest(StatusError):
    reason = "BadRequest"
    code = 400


class Unauthorized(StatusError):
    reason = "Unauthorized"
    code = 401


class Forbidden(StatusError):
    reason = "Forbidden"
    code = 403


class NotFound(StatusError):
    reason = "NotFound"
    code = 404


class MethodNotAllowed(StatusError):
    reason = "MethodNotAllowed"
    code = 405


class NotAcceptable(StatusError):
    reason = "NotAcceptable"
    code = 406


class AlreadyExists(StatusError):
    reason = "AlreadyExists"
    code = 409


class Conflict(StatusError):
    reason = "Conflict"
    code = 409


class Gone(StatusError):
    reason = "Gone"
    code = 410


class Expired(StatusError):
    """410 with reason Expired: a resourceVersion or continue token older than the history kept."""

    reason = "Expired"
    code = 410


class RequestEntityTooLarge(StatusError):
    reason = "RequestEntityTooLarge"
    code = 413


class UnsupportedMediaType(StatusError):
    reason = "UnsupportedMediaType"
    code = 415


class TooManyRequests(StatusError):
    reason = "TooManyRequests"
    code = 429


class Timeout(StatusError):
    reason = "Timeout"
    code = 504


class NotSupported(StatusError):
    """A Kubernetes feature podbay rejects explicitly instead of ignoring it."""

    reason = "Invalid"
    code = 422


class PermanentError(PodbayError):
    reason = "PermanentError"


class StartFailed(PodbayError):
    """The container could not be created; reason is Kubernetes' waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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
