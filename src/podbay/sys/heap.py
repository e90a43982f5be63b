"""Give freed heap memory back to the kernel (glibc ``malloc_trim``).

CPython frees into glibc's arenas (one per thread that allocated); pages freed in the middle of an
arena stay resident until trimmed, so a long-running agent's RSS creeps up by fragmentation even
when nothing is kept. Go's runtime scavenger does this for the kubelet; here housekeeping calls
``trim`` once a minute. A no-op where the C library has no ``malloc_trim`` (musl).
"""

from __future__ import annotations

from podbay.sys import libc

_libc = libc.load()
_trim = getattr(_libc, "malloc_trim", None)


def trim() -> bool:
    """True if memory was released."""
    if _trim is None:
        return False
    return bool(_trim(0))
