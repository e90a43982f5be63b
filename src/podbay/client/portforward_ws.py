"""``port-forward`` over the Kubernetes WebSocket stream protocol (``v4.channel.k8s.io``, what the
Python client speaks): one WebSocket per forwarded connection, ``?ports=P``; channel 0 carries data,
channel 1 errors, each opened by a frame holding the port (2 bytes, little endian), as the
kubelet's ``wsstream`` port forwarding frames them. Local listeners are plain sockets in threads.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from podbay.client.http import AgentUnreachable, ApiError

PROTOCOLS = ["v4.channel.k8s.io"]
DATA, ERROR = 0, 1
CHUNK = 32 * 1024


def _connect(socket_path: str, url: str) -> Any:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import unix_connect

    kwargs: dict[str, Any] = {"subprotocols": PROTOCOLS, "compression": None, "ping_interval": None,
                              "max_size": None}
    try:
        try:  # websockets >= 17.1 wants legacy=True to connect without a context manager
            return unix_connect(socket_path, url, legacy=True, **kwargs)
        except TypeError:
            return unix_connect(socket_path, url, **kwargs)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        raise AgentUnreachable(socket_path, "is it running? (start it with: podbay agent)") from e
    except PermissionError as e:
        raise AgentUnreachable(socket_path, "permission denied (are you root?)") from e
    except InvalidStatus as e:
        from podbay.client.http import status_from_body

        resp = e.response
        raise ApiError(status_from_body(resp.status_code, resp.reason_phrase, bytes(resp.body or b""))) from e


def forward_connection(socket_path: str, path: str, port: int, local: socket.socket,
                       on_error: Callable[[str], None]) -> None:
    """Carry one accepted local connection to ``port`` in the pod until either side closes."""
    from websockets.exceptions import ConnectionClosed

    try:
        ws = _connect(socket_path, f"ws://localhost{path}?ports={port}")
    except (ApiError, AgentUnreachable) as e:
        on_error(str(e.message if isinstance(e, ApiError) else e))
        local.close()
        return
    seen = {DATA: False, ERROR: False}

    def upload() -> None:
        try:
            while True:
                data = local.recv(CHUNK)
                if not data:
                    break
                ws.send(bytes([DATA]) + data)
        except (OSError, ConnectionClosed):
            pass
        finally:
            ws.close()   # the stream protocol has no half-close: the connection is over

    up = threading.Thread(target=upload, name=f"portforward-up-{port}", daemon=True)
    up.start()
    try:
        while True:
            try:
                msg = ws.recv()
            except ConnectionClosed:
                break
            if isinstance(msg, str):
                msg = msg.encode()
            if not msg:
                continue
            channel, payload = msg[0], msg[1:]
            if channel in seen and not seen[channel]:
                seen[channel] = True   # the opening frame: the port number
                payload = payload[2:]
            if not payload:
                continue
            if channel == DATA:
                local.sendall(payload)
            elif channel == ERROR:
                on_error(payload.decode("utf-8", "replace"))
    except OSError:
        pass
    finally:
        ws.close()
        try:
            local.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        local.close()
        up.join(timeout=5)


class Listener:
    """One local address:port forwarded to ``remote`` in the pod (kubectl's per-port listener)."""

    def __init__(self, socket_path: str, path: str, address: str, local_port: int, remote: int,
                 on_connection: Callable[[int], None], on_error: Callable[[str], None]) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind((address, local_port))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.address = address
        self.socket_path = socket_path
        self.path = path
        self.remote = remote
        self.on_connection = on_connection
        self.on_error = on_error

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.on_connection(self.port)
            threading.Thread(target=forward_connection, args=(self.socket_path, self.path, self.remote, conn,
                                                              self.on_error),
                             name=f"portforward-{self.port}", daemon=True).start()

    def close(self) -> None:
        self.sock.close()
