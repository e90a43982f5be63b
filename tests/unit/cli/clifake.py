"""A fake agent API on a Unix socket (stdlib http.server in a thread), shared by the CLI tests."""

from __future__ import annotations

import base64
import copy
import json
import socketserver
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: int) -> str:
    return datetime.fromtimestamp(NOW.timestamp() - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pod(name: str, ns: str = "default", *, containers: tuple[str, ...] = ("app",), age: int = 65,
             phase: str = "Running", ready: bool = True, restarts: int = 0, ip: str = "10.88.0.5") -> dict[str, Any]:
    statuses = [
        {"name": c, "ready": ready, "restartCount": restarts, "image": "busybox:1.36",
         "imageID": "sha256:abc", "containerID": f"crun://{c}0001",
         "state": {"running": {"startedAt": ts(age - 2)}}}
        for c in containers
    ]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "resourceVersion": "10",
                     "creationTimestamp": ts(age), "labels": {"app": name}},
        "spec": {"containers": [{"name": c, "image": "busybox:1.36"} for c in containers],
                 "restartPolicy": "Always", "nodeName": "node1"},
        "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "192.0.2.1",
                   "startTime": ts(age), "containerStatuses": statuses,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


OBJECT_KINDS = {"configmaps": "ConfigMap", "secrets": "Secret", "persistentvolumeclaims": "PersistentVolumeClaim"}


def make_object(kind: str, name: str, ns: str = "default", age: int = 65, **body: Any) -> dict[str, Any]:
    """A stored ConfigMap / Secret / PersistentVolumeClaim as the agent returns it."""
    return {"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "resourceVersion": "7",
                         "creationTimestamp": ts(age)}, **body}


def make_pvc(name: str, ns: str = "default", *, storage: str = "1Gi", age: int = 65) -> dict[str, Any]:
    return make_object(
        "PersistentVolumeClaim", name, ns, age,
        spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}},
              "storageClassName": "podbay-local", "volumeMode": "Filesystem", "volumeName": f"pvc-uid-{name}"},
        status={"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage}},
    )


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FakeApi:
    """In-memory pods; records every request as (method, path, query, body)."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.watch_events: list[dict[str, Any]] = []
        self.log_text = b"line1\nline2\n"
        self.events: list[dict[str, Any]] = []
        self.delete_removes = False  # True: DELETE removes at once (returns a Status)
        self.lock = threading.Lock()
        self.socket = ""
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, ns, name)
        self.stats_summary: dict[str, Any] | None = None  # None: /stats/summary answers 404

    def add_object(self, obj: dict[str, Any]) -> None:
        plural = {v: k for k, v in OBJECT_KINDS.items()}[obj["kind"]]
        self.objects[(plural, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj

    def add(self, pod: dict[str, Any]) -> None:
        self.pods[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod

    def calls(self, method: str) -> list[tuple[str, str, dict[str, list[str]], Any]]:
        return [r for r in self.requests if r[0] == method]


def handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # client_address is '' on Unix sockets
            pass

        def _send(self, code: int, obj: Any, ctype: str = "application/json") -> None:
            body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunked(self, chunks: list[bytes], ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for c in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            body: Any = json.loads(self.rfile.read(length)) if length else None
            with api.lock:
                api.requests.append((method, url.path, query, body))
            parts = url.path.strip("/").split("/")
            if url.path == "/version":
                return self._send(200, {"gitVersion": "v0.1.0-podbay", "platform": "linux/amd64"})
            if url.path == "/stats/summary":
                if api.stats_summary is None:
                    return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
                return self._send(200, api.stats_summary)
            if len(parts) == 3 and parts[:2] == ["api", "v1"] and parts[2] in OBJECT_KINDS:
                items = [o for (pl, _, _), o in sorted(api.objects.items()) if pl == parts[2]]
                return self._send(200, {"kind": OBJECT_KINDS[parts[2]] + "List", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": "42"}, "items": items})
            if len(parts) >= 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] in OBJECT_KINDS:
                return self._object(method, parts, body)
            if url.path == "/api/v1/pods":
                return self._send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "42"},
                                        "items": list(api.pods.values())})
            if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5:
                return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
            ns, kind = parts[3], parts[4]
            if kind == "events":
                return self._send(200, {"kind": "EventList", "items": api.events})
            if len(parts) == 5:
                if query.get("watch") == ["true"]:
                    lines = [json.dumps(e).encode() + b"\n" for e in api.watch_events]
                    return self._chunked(lines, "application/json")
                if method == "POST":
                    pod = copy.deepcopy(body)
                    anns = pod["metadata"].get("annotations")
                    if anns is not None and not isinstance(anns, dict):   # the agent's type check
                        return self._send(400, status(400, "BadRequest", 'Pod in version "v1" cannot be handled as a '
                                                      "Pod: json: cannot unmarshal array into Go struct field "
                                                      "ObjectMeta.metadata.annotations of type map[string]string"))
                    if (ns, pod["metadata"]["name"]) in api.pods:
                        return self._send(409, status(409, "AlreadyExists",
                                                      f'pods "{pod["metadata"]["name"]}" already exists'))
                    pod["metadata"].setdefault("uid", "uid-new")
                    api.add(pod)
                    return self._send(201, pod)
                items = [p for (n, _), p in api.pods.items() if n == ns]
                return self._send(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": "42"}, "items": items})
            name = parts[5]
            pod = api.pods.get((ns, name))
            if pod is None:
                return self._send(404, status(404, "NotFound", f'pods "{name}" not found'))
            sub = parts[6] if len(parts) > 6 else ""
            if sub == "log":
                half = len(api.log_text) // 2
                return self._chunked([api.log_text[:half], api.log_text[half:]], "text/plain")
            if method == "GET":
                return self._send(200, pod)
            if method == "PUT":
                api.add(copy.deepcopy(body))
                return self._send(200, body)
            if method == "DELETE":
                if api.delete_removes:
                    del api.pods[(ns, name)]
                    return self._send(200, {"kind": "Status", "status": "Success"})
                pod = copy.deepcopy(pod)
                pod["metadata"]["deletionTimestamp"] = ts(0)
                api.add(pod)
                return self._send(200, pod)
            return self._send(405, status(405, "MethodNotAllowed", "method not allowed"))

        def _object(self, method: str, parts: list[str], body: Any) -> None:
            """ConfigMaps, Secrets and PVCs like the agent: stringData folded, DELETE answers a Status."""
            ns, plural = parts[3], parts[4]
            kind = OBJECT_KINDS[plural]
            if len(parts) == 5:
                if method == "POST":
                    obj = _stored(kind, ns, body)
                    if (plural, ns, obj["metadata"]["name"]) in api.objects:
                        return self._send(409, status(409, "AlreadyExists",
                                                      f'{plural} "{obj["metadata"]["name"]}" already exists'))
                    obj["metadata"].setdefault("uid", "uid-new")
                    api.add_object(obj)
                    return self._send(201, obj)
                items = [o for (pl, n, _), o in sorted(api.objects.items()) if pl == plural and n == ns]
                return self._send(200, {"kind": kind + "List", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": "42"}, "items": items})
            name = parts[5]
            found = api.objects.get((plural, ns, name))
            if found is None:
                return self._send(404, status(404, "NotFound", f'{plural} "{name}" not found'))
            if method == "GET":
                return self._send(200, found)
            if method == "PUT":
                new = _stored(kind, ns, body)
                api.add_object(new)
                return self._send(200, new)
            if method == "DELETE":
                del api.objects[(plural, ns, name)]
                return self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                                        "details": {"name": name, "kind": plural}})
            return self._send(405, status(405, "MethodNotAllowed", "method not allowed"))

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


def _stored(kind: str, ns: str, body: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(body)
    obj.update(apiVersion="v1", kind=kind)
    obj["metadata"]["namespace"] = ns
    if kind == "Secret":
        obj.setdefault("type", "Opaque")
        data = obj.setdefault("data", {})
        for k, v in (obj.pop("stringData", None) or {}).items():
            data[k] = base64.b64encode(v.encode()).decode()
    return obj


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (a CLI timeout) is expected: print nothing to stderr."""
    daemon_threads = True
