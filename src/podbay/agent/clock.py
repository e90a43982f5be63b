"""The real Clock port: wall time for timestamps, monotonic time for intervals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from podbay.ports import Timer


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, seconds), fn)
