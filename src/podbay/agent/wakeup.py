"""A one-waiter wake-up: ``trigger()`` or a deadline, whichever comes first.

The select of the kubelet's probe ``worker.run`` (ticker or manual trigger). One future and one
clock timer per wait, instead of a sleep task, an ``Event.wait`` task and ``asyncio.wait`` around
them: a prober with 100 workers waits 100 times a second.
"""

from __future__ import annotations

import asyncio

from podbay.ports import Clock


class Wakeup:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._pending = False                        # triggered while nobody waited
        self._waiter: asyncio.Future[bool] | None = None

    def trigger(self) -> None:
        w = self._waiter
        if w is None:
            self._pending = True
        elif not w.done():
            w.set_result(True)
        # else: the wait is over and its waiter about to run the probe anyway: one probe, as a set Event

    async def wait(self, seconds: float) -> bool:
        """True when triggered (also before the wait began), False when ``seconds`` passed."""
        if self._pending:
            self._pending = False
            return True
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiter = fut

        def expire() -> None:
            if not fut.done():
                fut.set_result(False)

        timer = self._clock.call_later(seconds, expire)
        try:
            return await fut
        finally:
            timer.cancel()
            self._waiter = None
