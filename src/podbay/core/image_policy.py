"""The kubelet image manager's decisions, back-off and texts (pure).

Mirrors ``pkg/kubelet/images/image_manager.go`` (EnsureImageExists, imagePullPrecheck, pullImage,
evalCRIPullErr) and ``client-go/util/flowcontrol/backoff.go`` as the kubelet configures it for
images (10 s doubling to 300 s, no jitter, forgotten after 600 s). Event reasons are the kubelet's
(``pkg/kubelet/events/event.go``); waiting reasons its error names (``pkg/kubelet/images/types.go``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Waiting reasons (containerStatuses[].state.waiting.reason).
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"
IMAGE_INSPECT_ERROR = "ImageInspectError"
REGISTRY_UNAVAILABLE = "RegistryUnavailable"
SIGNATURE_VALIDATION_FAILED = "SignatureValidationFailed"
IMAGE_REASONS = frozenset({ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, ERR_IMAGE_NEVER_PULL, INVALID_IMAGE_NAME,
                           IMAGE_INSPECT_ERROR, REGISTRY_UNAVAILABLE, SIGNATURE_VALIDATION_FAILED})

# Event reasons.
EV_PULLING = "Pulling"
EV_PULLED = "Pulled"
EV_FAILED = "Failed"
EV_INSPECT_FAILED = "InspectFailed"
EV_NEVER_PULL = "ErrImageNeverPull"
EV_BACKOFF = "BackOff"
EV_FAILED_SECRET = "FailedToRetrieveImagePullSecret"

BACKOFF_INITIAL = 10.0     # kubelet imageBackOffPeriod
BACKOFF_MAX = 300.0        # kubelet MaxImageBackOff

PullPolicy = Literal["Always", "IfNotPresent", "Never"]


def default_pull_policy(tag: str) -> PullPolicy:
    """SetDefaults_Container: ``Always`` iff the tag (as ParseImageName sees it) is ``latest``."""
    return "Always" if tag == "latest" else "IfNotPresent"


def must_pull(policy: str, present: bool) -> bool | None:
    """imagePullPrecheck: True = pull, False = use the local image, None = Never and absent."""
    if policy == "Always":
        return True
    if present:
        return False
    return None if policy == "Never" else True


# ------------------------------------------------------------------------------------------ texts
def invalid_image_message(image: str, err: str) -> str:
    return f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {err}'


def inspect_failed_message(err: str) -> str:
    # Upstream formats the (empty, on error) image ref here: `Failed to inspect image "": <err>`.
    return f'Failed to inspect image "": {err}'


def never_pull_message(image: str) -> str:
    return f'Container image "{image}" is not present with pull policy of Never'


def present_message(image: str) -> str:
    return f'Container image "{image}" already present on machine'


def pulling_message(image: str) -> str:
    return f'Pulling image "{image}"'


def failed_message(image: str, err: str) -> str:
    return f'Failed to pull image "{image}": {err}'


def backoff_event_message(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def backoff_status_message(image: str, previous: str | None) -> str:
    """The waiting message while in back-off; since 1.32 it carries ``<reason>: <last message>``."""
    msg = backoff_event_message(image)
    return f"{msg}: {previous}" if previous else msg


def pulled_message(image: str, pull_seconds: float, total_seconds: float, size: int) -> str:
    """Exactly 13 space-separated tokens; durations in Go syntax, truncated to ms (e2e parses them)."""
    return (f'Successfully pulled image "{image}" in {go_duration(pull_seconds)} '
            f"({go_duration(total_seconds)} including waiting). Image size: {size} bytes.")


def error_event_message(reason: str) -> str:
    """startContainer's Warning ``Failed`` event for any EnsureImageExists error."""
    return f"Error: {reason}"


def missing_secrets_message(names: list[str]) -> str:
    return (f"Unable to retrieve some image pull secrets ({', '.join(names)}); attempting to pull the image "
            "may not succeed.")


def eval_pull_error(image: str, err: str) -> tuple[str, str]:
    """evalCRIPullErr: (waiting reason, waiting message) for the runtime's error text ``err``."""
    for reason, what in ((REGISTRY_UNAVAILABLE, "the registry is unavailable"),
                         (SIGNATURE_VALIDATION_FAILED, "the signature validation failed")):
        if err.startswith(reason):
            return reason, f"image pull failed for {image} because {what}{err[len(reason):]}"
    return ERR_IMAGE_PULL, err


def go_duration(seconds: float) -> str:
    """Go's ``Duration.Truncate(time.Millisecond).String()``: 390ms, 2.266s, 1m2.5s, 1h0m0.001s."""
    ms = int(max(seconds, 0.0) * 1000 + 1e-6)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, frac = divmod(rest, 1000)
    text = f"{secs}" + (f".{frac:03d}".rstrip("0") if frac else "") + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return text


# ------------------------------------------------------------------------------------------ back-off
@dataclass
class _Entry:
    backoff: float
    last_update: float


@dataclass
class ImageBackOff:
    """flowcontrol.Backoff as the kubelet uses it for pulls, keyed ``<pod uid>_<image as written>``."""

    initial: float = BACKOFF_INITIAL
    maximum: float = BACKOFF_MAX
    _entries: dict[str, _Entry] = field(default_factory=dict)

    @staticmethod
    def key(pod_uid: str, image: str) -> str:
        return f"{pod_uid}_{image}"

    def _expired(self, now: float, entry: _Entry) -> bool:
        return now - entry.last_update > 2 * self.maximum

    def next(self, key: str, now: float) -> float:
        """Record a failure at ``now``; returns the new back-off."""
        entry = self._entries.get(key)
        if entry is None or self._expired(now, entry):
            entry = self._entries[key] = _Entry(self.initial, now)
        else:
            entry.backoff = min(entry.backoff * 2, self.maximum)
            entry.last_update = now
        return entry.backoff

    def in_backoff(self, key: str, now: float) -> bool:
        """IsInBackOffSinceUpdate."""
        entry = self._entries.get(key)
        if entry is None or self._expired(now, entry):
            return False
        return now - entry.last_update < entry.backoff

    def expires_at(self, key: str) -> float | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.last_update + entry.backoff

    def gc(self, now: float) -> None:
        """Drop entries not updated for 2 x max (called after each successful pull)."""
        for key in [k for k, e in self._entries.items() if self._expired(now, e)]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ImageEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class EnsureResult:
    """The outcome of ensuring one container's image: ``image_ref`` on success, else reason/message."""

    image_ref: str = ""            # what the runtime gets: the store's image (by id or repo digest)
    reason: str = ""               # waiting reason on failure
    message: str = ""
    retry_at: float | None = None  # when a new attempt makes sense (end of the back-off)

    @property
    def ok(self) -> bool:
        return not self.reason


def parse_go_duration(text: str) -> float:
    """``2m``, ``1m30s``, ``500ms``, ``0`` -> seconds (Go's time.ParseDuration, unsigned)."""
    import re

    text = text.strip()
    if text == "0":
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'time: invalid duration "{text}"')
    return sum(float(n) * units[u] for n, u in parts)
