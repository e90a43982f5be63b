"""A Clock whose time only moves when the test says so; sleepers wake in deadline order."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable


async def settle(rounds: int = 10_000) -> None:
    """Run the event loop until no callback is ready (every task waits on something)."""
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        await asyncio.sleep(0)
        if not getattr(loop, "_ready", ()):
            await asyncio.sleep(0)
            if not getattr(loop, "_ready", ()):
                return


class FakeClock:
    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self._wall = wall
        self._mono = 1000.0
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        await fut

    def call_later(self, seconds: float, fn: Callable[[], None]) -> asyncio.Future[None]:
        """fn() once the fake time passes ``seconds`` from now; cancel() on the result drops it."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            fut.set_result(None)
        else:
            heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        fut.add_done_callback(lambda f: None if f.cancelled() else fn())
        return fut

    def _jump(self, to: float) -> None:
        if to > self._mono:
            self._wall += to - self._mono
            self._mono = to

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper whose deadline passes, in order."""
        target = self._mono + seconds
        while True:
            await settle()
            self._sleepers = [s for s in self._sleepers if not s[2].done()]
            heapq.heapify(self._sleepers)
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline = self._sleepers[0][0]
            self._jump(deadline)
            while self._sleepers and self._sleepers[0][0] <= deadline:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
        self._jump(target)
        await settle()

    async def run_until(self, predicate: object, timeout: float, step: float = 0.1) -> bool:
        """Advance in steps until predicate() is true or ``timeout`` fake seconds passed."""
        assert callable(predicate)
        waited = 0.0
        await settle()
        while not predicate():
            if waited >= timeout:
                return False
            await self.advance(step)
            waited += step
        return True
