"""libc through ctypes without ``ctypes.util.find_library``, which forks ``ldconfig -p`` (~5 ms at the
import of every module that needs libc, so in every CLI verb)."""

from __future__ import annotations

import ctypes
import ctypes.util  # cheap; only calling find_library forks


def load() -> ctypes.CDLL:
    """A CDLL of glibc's ``libc.so.6`` (already mapped into this process); find_library elsewhere."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:   # not glibc
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
