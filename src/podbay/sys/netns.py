"""A TCP connection made inside a pinned network namespace (what CRI runtimes do for port-forward).

setns(CLONE_NEWNET) changes the namespace of the calling thread only, and a socket keeps the
namespace it was created in. So a short-lived dedicated thread enters the pod's namespace, connects
to localhost:PORT and exits; the connected socket is handed back to the caller's event loop. The
thread is never reused (a pool thread left in the wrong namespace would poison later work), and no
helper process is left behind.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _connect_here(port: int, timeout: float) -> socket.socket:
    """localhost:port, IPv4 first then IPv6 (a server bound to ::1 only is still found)."""
    last: OSError | None = None
    for family, addr in ((socket.AF_INET, ("127.0.0.1", port)), (socket.AF_INET6, ("::1", port))):
        s = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.settimeout(timeout)
        try:
            s.connect(addr)
        except OSError as exc:
            s.close()
            last = exc
            if exc.errno in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL, errno.ENETUNREACH, errno.EAFNOSUPPORT):
                continue
            raise
        s.settimeout(None)
        return s
    assert last is not None
    raise last


def connect_in_netns(netns_path: str, port: int, timeout: float = 10.0) -> socket.socket:
    """Blocking: a socket connected to localhost:port inside the namespace pinned at netns_path."""
    result: list[socket.socket] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            result.append(_connect_here(port, timeout))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            error.append(exc)
        # The thread ends here, in the pod's namespace: nothing else ever runs on it.

    t = threading.Thread(target=work, name=f"netns-dial-{port}", daemon=True)
    t.start()
    t.join(timeout + 5)
    if error:
        raise error[0]
    if not result:
        raise TimeoutError(f"timed out connecting to localhost:{port}")
    return result[0]
