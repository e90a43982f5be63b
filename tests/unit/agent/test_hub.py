"""Watch fan-out per kind: ordering, kind isolation, replay since a resourceVersion, 410 Gone once the
history dropped events, a history bounded in events and in bytes, thread-safe publishing."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from podbay.agent.hub import Event, Hub


def ev(kind: str, name: str, rv: int, type_: str = "MODIFIED", size: int = 0) -> Event:
    obj: dict[str, Any] = {"kind": kind, "metadata": {"name": name, "namespace": "default",
                                                      "resourceVersion": str(rv)}}
    if size:
        obj["data"] = {"x": "y" * size}
    return Event(type_, kind, rv, "default", name, json.dumps(obj).encode(), obj=obj)


async def test_subscribers_get_events_of_their_kind_in_publish_order() -> None:
    hub = Hub()
    hub.attach(asyncio.get_running_loop())
    q1, q2 = hub.subscribe("Pod"), hub.subscribe("Pod")
    hub.publish(ev("Pod", "a", 1, "ADDED"))
    hub.publish(ev("Pod", "a", 2))
    hub.publish(ev("Pod", "a", 3, "DELETED"))
    for q in (q1, q2):
        got = [await asyncio.wait_for(q.queue.get(), 1) for _ in range(3)]
        assert [(e.type, e.kind, e.rv) for e in got] == [("ADDED", "Pod", 1), ("MODIFIED", "Pod", 2),
                                                         ("DELETED", "Pod", 3)]
        assert q.queue.empty()


async def test_a_secret_never_reaches_a_pod_subscriber() -> None:
    """REVIEW D1: the old hub fanned every kind out to every watcher, Secrets and their data included."""
    hub = Hub()
    pods, secrets = hub.subscribe("Pod"), hub.subscribe("Secret")
    hub.publish(ev("Secret", "db", 1, "ADDED"))
    hub.publish(ev("Pod", "web", 2, "ADDED"))
    assert [e.kind for e in [pods.queue.get_nowait()]] == ["Pod"] and pods.queue.empty()
    assert secrets.queue.get_nowait().name == "db" and secrets.queue.empty()
    assert [e.rv for e in hub.since("Pod", 0) or []] == [2]


def test_unsubscribed_queue_gets_nothing() -> None:
    hub = Hub()
    q = hub.subscribe("Pod")
    hub.unsubscribe(q)
    hub.unsubscribe(q)  # idempotent
    hub.publish(ev("Pod", "a", 1))
    assert q.queue.empty()


def test_history_keeps_no_parsed_objects() -> None:
    hub = Hub()
    hub.publish(ev("Pod", "a", 1))
    replay = hub.since("Pod", 0)
    assert replay is not None and replay[0].obj is None and json.loads(replay[0].raw)["metadata"]["name"] == "a"


def test_since_replays_newer_events_of_the_kind() -> None:
    hub = Hub()
    for rv in range(1, 6):
        hub.publish(ev("Pod" if rv % 2 else "ConfigMap", "a", rv))
    pods = hub.since("Pod", 2)
    assert pods is not None and [e.rv for e in pods] == [3, 5]
    cms = hub.since("ConfigMap", 0)
    assert cms is not None and [e.rv for e in cms] == [2, 4]
    assert hub.since("Pod", 5) == [] and hub.since("Pod", 99) == []


def test_since_is_gone_once_the_history_dropped_unseen_events() -> None:
    hub = Hub(max_events=3)
    for rv in range(1, 6):     # keeps 3, 4, 5; 1 and 2 were dropped
        hub.publish(ev("Pod", "a", rv))
    assert hub.since("Pod", 0) is None
    assert hub.since("Pod", 1) is None       # missed rv 2
    replay = hub.since("Pod", 2)              # saw 2: 3..5 are still there
    assert replay is not None and [e.rv for e in replay] == [3, 4, 5]
    assert hub.floor("Pod") == 2
    assert hub.since("Secret", 0) == []       # another kind's history is its own


def test_history_is_bounded_in_bytes() -> None:
    hub = Hub(max_events=1000, max_bytes=50_000)
    for rv in range(1, 101):
        hub.publish(ev("Pod", "a", rv, size=2000))
    assert hub.history_bytes() <= 50_000
    kept = hub.since("Pod", hub.floor("Pod"))
    assert kept is not None and 10 <= len(kept) < 25 and kept[-1].rv == 100
    assert hub.since("Pod", 50) is None


def test_since_before_the_hub_started_is_gone() -> None:
    # After an agent restart the history is empty: a client resuming from an old rv cannot be served.
    hub = Hub(start_rv=100)
    assert hub.since("Pod", 50) is None
    assert hub.since("Pod", 100) == []
    hub.publish(ev("Pod", "a", 101, "ADDED"))
    replay = hub.since("Pod", 100)
    assert replay is not None and [e.rv for e in replay] == [101]


async def test_publishing_from_a_thread_is_delivered_on_the_loop_in_order() -> None:
    hub = Hub()
    hub.attach(asyncio.get_running_loop())
    sub = hub.subscribe("Pod")
    seen: list[int] = []
    hub.add_listener("Pod", lambda e: seen.append(e.rv))

    def writer() -> None:
        for rv in range(1, 51):
            hub.publish(ev("Pod", "a", rv))

    t = threading.Thread(target=writer)
    t.start()
    await asyncio.to_thread(t.join)
    hub.publish(ev("Pod", "a", 51))   # an on-loop publish flushes what the thread queued first
    got = [await asyncio.wait_for(sub.queue.get(), 1) for _ in range(51)]
    assert [e.rv for e in got] == list(range(1, 52))
    await asyncio.sleep(0)
    assert seen == list(range(1, 52))
    assert hub.flushed_rv() == 51


def test_a_failing_listener_does_not_stop_delivery() -> None:
    hub = Hub()
    sub = hub.subscribe("Pod")
    hub.add_listener("Pod", lambda e: 1 / 0)   # type: ignore[func-returns-value]
    hub.publish(ev("Pod", "a", 1))
    assert sub.queue.get_nowait().rv == 1


def test_a_subscriber_too_far_behind_is_marked_overflowed() -> None:
    from podbay.agent import hub as hubmod

    hub = Hub()
    sub = hub.subscribe("Pod")
    for rv in range(1, hubmod.MAX_QUEUE + 5):
        hub.publish(ev("Pod", "a", rv))
    assert sub.overflowed and sub.queue.qsize() == hubmod.MAX_QUEUE
