"""A small HTTP/1.1 JSON client for the agent's Unix socket (stdlib only, so the CLI starts fast)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

QueryValue = str | int | bool | Sequence[str]
Query = Mapping[str, QueryValue | None]

DEFAULT_TIMEOUT = 60.0


class ApiError(Exception):
    """A non-2xx answer; ``status`` is the Kubernetes Status object."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        super().__init__(self.message)

    @property
    def code(self) -> int:
        return int(self.status.get("code") or 0)

    @property
    def reason(self) -> str:
        return str(self.status.get("reason") or "")

    @property
    def message(self) -> str:
        return str(self.status.get("message") or "")


class AgentUnreachable(Exception):
    """Nothing listens on the socket (missing file, connection refused, permission denied)."""

    def __init__(self, socket_path: str, cause: str = "") -> None:
        self.socket_path = socket_path
        self.cause = cause
        super().__init__(f"cannot reach the podbay agent at {socket_path}: {cause}")


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTPConnection whose transport is a Unix stream socket."""

    def __init__(self, socket_path: str, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def encode_query(query: Query | None) -> str:
    """``{"command": ["a", "b"], "follow": True}`` -> ``command=a&command=b&follow=true``."""
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(v)) for v in value)
    return urlencode(pairs, quote_via=quote)


def status_from_body(code: int, reason: str, body: bytes) -> dict[str, Any]:
    """The Status object of an error answer; synthesized when the body is not one."""
    try:
        obj = json.loads(body)
        if isinstance(obj, dict) and obj.get("kind") == "Status":
            obj.setdefault("code", code)
            return obj
    except ValueError:
        pass
    text = body.decode("utf-8", "replace").strip()
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": text or f"the server responded with the status code {code} but did not return more information",
        "reason": reason.replace(" ", "") if code != 500 else "InternalError",
        "code": code,
    }


class ApiClient:
    """Kubernetes-style REST calls against the agent socket."""

    def __init__(self, socket_path: str, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    # -- plumbing ---------------------------------------------------------------------------------
    def open(
        self, method: str, path: str, query: Query | None = None, body: Any = None, timeout: float | None = None
    ) -> tuple[UnixHTTPConnection, http.client.HTTPResponse]:
        """Send one request; the caller reads and closes the returned connection. Raises ApiError on non-2xx."""
        conn = UnixHTTPConnection(self.socket_path, timeout=self.timeout if timeout is None else timeout)
        qs = encode_query(query)
        url = path + ("?" + qs if qs else "")
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, url, body=data, headers=headers)
            resp = conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError) as e:
            conn.close()
            raise AgentUnreachable(self.socket_path, "is it running? (start it with: podbay agent)") from e
        except PermissionError as e:
            conn.close()
            raise AgentUnreachable(self.socket_path, "permission denied (are you root?)") from e
        except OSError:
            conn.close()
            raise
        if not 200 <= resp.status < 300:
            raw = resp.read()
            conn.close()
            raise ApiError(status_from_body(resp.status, resp.reason, raw))
        return conn, resp

    def request(self, method: str, path: str, query: Query | None = None, body: Any = None) -> dict[str, Any]:
        conn, resp = self.open(method, path, query, body)
        try:
            raw = resp.read()
        finally:
            conn.close()
        if not raw:
            return {}
        obj = json.loads(raw)
        return obj if isinstance(obj, dict) else {"items": obj}

    # -- verbs ------------------------------------------------------------------------------------
    def get(self, path: str, query: Query | None = None) -> dict[str, Any]:
        return self.request("GET", path, query)

    def post(self, path: str, body: Any, query: Query | None = None) -> dict[str, Any]:
        return self.request("POST", path, query, body)

    def put(self, path: str, body: Any, query: Query | None = None) -> dict[str, Any]:
        return self.request("PUT", path, query, body)

    def delete(self, path: str, query: Query | None = None, body: Any = None) -> dict[str, Any]:
        return self.request("DELETE", path, query, body)

    def stream_lines(self, path: str, query: Query | None = None, deadline: float | None = None) -> Iterator[bytes]:
        """Yield the lines of a streamed (chunked) answer; ``deadline`` (time.monotonic) raises TimeoutError."""
        conn, resp = self.open("GET", path, query, timeout=None)
        try:
            while True:
                if deadline is not None and conn.sock is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("deadline exceeded")
                    conn.sock.settimeout(left)
                line = resp.readline()
                if not line:
                    return
                yield line
        finally:
            conn.close()

    def stream_chunks(self, path: str, query: Query | None = None) -> Iterator[bytes]:
        """Yield raw bytes as they arrive (logs -f)."""
        conn, resp = self.open("GET", path, query, timeout=None)
        try:
            while True:
                data = resp.read1(65536)
                if not data:
                    return
                yield data
        finally:
            conn.close()

    def watch(
        self, path: str, query: Query | None = None, deadline: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Watch events ``{"type", "object"}`` of a list path."""
        q: dict[str, QueryValue | None] = dict(query or {})
        q["watch"] = True
        for line in self.stream_lines(path, q, deadline):
            line = line.strip()
            if line:
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


def pods_path(namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    """``/api/v1/namespaces/{ns}/pods[/{name}[/{sub}]]``; no namespace = all namespaces."""
    base = "/api/v1/pods" if namespace is None else f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"
    if name is not None:
        base += "/" + quote(name, safe="")
        if sub:
            base += "/" + sub
    return base
