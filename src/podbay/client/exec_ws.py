"""``exec`` over the Kubernetes WebSocket channel protocol (v5.channel.k8s.io, v4 fallback).

Binary frames are one channel byte + payload: 0 stdin, 1 stdout, 2 stderr, 3 status JSON, 4 resize.
v5 adds a CLOSE frame ``[255, 0]`` telling the server stdin reached EOF. ``websockets`` is imported
here only, and this module only by the exec verb.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from podbay.client.http import AgentUnreachable, ApiError, Query, encode_query

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]


def exit_code_from_status(status: dict[str, Any]) -> int:
    """Status on channel 3 -> exit code; raises ApiError for failures that are not an exit code."""
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "1"))
            except ValueError:
                return 1
    status.setdefault("reason", "InternalError")
    raise ApiError(status)


def terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return 80, 24


def resize_frame(width: int, height: int) -> bytes:
    return bytes([RESIZE]) + json.dumps({"Width": width, "Height": height}).encode()


class ExecSession:
    """One exec: pumps stdin to the server and channels 1/2 to local outputs; returns the exit code."""

    def __init__(
        self,
        socket_path: str,
        path: str,
        query: Query,
        *,
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
        tty: bool = False,
    ) -> None:
        self.socket_path = socket_path
        self.url = "ws://localhost" + path + "?" + encode_query(query)
        self.stdin = stdin
        self.stdout = stdout or sys.stdout.buffer
        self.stderr = stderr or sys.stderr.buffer
        self.tty = tty
        self._conn: Any = None
        self._protocol = ""

    def connect(self) -> None:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import unix_connect

        kwargs: dict[str, Any] = {
            "subprotocols": PROTOCOLS, "compression": None, "ping_interval": None, "max_size": None,
        }
        try:
            try:  # websockets >= 17.1 wants legacy=True to connect without a context manager
                self._conn = unix_connect(self.socket_path, self.url, legacy=True, **kwargs)
            except TypeError:
                self._conn = unix_connect(self.socket_path, self.url, **kwargs)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise AgentUnreachable(self.socket_path, "is it running? (start it with: podbay agent)") from e
        except PermissionError as e:
            raise AgentUnreachable(self.socket_path, "permission denied (are you root?)") from e
        except InvalidStatus as e:
            from podbay.client.http import status_from_body

            resp = e.response
            raise ApiError(status_from_body(resp.status_code, resp.reason_phrase, bytes(resp.body or b""))) from e
        self._protocol = str(self._conn.subprotocol or "")

    def send_resize(self, width: int, height: int) -> None:
        self._conn.send(resize_frame(width, height))

    def _pump_stdin(self) -> None:
        assert self.stdin is not None
        fd = self.stdin.fileno() if hasattr(self.stdin, "fileno") else None
        try:
            while True:
                data = os.read(fd, 32768) if fd is not None else self.stdin.read(32768)
                if not data:
                    break
                self._conn.send(bytes([STDIN]) + data)
            if self._protocol.startswith("v5"):
                self._conn.send(bytes([CLOSE, STDIN]))
        except Exception:  # noqa: BLE001 - the connection closed under us: the reader reports the outcome
            return

    def run(self, on_started: Callable[[ExecSession], None] | None = None) -> int:
        """Run to completion; ``on_started`` runs once connected (e.g. to send the first resize)."""
        from websockets.exceptions import ConnectionClosed

        if self._conn is None:
            self.connect()
        if on_started is not None:
            on_started(self)
        if self.stdin is not None:
            threading.Thread(target=self._pump_stdin, name="exec-stdin", daemon=True).start()
        code: int | None = None
        try:
            while True:
                try:
                    msg = self._conn.recv()
                except ConnectionClosed:
                    break
                if isinstance(msg, str):
                    msg = msg.encode()
                if not msg:
                    continue
                channel, payload = msg[0], msg[1:]
                if channel == STDOUT:
                    self.stdout.write(payload)
                    self.stdout.flush()
                elif channel == STDERR:
                    self.stderr.write(payload)
                    self.stderr.flush()
                elif channel == ERROR and payload:
                    code = exit_code_from_status(json.loads(payload))
        finally:
            self._conn.close()
        if code is None:
            raise ApiError(
                {"kind": "Status", "status": "Failure", "reason": "InternalError", "code": 500,
                 "message": "the exec stream closed without an exit status"}
            )
        return code


def run_exec(socket_path: str, path: str, query: Query, *, stdin: bool, tty: bool) -> int:
    """Exec with the local terminal: -i forwards stdin, -t sets raw mode and forwards resizes."""
    session = ExecSession(socket_path, path, query, stdin=sys.stdin.buffer if stdin else None, tty=tty)
    session.connect()
    if not (tty and sys.stdin.isatty()):
        return session.run()

    import signal
    import termios
    import tty as ttymod

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def on_winch(_sig: int, _frame: Any) -> None:
        try:
            session.send_resize(*terminal_size(fd))
        except Exception:  # noqa: BLE001 - resizing is best effort
            pass

    old_handler = signal.signal(signal.SIGWINCH, on_winch)
    try:
        ttymod.setraw(fd)
        return session.run(on_started=lambda s: s.send_resize(*terminal_size(fd)))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, old_handler)
