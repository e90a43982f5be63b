"""A small HTTP/1.1 JSON client for the agent's Unix socket (stdlib only, so the CLI starts fast)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

QueryValue = str | int | bool | Sequence[str]
Query = Mapping[str, QueryValue | None]

DEFAULT_TIMEOUT = 60.0
JSON = "application/json"
# What kubectl get asks for: the server-side printed Table, else plain JSON.
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
USER_AGENT = "podbay"   # the server names the default field manager after it (managerOrUserAgent)


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


class UnixHTTPConnection:
    """One HTTP/1.1 request over a Unix stream socket.

    Hand-written instead of http.client: that module pulls in the email package (~25 ms), and the
    CLI's start-up is measured (a plain verb must stay near Python's own start-up).
    """

    def __init__(self, socket_path: str, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._fp: Any = None

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def request(self, method: str, url: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        lines = [f"{method} {url} HTTP/1.1", "Host: localhost", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))

    def getresponse(self) -> HTTPResponse:
        assert self.sock is not None
        self._fp = self.sock.makefile("rb")
        return HTTPResponse(self._fp)

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class HTTPResponse:
    """Status line, headers, and a body read by length, by chunks, or to EOF."""

    def __init__(self, fp: Any) -> None:
        self.fp = fp
        status_line = fp.readline().decode("latin-1").rstrip("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise OSError(f"bad HTTP status line from the agent: {status_line!r}")
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers: dict[str, str] = {}
        self.header_list: list[tuple[str, str]] = []   # repeated headers (Warning) kept in order
        while True:
            line = fp.readline().decode("latin-1").rstrip("\r\n")
            if not line:
                break
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
            self.header_list.append((k.strip().lower(), v.strip()))
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        self._left: int | None = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._buf = b""
        self._eof = False

    def _next_chunk(self) -> bytes:
        """Up to one chunk (chunked), or a read of at most 64 KiB."""
        if self._eof:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                size_line = self.fp.readline()
                if not size_line:
                    self._eof = True
                    return b""
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.fp.readline()
                    self._eof = True
                    return b""
                self._chunk_left = size
            data = self.fp.read1(self._chunk_left) if hasattr(self.fp, "read1") else self.fp.read(self._chunk_left)
            if not data:
                self._eof = True
                return b""
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                self.fp.readline()  # the CRLF after each chunk
            return bytes(data)
        if self._left is not None:
            if self._left <= 0:
                self._eof = True
                return b""
            data = self.fp.read1(min(self._left, 65536))
            self._left -= len(data)
        else:
            data = self.fp.read1(65536)
        if not data:
            self._eof = True
        return bytes(data)

    def read(self) -> bytes:
        out = [self._buf]
        self._buf = b""
        while chunk := self._next_chunk():
            out.append(chunk)
        return b"".join(out)

    def read1(self, n: int = 65536) -> bytes:
        if self._buf:
            data, self._buf = self._buf[:n], self._buf[n:]
            return data
        return self._next_chunk()

    def readline(self) -> bytes:
        while b"\n" not in self._buf:
            chunk = self._next_chunk()
            if not chunk:
                line, self._buf = self._buf, b""
                return line
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n"


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
        self.warnings: list[str] = []   # the Warning headers of the last answer (299 "text")

    # -- plumbing ---------------------------------------------------------------------------------
    def open(
        self, method: str, path: str, query: Query | None = None, body: Any = None, timeout: float | None = None,
        *, accept: str = JSON, content_type: str = JSON,
    ) -> tuple[UnixHTTPConnection, HTTPResponse]:
        """Send one request; the caller reads and closes the returned connection. Raises ApiError on non-2xx.

        ``body`` is JSON-encoded unless it is already ``bytes`` (a patch sent as given)."""
        conn = UnixHTTPConnection(self.socket_path, timeout=self.timeout if timeout is None else timeout)
        qs = encode_query(query)
        url = path + ("?" + qs if qs else "")
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
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
        self.warnings = [_warning_text(v) for k, v in resp.header_list if k == "warning"]
        return conn, resp

    def request(self, method: str, path: str, query: Query | None = None, body: Any = None, *,
                accept: str = JSON, content_type: str = JSON) -> dict[str, Any]:
        conn, resp = self.open(method, path, query, body, accept=accept, content_type=content_type)
        try:
            raw = resp.read()
        finally:
            conn.close()
        if not raw:
            return {}
        obj = json.loads(raw)
        return obj if isinstance(obj, dict) else {"items": obj}

    # -- verbs ------------------------------------------------------------------------------------
    def get(self, path: str, query: Query | None = None, *, accept: str = JSON) -> dict[str, Any]:
        return self.request("GET", path, query, accept=accept)

    def get_table(self, path: str, query: Query | None = None) -> dict[str, Any]:
        """The server-side printed ``meta.k8s.io/v1`` Table of an object or a collection."""
        return self.request("GET", path, query, accept=TABLE)

    def patch(self, path: str, body: bytes | dict[str, Any] | list[Any], content_type: str,
              query: Query | None = None) -> dict[str, Any]:
        return self.request("PATCH", path, query, body, content_type=content_type)

    def post(self, path: str, body: Any, query: Query | None = None) -> dict[str, Any]:
        return self.request("POST", path, query, body)

    def put(self, path: str, body: Any, query: Query | None = None) -> dict[str, Any]:
        return self.request("PUT", path, query, body)

    def delete(self, path: str, query: Query | None = None, body: Any = None) -> dict[str, Any]:
        return self.request("DELETE", path, query, body)

    def stream_lines(self, path: str, query: Query | None = None, deadline: float | None = None, *,
                     accept: str = JSON) -> Iterator[bytes]:
        """Yield the lines of a streamed (chunked) answer; ``deadline`` (time.monotonic) raises TimeoutError."""
        conn, resp = self.open("GET", path, query, timeout=None, accept=accept)
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
        self, path: str, query: Query | None = None, deadline: float | None = None, *, accept: str = JSON
    ) -> Iterator[dict[str, Any]]:
        """Watch events ``{"type", "object"}`` of a list path (``accept=TABLE``: objects are one-row Tables)."""
        q: dict[str, QueryValue | None] = dict(query or {})
        q["watch"] = True
        for line in self.stream_lines(path, q, deadline, accept=accept):
            line = line.strip()
            if line:
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


def _warning_text(value: str) -> str:
    """``299 - "text"`` (RFC 7234 warn-code, agent, quoted text) -> text, as client-go's warning handler."""
    parts = value.split(" ", 2)
    if len(parts) == 3 and parts[2].startswith('"') and parts[2].endswith('"'):
        return parts[2][1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def resource_path(group: str, version: str, plural: str, namespace: str | None, name: str | None = None,
                  sub: str | None = None) -> str:
    """``/api/v1[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]`` or ``/apis/{group}/{version}/...``;
    no namespace = cluster-scoped, or all namespaces for a collection."""
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace is not None:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{plural}"
    if name is not None:
        base += "/" + quote(name, safe="")
        if sub:
            base += "/" + sub
    return base


def objects_path(plural: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    """A core/v1 resource path (see ``resource_path``)."""
    return resource_path("", "v1", plural, namespace, name, sub)


def pods_path(namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    """``/api/v1/namespaces/{ns}/pods[/{name}[/{sub}]]``; no namespace = all namespaces."""
    return objects_path("pods", namespace, name, sub)
