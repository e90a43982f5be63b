"""Wakeup: a trigger or a deadline, one future and one timer per wait (fake and real clock)."""

from __future__ import annotations

import asyncio

from podbay.agent.clock import SystemClock
from podbay.agent.wakeup import Wakeup
from podbay.testing.clock import FakeClock, settle


async def test_deadline_then_trigger_while_waiting_then_trigger_before_waiting() -> None:
    clock = FakeClock()
    w = Wakeup(clock)
    waiting = asyncio.ensure_future(w.wait(5.0))
    await clock.advance(4.9)
    assert not waiting.done()
    await clock.advance(0.2)
    assert waiting.done() and waiting.result() is False
    waiting = asyncio.ensure_future(w.wait(5.0))
    await settle()
    w.trigger()
    await settle()
    assert waiting.result() is True
    w.trigger()                           # nobody waits: remembered once
    assert await w.wait(5.0) is True
    waiting = asyncio.ensure_future(w.wait(1.0))
    await settle()
    assert not waiting.done()             # the remembered trigger was used up
    await clock.advance(1.0)
    assert waiting.result() is False


async def test_a_trigger_cancels_the_timer_and_a_cancelled_wait_leaves_nothing() -> None:
    clock = FakeClock()
    w = Wakeup(clock)
    waiting = asyncio.ensure_future(w.wait(3.0))
    await settle()
    w.trigger()
    await settle()
    assert waiting.result() is True
    assert all(f.done() for _, _, f in clock._sleepers)   # the timer was cancelled, not left to fire
    waiting = asyncio.ensure_future(w.wait(3.0))
    await settle()
    waiting.cancel()
    await settle()
    assert waiting.cancelled()
    w.trigger()                           # after a cancelled wait a trigger is remembered, not lost
    assert await w.wait(3.0) is True


async def test_system_clock_timer() -> None:
    w = Wakeup(SystemClock())
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await w.wait(0.05) is False
    assert 0.04 <= loop.time() - t0 < 1.0
    loop.call_later(0.01, w.trigger)
    assert await w.wait(5.0) is True
    assert loop.time() - t0 < 1.0


async def test_a_trigger_after_the_deadline_fired_is_not_a_second_wake() -> None:
    """Like a set Event that the waiter clears: the worker about to probe probes once, not twice."""
    clock = FakeClock()
    w = Wakeup(clock)
    waiting = asyncio.ensure_future(w.wait(1.0))
    await settle()
    assert w._waiter is not None
    w._waiter.set_result(False)   # the timer fires (as its callback does); the waiter has not run yet
    w.trigger()
    assert await waiting is False
    nxt = asyncio.ensure_future(w.wait(1.0))
    await settle()
    assert not nxt.done()
    nxt.cancel()
