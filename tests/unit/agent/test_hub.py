"""Watch fan-out: ordering per subscriber, replay since a resourceVersion, 410 Gone once the ring overflowed."""

from __future__ import annotations

import asyncio
from typing import Any

from podbay.agent.hub import Event, Hub


def pod(name: str, rv: int, phase: str = "Pending") -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)},
            "status": {"phase": phase}}


def everything(_: Event) -> bool:
    return True


async def test_subscribers_get_events_in_publish_order() -> None:
    hub = Hub()
    q1, q2 = hub.subscribe(), hub.subscribe()
    hub.publish("ADDED", pod("a", 1))
    hub.publish("MODIFIED", pod("a", 2))
    hub.publish("DELETED", pod("a", 3))
    for q in (q1, q2):
        got = [await asyncio.wait_for(q.get(), 1) for _ in range(3)]
        assert [(e.type, e.kind, e.rv) for e in got] == [("ADDED", "Pod", 1), ("MODIFIED", "Pod", 2),
                                                         ("DELETED", "Pod", 3)]
        assert q.empty()


async def test_unsubscribed_queue_gets_nothing() -> None:
    hub = Hub()
    q = hub.subscribe()
    hub.unsubscribe(q)
    hub.unsubscribe(q)  # idempotent
    hub.publish("ADDED", pod("a", 1))
    assert q.empty()


def test_published_object_is_a_snapshot() -> None:
    hub = Hub()
    obj = pod("a", 1)
    hub.publish("ADDED", obj)
    obj["status"]["phase"] = "Running"
    replay = hub.since(0, everything)
    assert replay is not None and replay[0].obj["status"]["phase"] == "Pending"


def test_since_replays_newer_matching_events() -> None:
    hub = Hub()
    for rv in range(1, 6):
        hub.publish("MODIFIED", pod("a" if rv % 2 else "b", rv))
    replay = hub.since(2, everything)
    assert replay is not None and [e.rv for e in replay] == [3, 4, 5]
    only_b = hub.since(0, lambda e: e.obj["metadata"]["name"] == "b")
    assert only_b is not None and [e.rv for e in only_b] == [2, 4]
    assert hub.since(5, everything) == []
    assert hub.since(99, everything) == []


def test_since_is_gone_once_the_ring_dropped_unseen_events() -> None:
    hub = Hub(ring=3)
    for rv in range(1, 6):     # ring keeps 3, 4, 5; 1 and 2 were dropped
        hub.publish("MODIFIED", pod("a", rv))
    assert hub.since(0, everything) is None
    assert hub.since(1, everything) is None       # missed rv 2
    replay = hub.since(2, everything)              # saw 2: 3..5 are still there
    assert replay is not None and [e.rv for e in replay] == [3, 4, 5]


def test_since_is_gone_with_gaps_in_resource_versions() -> None:
    hub = Hub(ring=2)
    for rv in (10, 20, 30):    # 10 dropped; other objects' writes took the rvs in between
        hub.publish("MODIFIED", pod("a", rv))
    assert hub.since(9, everything) is None
    replay = hub.since(10, everything)
    assert replay is not None and [e.rv for e in replay] == [20, 30]
    assert hub.since(25, everything) is not None


def test_since_before_the_hub_started_is_gone() -> None:
    # After an agent restart the ring is empty: a client resuming from an old rv cannot be served.
    hub = Hub(start_rv=100)
    assert hub.since(50, everything) is None
    assert hub.since(100, everything) == []
    hub.publish("ADDED", pod("a", 101))
    replay = hub.since(100, everything)
    assert replay is not None and [e.rv for e in replay] == [101]
