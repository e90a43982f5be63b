"""The kubelet image manager against a fake registry: policy, events, back-off, shared and queued pulls."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from podbay.agent.image_puller import ImageManager, NodeCredentials, ensure_images, image_options
from podbay.core.image_policy import ImageEvent
from podbay.images.fake_registry import FakeRegistry, layer_tar
from podbay.images.keyring import Credential
from podbay.images.platform import Platform
from podbay.images.pull import Puller, PullResult
from podbay.images.registries_conf import parse
from podbay.images.registry import PullError
from podbay.images.store import ImageStore

BASE = layer_tar({"etc/hostname": b"x\n"})
CONF = parse('[[registry]]\nprefix = "docker.io"\nlocation = "reg.test"\n'
             '[[registry]]\nprefix = "priv.test"\nlocation = "priv.test"\ninsecure = true\n')


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world(tmp_path: Path) -> tuple[ImageStore, FakeRegistry, Clock]:
    store = ImageStore(tmp_path / "images")
    reg = FakeRegistry(auth={"priv.test": ("user", "password")})
    reg.put_image("reg.test/library/busybox:1.35", [BASE])
    reg.put_image("priv.test/app:1", [layer_tar({"a": b"1"})])
    return store, reg, Clock()


def _manager(world: tuple[ImageStore, FakeRegistry, Clock], **kw: Any) -> ImageManager:
    store, reg, clock = world
    puller = Puller(store, reg, lambda: CONF, Platform("linux", "amd64"))
    return ImageManager.for_puller(store, puller, clock=clock, **kw)


def _pod(uid: str = "uid-1", image: str = "busybox:1.35", policy: str = "IfNotPresent",
         secrets: Sequence[str] = ()) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid},
            "spec": {"containers": [{"name": "c", "image": image, "imagePullPolicy": policy}],
                     "imagePullSecrets": [{"name": s} for s in secrets]}}


def _ensure(m: ImageManager, pod: dict[str, Any], secrets: Sequence[dict[str, Any]] = ()) -> tuple[Any, list[ImageEvent]]:
    events: list[ImageEvent] = []
    res = asyncio.run(m.ensure_image(pod, pod["spec"]["containers"][0], secrets, events.append))
    return res, events


def _reasons(events: list[ImageEvent]) -> list[str]:
    return [e.reason for e in events]


def test_if_not_present_pulls_once_then_uses_the_local_image(world: Any) -> None:
    m = _manager(world)
    res, ev = _ensure(m, _pod())
    assert res.ok and res.image_ref.startswith("docker.io/library/busybox@sha256:")
    assert _reasons(ev) == ["Pulling", "Pulled"]
    assert ev[0].message == 'Pulling image "busybox:1.35"'
    tokens = ev[1].message.split(" ")
    assert len(tokens) == 13 and tokens[:4] == ["Successfully", "pulled", "image", '"busybox:1.35"']
    assert ev[1].message.endswith(f"Image size: {world[0].resolve('busybox:1.35').size} bytes.")
    res2, ev2 = _ensure(m, _pod(uid="uid-2"))
    assert res2.image_ref == res.image_ref
    assert [(e.type, e.reason, e.message) for e in ev2] == [
        ("Normal", "Pulled", 'Container image "busybox:1.35" already present on machine')]
    assert len(world[1].manifest_requests) == 1          # the second pod made no registry request
    assert world[0].last_used()                          # recorded for the GC's LRU order


def test_always_rechecks_the_digest_cheaply(world: Any) -> None:
    m = _manager(world)
    _ensure(m, _pod(policy="Always"))
    res, ev = _ensure(m, _pod(policy="Always"))
    assert res.ok and _reasons(ev) == ["Pulling", "Pulled"] and ev[1].message.startswith("Successfully pulled")
    assert len(world[1].manifest_requests) == 2 and len(world[1].copies) == 1


def test_never_and_invalid_names(world: Any) -> None:
    m = _manager(world)
    res, ev = _ensure(m, _pod(policy="Never"))
    assert (res.reason, res.message) == ("ErrImageNeverPull",
                                         'Container image "busybox:1.35" is not present with pull policy of Never')
    assert [(e.type, e.reason) for e in ev] == [("Warning", "ErrImageNeverPull"), ("Warning", "Failed")]
    assert ev[1].message == "Error: ErrImageNeverPull"
    assert world[1].manifest_requests == []                 # no pull attempted
    res, ev = _ensure(m, _pod(image="<your-private-image>"))
    assert res.reason == "InvalidImageName"
    assert res.message == ('Failed to apply default image tag "<your-private-image>": couldn\'t parse image name '
                           '"<your-private-image>": invalid reference format')
    assert _reasons(ev) == ["InspectFailed", "Failed"] and ev[1].message == "Error: InvalidImageName"


def test_err_image_pull_then_back_off_10_20_40_per_pod_and_image(world: Any) -> None:
    store, reg, clock = world
    m = _manager(world)
    pod = _pod(image="busybox:nope")
    res, ev = _ensure(m, pod)
    want = "reading manifest nope in reg.test/library/busybox: manifest unknown: manifest unknown"
    assert (res.reason, res.message) == ("ErrImagePull", want)
    assert [(e.reason, e.message) for e in ev] == [("Pulling", 'Pulling image "busybox:nope"'),
                                                  ("Failed", f'Failed to pull image "busybox:nope": {want}'),
                                                  ("Failed", "Error: ErrImagePull")]
    assert res.retry_at == clock.t + 1.0                   # status moves to ImagePullBackOff a second later
    attempts = [clock.t]
    for _ in range(40):                                    # a sync every 5 s for 200 s
        clock.t += 5
        res, ev = _ensure(m, pod)
        if "Pulling" in _reasons(ev):
            attempts.append(clock.t)
        else:
            assert res.reason == "ImagePullBackOff"
            assert res.message == f'Back-off pulling image "busybox:nope": ErrImagePull: {want}'
            assert _reasons(ev) == ["BackOff", "Failed"] and ev[0].message == 'Back-off pulling image "busybox:nope"'
            assert ev[1].message == "Error: ImagePullBackOff"
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:4] == [10, 20, 40, 80]
    # another pod with the same image is not in that back-off
    res, ev = _ensure(m, _pod(uid="uid-2", image="busybox:nope"))
    assert res.reason == "ErrImagePull" and "Pulling" in _reasons(ev)


def test_recovers_when_the_registry_returns_and_reports_unavailable(world: Any) -> None:
    store, reg, clock = world
    reg.down.add("reg.test")
    m = _manager(world)
    res, _ = _ensure(m, _pod())
    assert res.reason == "RegistryUnavailable"
    assert res.message.startswith("image pull failed for busybox:1.35 because the registry is unavailable: "
                                  "pinging container registry reg.test")
    reg.down.clear()
    clock.t += 5
    assert _ensure(m, _pod())[0].reason == "ImagePullBackOff"
    clock.t += 6
    res, ev = _ensure(m, _pod())
    assert res.ok and _reasons(ev) == ["Pulling", "Pulled"]


def _secret(name: str, user: str, pw: str, type_: str = "kubernetes.io/dockerconfigjson") -> dict[str, Any]:
    auth = base64.b64encode(f"{user}:{pw}".encode()).decode()
    doc: dict[str, Any] = {"auths": {"http://priv.test": {"auth": auth}}}
    key = ".dockerconfigjson"
    if type_ == "kubernetes.io/dockercfg":
        doc, key = doc["auths"], ".dockercfg"
    return {"metadata": {"name": name, "namespace": "default"}, "type": type_,
            "data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}}


def test_private_registry_needs_the_right_secret(world: Any) -> None:
    m = _manager(world)
    res, _ = _ensure(m, _pod(image="priv.test/app:1"))
    assert res.reason == "ErrImagePull" and "unauthorized: authentication required" in res.message
    res, _ = _ensure(m, _pod(uid="u-wrong", image="priv.test/app:1"), [_secret("bad", "user", "nope")])
    assert res.reason == "ErrImagePull"
    assert world[1].creds_seen[-1] == ("priv.test/app:1", "user")    # no anonymous retry after a match
    res, _ = _ensure(m, _pod(uid="u-ok", image="priv.test/app:1"),
                     [_secret("bad", "user", "nope"), _secret("good", "user", "password", "kubernetes.io/dockercfg")])
    assert res.ok


def test_node_credentials_file(world: Any, tmp_path: Path) -> None:
    f = tmp_path / "config.json"
    f.write_text(json.dumps({"auths": {"priv.test": {"username": "user", "password": "password"}}}))
    m = _manager(world, node=NodeCredentials(f))
    assert _ensure(m, _pod(image="priv.test/app:1"))[0].ok


def test_missing_pull_secrets_event(world: Any) -> None:
    m = _manager(world)
    pod = _pod(secrets=["gone", "also-gone"])
    got: list[tuple[str, ImageEvent]] = []
    res = asyncio.run(ensure_images(m, pod, ["c"], lambda n: pod["spec"]["containers"][0], lambda ns, n: None,
                                    lambda n, ev: got.append((n, ev))))
    assert res["c"].ok
    assert got[0] == ("c", ImageEvent("Warning", "FailedToRetrieveImagePullSecret",
                                      "Unable to retrieve some image pull secrets (gone, also-gone); attempting "
                                      "to pull the image may not succeed."))


class Gate:
    """A pull function that blocks until released and records overlaps."""

    def __init__(self, store: ImageStore, reg: FakeRegistry) -> None:
        self.puller = Puller(store, reg, lambda: CONF, Platform("linux", "amd64"))
        self.release = threading.Event()
        self.reg = reg
        reg.gate = self.release

    def __call__(self, ref: str, creds: Sequence[Credential], cancel: threading.Event) -> PullResult:
        return self.puller.pull(ref, creds, cancel=cancel)


async def _many(m: ImageManager, pods: list[dict[str, Any]], gate: Gate, wait_started: int) -> list[Any]:
    tasks = [asyncio.create_task(m.ensure_image(p, p["spec"]["containers"][0], [], lambda e: None)) for p in pods]
    for _ in range(wait_started):
        await asyncio.to_thread(gate.reg.started.acquire)
    await asyncio.sleep(0.2)   # anything else that could start would have started now
    active = gate.reg.active
    gate.release.set()
    results = await asyncio.gather(*tasks)
    return [active, results]


def test_five_pods_same_new_image_one_download(world: Any) -> None:
    store, reg, clock = world
    gate = Gate(store, reg)
    m = ImageManager(store, gate, clock=clock)
    pods = [_pod(uid=f"u{i}") for i in range(5)]
    active, results = asyncio.run(_many(m, pods, gate, 1))
    assert all(r.ok for r in results) and len(reg.copies) == 1 and m.pulls_started == 1
    assert len({r.image_ref for r in results}) == 1


def test_serialized_by_default_parallel_when_asked(world: Any) -> None:
    store, reg, clock = world
    for i in range(3):
        reg.put_image(f"reg.test/library/img{i}:1", [layer_tar({f"f{i}": b"x"})])
    pods = [_pod(uid=f"u{i}", image=f"img{i}:1") for i in range(3)]
    gate = Gate(store, reg)
    active, results = asyncio.run(_many(ImageManager(store, gate, clock=clock), pods, gate, 1))
    assert active == 1 and reg.max_active == 1 and all(r.ok for r in results)
    for i in range(3):
        store.remove(f"img{i}:1")
    reg.max_active = 0
    gate = Gate(store, reg)
    m = ImageManager(store, gate, clock=clock, serialize=False, max_parallel=2)
    active, results = asyncio.run(_many(m, pods, gate, 2))
    assert active == 2 and reg.max_active == 2 and all(r.ok for r in results)


def test_waiting_time_is_in_the_pulled_message(world: Any) -> None:
    store, reg, clock = world
    reg.put_image("reg.test/library/other:1", [layer_tar({"o": b"1"})])
    gate = Gate(store, reg)
    mono = [0.0]
    m = ImageManager(store, gate, clock=clock, monotonic=lambda: mono[0])

    async def run() -> list[str]:
        msgs: list[list[ImageEvent]] = [[], []]
        p1, p2 = _pod(uid="a"), _pod(uid="b", image="other:1")
        t1 = asyncio.create_task(m.ensure_image(p1, p1["spec"]["containers"][0], [], msgs[0].append))
        t2 = asyncio.create_task(m.ensure_image(p2, p2["spec"]["containers"][0], [], msgs[1].append))
        await asyncio.to_thread(reg.started.acquire)
        mono[0] = 2.0
        gate.release.set()
        await asyncio.gather(t1, t2)
        return [ev[-1].message for ev in msgs]

    msgs = asyncio.run(run())
    # whichever got the (serial) puller first took 2 s; the other waited those 2 s and then pulled at once
    assert sorted(" in 2s (2s including waiting)" in m for m in msgs) == [False, True]
    assert sorted(" in 0s (2s including waiting)" in m for m in msgs) == [False, True]


def test_image_options_validate_like_the_kubelet() -> None:
    assert image_options({})["image_gc_high_threshold"] == 85
    assert image_options({"max_parallel_image_pulls": 3})["serialize_image_pulls"] is False
    assert image_options({"image_minimum_gc_age": "5m"})["image_minimum_gc_age"] == 300
    with pytest.raises(ValueError, match="must be 1 or nil when serializeImagePulls"):
        image_options({"max_parallel_image_pulls": 3, "serialize_image_pulls": "true"})
    with pytest.raises(ValueError, match="must be less than imageGCHighThresholdPercent"):
        image_options({"image_gc_high_threshold": 50, "image_gc_low_threshold": 60})
    with pytest.raises(ValueError, match="must be between 0 and 100"):
        image_options({"image_gc_high_threshold": 101})


def test_pull_errors_from_the_transport_are_reported(world: Any) -> None:
    store, reg, clock = world

    def broken(ref: str, creds: Sequence[Credential], cancel: threading.Event) -> PullResult:
        raise PullError("pull cancelled: no progress for 300s")

    res, ev = _ensure(ImageManager(store, broken, clock=clock), _pod())
    assert res.reason == "ErrImagePull" and res.message == "pull cancelled: no progress for 300s"


def test_a_pull_nobody_waits_for_any_more_is_stopped(world: Any) -> None:
    store, reg, clock = world
    gate = Gate(store, reg)
    m = ImageManager(store, gate, clock=clock)

    async def run() -> Any:
        pod = _pod()
        t = asyncio.create_task(m.ensure_image(pod, pod["spec"]["containers"][0], [], lambda e: None))
        await asyncio.to_thread(reg.started.acquire)
        t.cancel()                                   # the pod was deleted while its image was pulling
        with pytest.raises(asyncio.CancelledError):
            await t
        for _ in range(100):
            if not m.pulling():
                break
            await asyncio.sleep(0.02)
        return m.pulling()

    assert asyncio.run(run()) == set()               # the fake saw the cancel event and gave up
    assert store.list() == []
