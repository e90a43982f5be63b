"""``podbay image pull`` progress: one bar per layer (bytes, rate, ETA) on a terminal, plain lines otherwise.

Fed with (layers, finished blobs, bytes of blobs in flight) snapshots; the in-flight bytes are given
to the unfinished layers in manifest order (skopeo starts its downloads in that order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

_UNITS = ("B", "kB", "MB", "GB", "TB")


def size(n: float) -> str:
    unit = 0
    while n >= 1000 and unit < len(_UNITS) - 1:
        n /= 1000
        unit += 1
    return f"{n:.3g} {_UNITS[unit]}" if unit else f"{int(n)} B"


def eta(seconds: float) -> str:
    s = int(seconds + 0.999)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class LayerState:
    def __init__(self, digest: str, total: int) -> None:
        self.digest = digest
        self.total = total
        self.done = 0
        self.finished = False
        self.started: float | None = None
        self.ended: float | None = None

    def rate(self, now: float) -> float:
        if self.started is None:
            return 0.0
        elapsed = (self.ended or now) - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


class PullProgress:
    """Renders snapshots to ``write`` (a terminal if ``tty``)."""

    def __init__(self, write: Callable[[str], None], tty: bool, width: int = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write = write
        self.tty = tty
        self.width = width
        self.clock = clock
        self.layers: list[LayerState] = []
        self._drawn = 0
        self._said: set[tuple[str, str]] = set()

    def begin(self, layers: Sequence[tuple[str, int]]) -> None:
        self.layers = [LayerState(d, n) for d, n in layers]

    def update(self, finished: dict[str, int], partial: Sequence[int]) -> None:
        now = self.clock()
        pending = iter(partial)
        for layer in self.layers:
            if layer.finished:
                continue
            if layer.digest in finished:
                layer.done, layer.finished, layer.ended = finished[layer.digest], True, now
                if layer.started is None:
                    layer.started = now
                continue
            got = next(pending, None)
            if got is not None:
                if layer.started is None:
                    layer.started = now
                layer.done = min(got, layer.total) if layer.total else got
        self._render(now)

    def _line(self, layer: LayerState, now: float) -> str:
        short = layer.digest.removeprefix("sha256:")[:12]
        if layer.finished:
            return f"Copying blob {short} {size(layer.total or layer.done):>9} done"
        if layer.started is None:
            return f"Copying blob {short} {'':>9} waiting"
        frac = layer.done / layer.total if layer.total else 0.0
        fill = int(frac * self.width)
        bar = "=" * fill + (">" if fill < self.width else "") + " " * max(self.width - fill - 1, 0)
        rate = layer.rate(now)
        left = eta((layer.total - layer.done) / rate) if rate > 0 and layer.total else "--"
        return (f"Copying blob {short} [{bar}] {size(layer.done)} / {size(layer.total)} "
                f"{size(rate)}/s ETA {left}")

    def _render(self, now: float) -> None:
        if self.tty:
            out = "\x1b[1A\x1b[2K" * self._drawn
            out += "".join(self._line(layer, now) + "\n" for layer in self.layers)
            self._drawn = len(self.layers)
            self.write(out)
            return
        for layer in self.layers:   # plain: a line when a layer starts and one when it is done
            short = layer.digest.removeprefix("sha256:")[:12]
            if layer.started is not None and (layer.digest, "start") not in self._said:
                self._said.add((layer.digest, "start"))
                self.write(f"Copying blob {short} ({size(layer.total)})\n")
            if layer.finished and (layer.digest, "done") not in self._said:
                self._said.add((layer.digest, "done"))
                took = (layer.ended or now) - (layer.started or now)
                speed = f" in {took:.2f}s ({size(layer.rate(now))}/s)" if took >= 0.01 else ""
                self.write(f"Copying blob {short} done: {size(layer.total or layer.done)}{speed}\n")
