"""A container runtime in memory: containers are created, start, run until the test ends them."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podbay.core.hashing import container_hash
from podbay.core.image_policy import EnsureResult
from podbay.core.records import ContainerKind, ContainerRecord
from podbay.core.signals import stop_signal
from podbay.errors import StartFailed
from podbay.ports import CreateRequest, ExecResult, ExitStatus, RuntimeStatus, Sandbox
from podbay.testing.clock import FakeClock

ExecHandler = Callable[[ContainerRecord, Sequence[str]], "ExecResult | Awaitable[ExecResult]"]


@dataclass
class FakeContainer:
    rec: ContainerRecord
    status: RuntimeStatus = "created"
    code: int | None = None
    finished_at: float | None = None
    oom: bool = False
    signals: list[int] = field(default_factory=list)
    ignore_term: bool = False        # like `sleep` as PID 1: SIGTERM does nothing, SIGKILL after the grace


class FakeRuntime:
    def __init__(self, clock: FakeClock, root: Path) -> None:
        self.clock = clock
        self.root = root
        self.containers: dict[str, FakeContainer] = {}
        self.removed: set[str] = set()
        self.create_failures: dict[str, StartFailed | BaseException] = {}   # container name -> raised once each
        self.create_error_always: dict[str, BaseException] = {}
        self.start_errors: set[str] = set()             # names whose start fails (StartError)
        self.exit_on_start: dict[str, int] = {}         # names that exit (with this code) as they start
        self.ignore_term: set[str] = set()
        self.term_exit_code: dict[str, int] = {}         # what a container exits with on SIGTERM (143)
        self.exec_handlers: dict[str, ExecHandler] = {}
        self.on_exit: Callable[[str], None] = lambda _cid: None
        self.calls: list[tuple[str, str]] = []
        self.image_config: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    # -- test controls ---------------------------------------------------------------------------
    def running(self, name: str, pod_uid: str | None = None) -> FakeContainer | None:
        best = None
        for c in self.containers.values():
            mine = c.rec.name == name and c.status == "running" and (pod_uid is None or c.rec.pod_uid == pod_uid)
            if mine and (best is None or c.rec.attempt > best.rec.attempt):
                best = c
        return best

    def of(self, name: str) -> list[FakeContainer]:
        return sorted((c for c in self.containers.values() if c.rec.name == name), key=lambda c: c.rec.attempt)

    def exit(self, name_or_cid: str, code: int = 0, *, oom: bool = False) -> None:
        c = self.containers.get(name_or_cid) or self.running(name_or_cid)
        assert c is not None, f"no running container {name_or_cid}"
        self._exit(c, code, oom)

    def _exit(self, c: FakeContainer, code: int, oom: bool = False) -> None:
        if c.status in ("stopped", "gone"):
            return
        c.status, c.code, c.finished_at, c.oom = "stopped", code, self.clock.now(), oom
        self.on_exit(c.rec.id)

    def live(self) -> list[FakeContainer]:
        return [c for c in self.containers.values() if c.status in ("created", "running")]

    # -- the Runtime port ------------------------------------------------------------------------
    def container_dir(self, cid: str) -> Path:
        return self.root / "containers" / cid

    def create(self, req: CreateRequest) -> ContainerRecord:
        pod = req.pod
        ctr, kind = _find(pod, req.name)
        self.calls.append(("create", req.name))
        err = self.create_error_always.get(req.name) or self.create_failures.pop(req.name, None)
        if err is not None:
            raise err
        cid = f"c{next(self._ids):04d}-{req.name}"
        md = pod["metadata"]
        log = self.root / "logs" / f"{md['namespace']}_{md['name']}_{md['uid']}" / req.name / f"{req.attempt}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        (req.sandbox.pod_dir / "containers" / req.name).mkdir(parents=True, exist_ok=True)
        (req.sandbox.pod_dir / "containers" / req.name / cid[:8]).touch()
        self.container_dir(cid).mkdir(parents=True, exist_ok=True)
        rec = ContainerRecord(id=cid, pod_uid=md["uid"], name=req.name, kind=kind, attempt=req.attempt,
                              spec_hash=container_hash(ctr), image=str(ctr.get("image")), image_id="sha256:fake",
                              state="created", created_at=self.clock.now(), log_path=str(log),
                              conmon_pid=next(self._ids), conmon_start=1,
                              stop_signal=stop_signal(ctr, self.image_config.get(str(ctr.get("image")), {})))
        self.containers[cid] = FakeContainer(rec, ignore_term=req.name in self.ignore_term)
        return rec

    def start(self, rec: ContainerRecord) -> ContainerRecord:
        self.calls.append(("start", rec.name))
        c = self.containers[rec.id]
        assert c.status == "created", f"start of a {c.status} container {rec.id}"
        if rec.name in self.start_errors:
            c.status = "gone"
            self.removed.add(rec.id)
            return rec.with_(state="exited", exit_code=128, reason="StartError", started_at=None,
                             message="executable file not found in $PATH", finished_at=self.clock.now())
        c.status = "running"
        rec = rec.with_(state="running", started_at=self.clock.now())
        c.rec = rec
        if rec.name in self.exit_on_start:   # a short command: its exit event comes before start returns
            self._exit(c, self.exit_on_start[rec.name])
        return rec

    def create_infra(self, pod: Mapping[str, Any], sandbox: Sandbox, attempt: int) -> ContainerRecord:
        cid = f"c{next(self._ids):04d}-POD"
        now = self.clock.now()
        rec = ContainerRecord(id=cid, pod_uid=pod["metadata"]["uid"], name="POD", kind="infra", attempt=attempt,
                              spec_hash="", image="", state="running", created_at=now, started_at=now,
                              conmon_pid=next(self._ids), conmon_start=1, pid=4242)
        self.containers[cid] = FakeContainer(rec, status="running")
        return rec

    def signal(self, rec: ContainerRecord, sig: int) -> bool:
        c = self.containers.get(rec.id)
        self.calls.append((f"signal {sig}", rec.name))
        if c is None or c.status not in ("created", "running"):
            return False
        c.signals.append(sig)
        if sig == signal.SIGKILL:
            self._exit(c, 137)
        elif not c.ignore_term and sig == (rec.stop_signal or signal.SIGTERM):
            self._exit(c, self.term_exit_code.get(rec.name, 128 + sig))
        return True

    def exit_status(self, rec: ContainerRecord) -> ExitStatus | None:
        c = self.containers.get(rec.id)
        if c is None or c.status in ("created", "running"):
            return None
        if c.finished_at is None:
            return None
        return ExitStatus(c.code, c.finished_at, c.oom)

    def is_alive(self, rec: ContainerRecord) -> bool:
        c = self.containers.get(rec.id)
        return c is not None and c.status in ("created", "running")

    def runtime_status(self, rec: ContainerRecord) -> RuntimeStatus:
        c = self.containers.get(rec.id)
        return "gone" if c is None else c.status

    def remove(self, rec: ContainerRecord) -> None:
        c = self.containers.get(rec.id)
        if c is not None and c.status in ("created", "running"):
            raise AssertionError(f"remove of a live container {rec.id}")
        if c is not None:
            c.status = "gone"
        self.removed.add(rec.id)

    async def exec_sync(self, rec: ContainerRecord, argv: Sequence[str], timeout: float | None,
                        limit: int = 10 * 1024) -> ExecResult:
        self.calls.append(("exec", rec.name))
        c = self.containers.get(rec.id)
        if c is None or c.status != "running":
            return ExecResult(None, error="container not running")
        handler = self.exec_handlers.get(rec.name)
        if handler is None:
            return ExecResult(0)
        result = handler(rec, argv)
        if not inspect.isawaitable(result):
            return result
        job = asyncio.ensure_future(result)
        if timeout is None:
            return await job
        timer = asyncio.ensure_future(self.clock.sleep(timeout))
        await asyncio.wait({job, timer}, return_when=asyncio.FIRST_COMPLETED)
        timer.cancel()
        if job.done():
            return job.result()
        job.cancel()
        return ExecResult(None, timed_out=True)


def _find(pod: Mapping[str, Any], name: str) -> tuple[dict[str, Any], ContainerKind]:
    for c in pod["spec"].get("initContainers") or []:
        if c["name"] == name:
            return c, "init"
    for c in pod["spec"]["containers"]:
        if c["name"] == name:
            return c, "regular"
    raise KeyError(name)


class FakeImages:
    """ImageService in memory: an image is present, missing (ErrImagePull, retried after ``retry``
    seconds, then ImagePullBackOff), or held by a pull the test releases (``gate``)."""

    def __init__(self, clock: FakeClock, retry: float = 10.0) -> None:
        self.clock = clock
        self.retry = retry
        self.missing: set[str] = set()
        self.gate: asyncio.Event | None = None       # set: pulls wait on it
        self.pulls: list[str] = []
        self.cancelled = 0
        self._failed: set[str] = set()

    async def ensure(self, pod: Mapping[str, Any], names: Sequence[str],
                     record: Callable[[str, str, str, str], None]) -> dict[str, EnsureResult]:
        out: dict[str, EnsureResult] = {}
        for name in names:
            image = _find(pod, name)[0]["image"]
            self.pulls.append(image)
            if self.gate is not None:
                try:
                    await self.gate.wait()
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
            if image in self.missing:
                if image in self._failed:
                    record(name, "Normal", "BackOff", f'Back-off pulling image "{image}"')
                    out[name] = EnsureResult(reason="ImagePullBackOff", message=f'Back-off pulling image "{image}"',
                                             retry_at=self.clock.now() + self.retry)
                else:
                    self._failed.add(image)
                    record(name, "Warning", "Failed", f'Failed to pull image "{image}": not found')
                    out[name] = EnsureResult(reason="ErrImagePull", message="not found",
                                             retry_at=self.clock.now() + 1.0)
                continue
            self._failed.discard(image)
            record(name, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            out[name] = EnsureResult(image_ref=image)
        return out
