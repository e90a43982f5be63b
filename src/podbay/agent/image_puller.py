"""The kubelet's image manager for podbay: pull policy, credentials, back-off, events, and a node-wide
puller that serializes pulls (or runs N in parallel) and shares one transfer between identical requests.

``ensure_image`` is EnsureImageExists (``pkg/kubelet/images/image_manager.go``); the decisions and
texts are pure (``podbay.core.image_policy``), the transfer is ``podbay.images.pull.Puller`` behind
the registry port. The serial/parallel queue is ``puller.go``; sharing an in-flight pull per
(reference, credentials) is what CRI-O does (``pullOperationsInProgress``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from podbay.core import image_policy as ip
from podbay.core.image_policy import EnsureResult, ImageBackOff, ImageEvent
from podbay.errors import NotFound, PodbayError
from podbay.images import keyring, reference
from podbay.images.pull import Puller, PullResult
from podbay.images.registry import PullError
from podbay.images.store import Image, ImageStore

log = logging.getLogger("podbay.images")

RecordEvent = Callable[[ImageEvent], None]
GetSecret = Callable[[str, str], Mapping[str, Any] | None]
NEVER_PULL_RETRY = 10.0     # an error sync is retried after ~10 s (pod_workers completeWork)


class _PullFn(Protocol):
    def __call__(self, ref: str, creds: Sequence[keyring.Credential], cancel: threading.Event) -> PullResult: ...


@dataclass(frozen=True)
class _Outcome:
    result: PullResult | None
    error: str
    started: float        # when the transfer left the queue (monotonic)
    finished: float


class NodeCredentials:
    """The node-level docker config (``--image-credentials``), re-read when its mtime changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: float | None = None
        self._keyring = keyring.Keyring()

    def keyring(self) -> keyring.Keyring:
        if self.path is None:
            return self._keyring
        try:
            stamp = self.path.stat().st_mtime
        except OSError:
            self._stamp, self._keyring = None, keyring.Keyring()
            return self._keyring
        if stamp != self._stamp:
            kr = keyring.Keyring()
            try:
                kr.add(keyring.parse_docker_config(self.path.read_bytes(), f"node file {self.path}"))
            except (OSError, keyring.InvalidDockerConfig) as exc:
                log.warning("ignoring image credentials %s: %s", self.path, exc)
            self._stamp, self._keyring = stamp, kr
        return self._keyring


def pull_secrets(pod: Mapping[str, Any], get_secret: GetSecret) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The pod's imagePullSecrets that exist, and the names that do not (``getPullSecretsForPod``)."""
    ns = pod["metadata"].get("namespace", "default")
    found, missing = [], []
    for ref in pod["spec"].get("imagePullSecrets") or []:
        name = (ref or {}).get("name") or ""
        if not name:
            continue
        secret = get_secret(ns, name)
        if secret is None:
            missing.append(name)
        else:
            found.append(secret)
    return found, missing


class ImageManager:
    def __init__(self, store: ImageStore, pull: _PullFn, *, serialize: bool = True,
                 max_parallel: int | None = None, node: NodeCredentials | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not serialize and max_parallel is not None and max_parallel < 1:
            raise ValueError("maxParallelImagePulls must be a positive number")
        self.store = store
        self._pull = pull
        self.node = node or NodeCredentials(None)
        self.clock = clock
        self.monotonic = monotonic
        self.backoff = ImageBackOff()
        self.prev_error: dict[str, str] = {}
        self.limit = 1 if serialize else (max_parallel or 0)
        self._sem: asyncio.Semaphore | None = None
        self._inflight: dict[tuple[str, tuple[str, ...]], _Inflight] = {}
        self._cancel = threading.Event()
        self.pulls_started = 0

    @classmethod
    def for_puller(cls, store: ImageStore, puller: Puller, **kw: Any) -> ImageManager:
        def pull(ref: str, creds: Sequence[keyring.Credential], cancel: threading.Event) -> PullResult:
            return puller.pull(ref, creds, cancel=cancel)

        return cls(store, pull, **kw)

    def _semaphore(self) -> asyncio.Semaphore | None:
        if self.limit and self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        return self._sem

    def pulling(self) -> set[str]:
        """References with a transfer in flight (GC leaves them alone)."""
        return {k[0] for k in self._inflight}

    def close(self) -> None:
        """Stop in-flight transfers (agent shutdown)."""
        self._cancel.set()
        for pull in self._inflight.values():
            pull.cancel.set()

    # ------------------------------------------------------------------ EnsureImageExists
    async def ensure_image(self, pod: Mapping[str, Any], container: Mapping[str, Any],
                           secrets: Sequence[Mapping[str, Any]], record: RecordEvent) -> EnsureResult:
        image = str(container.get("image") or "")
        policy = str(container.get("imagePullPolicy") or "")
        uid = str(pod["metadata"].get("uid") or "")
        result = await self._ensure(uid, image, policy, secrets, record)
        if not result.ok:
            record(ImageEvent("Warning", ip.EV_FAILED, ip.error_event_message(result.reason)))
        return result

    async def _ensure(self, uid: str, image: str, policy: str, secrets: Sequence[Mapping[str, Any]],
                      record: RecordEvent) -> EnsureResult:
        now = self.clock()
        try:
            parsed = reference.parse(image)
        except ValueError as exc:
            msg = ip.invalid_image_message(image, str(exc))
            record(ImageEvent("Warning", ip.EV_INSPECT_FAILED, msg))
            return EnsureResult(reason=ip.INVALID_IMAGE_NAME, message=msg, retry_at=now + NEVER_PULL_RETRY)
        if not policy:   # the API defaults it; kept for callers that bypass defaulting
            policy = ip.default_pull_policy(parsed.tag or "")
        present: Image | None = None
        if policy != "Always":
            try:
                present = await asyncio.to_thread(self._lookup, image)
            except PodbayError as exc:
                msg = ip.inspect_failed_message(str(exc))
                record(ImageEvent("Warning", ip.EV_INSPECT_FAILED, msg))
                return EnsureResult(reason=ip.IMAGE_INSPECT_ERROR, message=msg, retry_at=now + NEVER_PULL_RETRY)
        decision = ip.must_pull(policy, present is not None)
        if decision is None:
            msg = ip.never_pull_message(image)
            record(ImageEvent("Warning", ip.EV_NEVER_PULL, msg))
            return EnsureResult(reason=ip.ERR_IMAGE_NEVER_PULL, message=msg, retry_at=now + NEVER_PULL_RETRY)
        if not decision and present is not None:
            record(ImageEvent("Normal", ip.EV_PULLED, ip.present_message(image)))
            await asyncio.to_thread(self.store.mark_used, present.id)
            return EnsureResult(image_ref=present.status_ref(image))

        creds = keyring.union_lookup([keyring.pod_keyring(secrets), self.node.keyring()], parsed.repository)
        key = ImageBackOff.key(uid, image)
        if self.backoff.in_backoff(key, now):
            record(ImageEvent("Normal", ip.EV_BACKOFF, ip.backoff_event_message(image)))
            return EnsureResult(reason=ip.IMAGE_PULL_BACKOFF,
                                message=ip.backoff_status_message(image, self.prev_error.get(key)),
                                retry_at=self.backoff.expires_at(key))
        self.prev_error.pop(key, None)
        record(ImageEvent("Normal", ip.EV_PULLING, ip.pulling_message(image)))
        t_start = self.monotonic()
        outcome = await self._shared_pull(str(parsed), image, creds)
        now = self.clock()
        if outcome.result is None:
            record(ImageEvent("Warning", ip.EV_FAILED, ip.failed_message(image, outcome.error)))
            self.backoff.next(key, now)
            reason, msg = ip.eval_pull_error(image, outcome.error)
            self.prev_error[key] = f"{reason}: {msg}"
            expiry = self.backoff.expires_at(key) or now
            # Sync again a second later: the status then moves on to ImagePullBackOff (kubelet's next sync).
            return EnsureResult(reason=reason, message=msg, retry_at=min(expiry, now + 1.0))
        res = outcome.result
        pull_s = outcome.finished - max(outcome.started, t_start)
        total_s = outcome.finished - t_start
        record(ImageEvent("Normal", ip.EV_PULLED, ip.pulled_message(image, pull_s, total_s, res.image.size)))
        self.backoff.gc(now)
        await asyncio.to_thread(self.store.mark_used, res.image.id)
        return EnsureResult(image_ref=res.image.status_ref(image))

    def _lookup(self, image: str) -> Image | None:
        try:
            return self.store.resolve(image)
        except NotFound:
            return None

    # ------------------------------------------------------------------ the puller
    async def _shared_pull(self, ref: str, image: str, creds: Sequence[keyring.Credential]) -> _Outcome:
        """Join the transfer in flight for (ref, credentials) or start one. A waiter that is cancelled
        (its pod was deleted) leaves; when no waiter is left the transfer is stopped."""
        key = (ref, tuple(c.fingerprint for c in creds))
        pull = self._inflight.get(key)
        if pull is None:
            pull = _Inflight(asyncio.get_running_loop().create_future(), threading.Event())
            self._inflight[key] = pull
            task = asyncio.create_task(self._lead(key, image, creds, pull), name=f"pull {ref}")
            task.add_done_callback(_log_crash)
        pull.waiters += 1
        try:
            return await asyncio.shield(pull.future)
        finally:
            pull.waiters -= 1
            if pull.waiters == 0 and not pull.future.done():
                pull.cancel.set()

    async def _lead(self, key: tuple[str, tuple[str, ...]], image: str, creds: Sequence[keyring.Credential],
                    pull: _Inflight) -> None:
        started = self.monotonic()
        outcome = _Outcome(None, "pull cancelled", started, started)
        try:
            sem = self._semaphore()
            async with sem if sem is not None else contextlib.nullcontext():
                started = self.monotonic()
                if pull.cancel.is_set() or self._cancel.is_set():
                    return
                self.pulls_started += 1
                try:
                    res = await asyncio.to_thread(self._pull, image, creds, pull.cancel)
                    outcome = _Outcome(res, "", started, self.monotonic())
                except PullError as exc:
                    outcome = _Outcome(None, exc.message, started, self.monotonic())
                except (PodbayError, OSError, ValueError) as exc:
                    log.warning("pull of %s failed: %s", image, exc)
                    outcome = _Outcome(None, str(exc), started, self.monotonic())
        except BaseException as exc:
            outcome = _Outcome(None, f"pull interrupted: {exc!r}", started, self.monotonic())
            raise
        finally:
            del self._inflight[key]
            if not pull.future.done():
                pull.future.set_result(outcome)


@dataclass
class _Inflight:
    future: asyncio.Future[_Outcome]
    cancel: threading.Event          # set: the transfer stops (no waiter left, or agent shutdown)
    waiters: int = 0


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("image pull task crashed: %r", task.exception())


# ---------------------------------------------------------------------- the worker's hook
async def ensure_images(manager: ImageManager, pod: Mapping[str, Any], names: Sequence[str],
                        container_of: Callable[[str], Mapping[str, Any]], get_secret: GetSecret,
                        record: Callable[[str, ImageEvent], None]) -> dict[str, EnsureResult]:
    """Ensure the image of every container about to start (concurrently; the puller queues them).

    ``record(name, event)`` records an event about container ``name``. Returns the result per name;
    the worker starts only the ``ok`` ones and shows the others as waiting until ``retry_at``."""
    secrets, missing = pull_secrets(pod, get_secret)
    if missing and names:
        record(names[0], ImageEvent("Warning", ip.EV_FAILED_SECRET, ip.missing_secrets_message(missing)))
    results = await asyncio.gather(*(manager.ensure_image(pod, container_of(n), secrets,
                                                          lambda ev, n=n: record(n, ev)) for n in names))  # type: ignore[misc]
    return dict(zip(names, results, strict=True))


def default_credentials_file(root: Path) -> Path | None:
    """``<state root>/config.json`` when it exists (the kubelet reads ``/var/lib/kubelet/config.json``)."""
    p = Path(root) / "config.json"
    return p if os.path.exists(p) else None


# ---------------------------------------------------------------------- composition (agent flags)
def add_image_flags(ap: Any) -> None:
    """The kubelet's image flags on ``podbay agent``."""
    ap.add_argument("--registries-conf", dest="registries_conf",
                    help="registries.conf with mirrors, insecure registries and certs-dir (default <root>/registries.conf)")
    ap.add_argument("--image-credentials", dest="image_credentials",
                    help="node-level docker config.json for pulls (default <root>/config.json if present)")
    ap.add_argument("--serialize-image-pulls", dest="serialize_image_pulls", choices=["true", "false"],
                    help="pull one image at a time (default true)")
    ap.add_argument("--max-parallel-image-pulls", dest="max_parallel_image_pulls", type=int,
                    help="parallel pulls at most (implies --serialize-image-pulls=false)")
    ap.add_argument("--image-gc-high-threshold", dest="image_gc_high_threshold", type=int,
                    help="image filesystem usage percent that starts image GC (default 85; 100 disables it)")
    ap.add_argument("--image-gc-low-threshold", dest="image_gc_low_threshold", type=int,
                    help="usage percent image GC frees down to (default 80)")
    ap.add_argument("--image-minimum-gc-age", dest="image_minimum_gc_age",
                    help="minimum age of an unused image before GC may remove it (default 2m)")


def image_options(opts: Mapping[str, Any]) -> dict[str, Any]:
    """AgentConfig fields from the flags, validated as the kubelet validates its configuration."""
    kw: dict[str, Any] = {}
    for key in ("registries_conf", "image_credentials"):
        if opts.get(key):
            kw[key] = Path(opts[key])
    serialize = opts.get("serialize_image_pulls")
    parallel = opts.get("max_parallel_image_pulls")
    if parallel is not None:
        if parallel < 1:
            raise ValueError(f"invalid configuration: maxParallelImagePulls (--max-parallel-image-pulls) {parallel} "
                             "must be a positive number")
        if serialize == "true" and parallel > 1:
            raise ValueError(f"invalid configuration: maxParallelImagePulls (--max-parallel-image-pulls) {parallel} "
                             "must be 1 or nil when serializeImagePulls (--serialize-image-pulls) is true")
        kw["max_parallel_image_pulls"] = parallel
        kw["serialize_image_pulls"] = parallel == 1 and serialize != "false"
    elif serialize is not None:
        kw["serialize_image_pulls"] = serialize == "true"
    high = opts.get("image_gc_high_threshold")
    low = opts.get("image_gc_low_threshold")
    high = 85 if high is None else int(high)
    low = 80 if low is None else int(low)
    for name, flag, v in (("imageGCHighThresholdPercent", "--image-gc-high-threshold", high),
                          ("imageGCLowThresholdPercent", "--image-gc-low-threshold", low)):
        if not 0 <= v <= 100:
            raise ValueError(f"invalid configuration: {name} ({flag}) {v} must be between 0 and 100, inclusive")
    if low >= high and high != 100:
        raise ValueError(f"invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) {low} must "
                         f"be less than imageGCHighThresholdPercent (--image-gc-high-threshold) {high}")
    kw["image_gc_high_threshold"], kw["image_gc_low_threshold"] = high, low
    if opts.get("image_minimum_gc_age"):
        kw["image_minimum_gc_age"] = ip.parse_go_duration(str(opts["image_minimum_gc_age"]))
    return kw


def build_image_manager(cfg: Any, store: ImageStore) -> ImageManager:
    """The agent's ImageManager: skopeo behind the registry port, podbay's registries.conf and certs.d."""
    from podbay.images.archive import host_platform
    from podbay.images.pull import RegistriesConfFile
    from podbay.images.skopeo import SkopeoClient

    conf = RegistriesConfFile(cfg.registries_conf_path, required=cfg.registries_conf is not None)
    conf.load()   # a broken file stops the agent at start with the key that is wrong
    puller = Puller(store, SkopeoClient(store.root), conf.load, host_platform(),
                    default_certs_dir=str(cfg.root / "certs.d"))
    creds = cfg.image_credentials or default_credentials_file(cfg.root)
    return ImageManager.for_puller(store, puller, serialize=cfg.serialize_image_pulls,
                                   max_parallel=cfg.max_parallel_image_pulls, node=NodeCredentials(creds))
