"""sys.heap.trim returns freed heap memory to the kernel."""

from __future__ import annotations

from podbay.sys import heap


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def test_trim_gives_freed_memory_back() -> None:
    blocks = [bytearray(1024) for _ in range(100_000)]   # ~100 MiB of small malloc'd blocks
    keep = blocks[::1000]                                 # a few survivors stop free() from shrinking the heap
    del blocks
    before = _rss()
    assert heap.trim()
    assert _rss() < before - 50 * 1024 * 1024
    assert len(keep) == 100
