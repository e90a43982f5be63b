"""Fuzzing a live agent (issue 11 fuzz acceptance), shared by tests/e2e/test_e2e_fuzz.py and bench/fuzz.py.

`Fuzzer` talks raw HTTP to a real agent over its Unix socket and over its TLS listener (the admin
client certificate from <root>/pki; now and then no certificate at all), and checks every answer:
never a 500, every error a metav1 Status with the answer's code, no request over 5 s (a watch or a
follow that legitimately streams is closed at 5 s and is not a hang), nothing stored for a rejected
request (the object it named is absent afterwards; a rejected write to the decoy leaves its
resourceVersion alone), nothing stored by a dry run. Accepted objects are deleted at once. At the end
`final_problems` compares every listable kind in the fuzz namespace and every cluster-scoped kind the
fuzz may create with the snapshot taken before (objects a controller made for an accepted object
carry ownerReferences and are left to the garbage collector), checks /readyz and the sentinel pod
(Running, never restarted), deletes it and runs the crash suite's leak checks.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crash_rounds import leaks
from e2e_harness import Agent

NS = "fuzz"
HANG_S = 5.0
SENTINEL = "sentinel"
DECOY = "decoy"
# Kinds whose objects the agent makes by itself (events of accepted pods, leases, metrics views).
UNTRACKED = {("", "events"), ("events.k8s.io", "events"), ("coordination.k8s.io", "leases"),
             ("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes")}


# What aiohttp's HTTP parser (llhttp) answers in plain text before a request reaches the API, as Go's
# net/http answers bad framing itself: a method it does not know, a byte not allowed in a header value.
HTTP_PARSER_ERRORS = (b"Invalid method encountered", b"Invalid header value char")


@dataclass
class Result:
    status: int            # 0: no answer (connection reset or timeout)
    seconds: float
    body: bytes = b""
    content_type: str = ""
    streamed: bool = False  # still streaming at HANG_S: closed by us (a watch/follow that was asked for)
    error: str = ""


@dataclass
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection(self, ns: str = NS) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/namespaces/{ns}/{self.plural}" if self.namespaced else f"{base}/{self.plural}"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class Transports:
    """Connections to the agent: "unix" (the root-only socket, trusted as admin), "tls" (the TCP
    listener with the admin client certificate) and "anon" (the listener with no certificate)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        pki = agent.root / "pki"
        url = urllib.parse.urlsplit((agent.run_dir / "apiserver-url").read_text().strip())
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 6443
        self.admin = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.admin.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.anon = ssl.create_default_context(cafile=str(pki / "ca.crt"))

    def connect(self, kind: str, timeout: float) -> http.client.HTTPConnection:
        if kind == "unix":
            return _UnixConnection(str(self.agent.socket), timeout)
        ctx = self.admin if kind == "tls" else self.anon
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=ctx)


def query(params: dict[str, str] | list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(params, errors="surrogatepass") if params else ""


def send(tr: Transports, via: str, method: str, path: str, params: dict[str, str] | list[tuple[str, str]] | None = None,
         headers: dict[str, str] | None = None, body: bytes | None = None, stream: bool = False) -> Result:
    """One request on a fresh connection, its answer read within HANG_S. Written by hand, not by
    http.client: a server may answer (413, 400) before the body is all sent and close; the answer
    is what counts, not the broken pipe of the rest."""
    qs = query(params or {})
    target = path + ("?" + qs if qs else "")
    t0 = time.monotonic()
    conn = tr.connect(via, HANG_S)
    try:
        conn.connect()
        sock = conn.sock
        assert sock is not None
        head = [f"{method} {target} HTTP/1.1", "Host: localhost"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body or b'')}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass   # answered early: read the answer below
        resp = http.client.HTTPResponse(sock, method=method)  # type: ignore[arg-type]
        resp.begin()
        ctype = resp.getheader("Content-Type") or ""
        chunks: list[bytes] = []
        streamed = False
        while resp.status != 101:
            left = HANG_S - (time.monotonic() - t0)
            if left <= 0:
                streamed = True
                break
            sock.settimeout(left)
            try:
                chunk = resp.read1(65536)
            except TimeoutError:
                streamed = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        res = Result(resp.status, time.monotonic() - t0, b"".join(chunks), ctype, streamed)
        if streamed and not (stream and resp.status in (101, 200)):
            res.error = f"no complete answer within {HANG_S} s (status {resp.status})"
        return res
    except TimeoutError:
        return Result(0, time.monotonic() - t0, error=f"no answer within {HANG_S} s")
    except (OSError, http.client.HTTPException) as exc:
        return Result(0, time.monotonic() - t0, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def status_problem(res: Result, method: str) -> str | None:
    """An error answer must be a metav1 Status (in the negotiated encoding) with the answer's code."""
    if res.status < 400 or method == "HEAD":
        return None
    data = res.body
    if res.status == 400 and res.content_type.startswith("text/plain") and data.startswith(HTTP_PARSER_ERRORS):
        return None   # bad framing: answered by the HTTP parser before any handler, as Go's net/http does
    if "protobuf" in res.content_type:
        return None if data.startswith(b"k8s\x00") and b"Status" in data else f"non-Status protobuf {data[:200]!r}"
    try:
        if "yaml" in res.content_type:
            import yaml

            obj = yaml.safe_load(data)
        else:
            obj = json.loads(data)
    except (ValueError, Exception) as exc:   # yaml.YAMLError is not a ValueError
        return f"error body is not a Status ({res.content_type}): {exc}: {data[:300]!r}"
    if not isinstance(obj, dict) or obj.get("kind") != "Status" or obj.get("code") != res.status:
        return f"error body is not a Status with code {res.status}: {data[:300]!r}"
    return None


@dataclass
class Tally:
    cases: Counter[str] = field(default_factory=Counter)          # manifests / raw
    statuses: Counter[str] = field(default_factory=Counter)       # HTTP status (or "no answer") -> count
    server_errors: list[str] = field(default_factory=list)        # 5xx other than 503/504 from a handler
    hangs: list[str] = field(default_factory=list)
    bad_status_bodies: list[str] = field(default_factory=list)
    stored_after_reject: list[str] = field(default_factory=list)
    agent_restarts: int = 0
    accepted: Counter[str] = field(default_factory=Counter)        # kind -> accepted creates (deleted again)
    manifest_outcomes: Counter[str] = field(default_factory=Counter)  # "<target kind> <status>" -> count

    def summary(self) -> dict[str, Any]:
        return {"cases": dict(self.cases), "outcomes_by_status": dict(sorted(self.statuses.items())),
                "status_500": len(self.server_errors), "hangs": len(self.hangs),
                "error_not_a_status": len(self.bad_status_bodies),
                "stored_after_reject": len(self.stored_after_reject), "agent_restarts": self.agent_restarts,
                "accepted_and_deleted": dict(self.accepted),
                "manifest_outcomes_by_kind": dict(sorted(self.manifest_outcomes.items()))}

    def failures(self) -> list[str]:
        return [*self.server_errors, *self.hangs, *self.bad_status_bodies, *self.stored_after_reject]


def _name_of(body: bytes) -> str | None:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    md = obj.get("metadata") if isinstance(obj, dict) else None
    name = md.get("name") if isinstance(md, dict) else None
    return name if isinstance(name, str) and name and "/" not in name else None


def _short(label: str) -> str:
    return label if len(label) <= 700 else f"{label[:350]}...({len(label)} chars)...{label[-300:]}"


def _json(res: Result) -> Any:
    return json.loads(res.body) if res.status == 200 else None


class Fuzzer:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.tr = Transports(agent)
        self.tally = Tally()
        self.resources: list[Resource] = []
        self.before: set[tuple[str, str, str, str]] = set()
        self.sentinel_uid = ""
        self.pod_uids: set[str] = set()
        self.accepted_uids: set[str] = set()   # deleted again at once, but a deletion may take a while
        self.last_case = ""

    # --- set-up ---------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return _json(send(self.tr, "unix", "GET", path, params))

    def post(self, path: str, obj: dict[str, Any]) -> Result:
        return send(self.tr, "unix", "POST", path, headers={"Content-Type": "application/json"},
                    body=json.dumps(obj).encode())

    def setup(self) -> None:
        self.resources = self._discover()
        self.post("/api/v1/namespaces", {"metadata": {"name": NS}})
        self.ensure_decoy()
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": SENTINEL},
               "spec": {"terminationGracePeriodSeconds": 0,
                        "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "36000"]}]}}
        res = self.post(f"/api/v1/namespaces/{NS}/pods", pod)
        assert res.status == 201, res.body[:500]
        deadline = time.monotonic() + 60
        while not self.sentinel_running():
            assert time.monotonic() < deadline, f"sentinel not running: {self.get(self._sentinel_path())}"
            time.sleep(0.2)
        self.sentinel_uid = self.get(self._sentinel_path())["metadata"]["uid"]
        time.sleep(1)   # the namespace's ServiceAccount and root CA ConfigMap, made by controllers
        self.before = self.snapshot()

    def _discover(self) -> list[Resource]:
        out: list[Resource] = []
        gvs = [("", v) for v in self.get("/api")["versions"]]
        for g in self.get("/apis")["groups"]:
            gvs += [(g["name"], g["preferredVersion"]["version"])]
        for group, version in gvs:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            for r in (self.get(path) or {}).get("resources", []):
                if "/" not in r["name"]:
                    out.append(Resource(group, version, r["name"], r["kind"], r["namespaced"], tuple(r["verbs"])))
        return out

    def creatable(self) -> list[Resource]:
        return [r for r in self.resources if "create" in r.verbs and (r.group, r.plural) not in UNTRACKED]

    def ensure_decoy(self) -> None:
        if self.get(f"/api/v1/namespaces/{NS}/configmaps/{DECOY}") is None:
            self.post(f"/api/v1/namespaces/{NS}/configmaps", {"metadata": {"name": DECOY}, "data": {"a": "b"}})

    def _sentinel_path(self) -> str:
        return f"/api/v1/namespaces/{NS}/pods/{SENTINEL}"

    def sentinel_running(self) -> bool:
        pod = self.get(self._sentinel_path()) or {}
        cs = pod.get("status", {}).get("containerStatuses") or []
        return len(cs) == 1 and "running" in cs[0].get("state", {}) and not cs[0].get("restartCount")

    def snapshot(self) -> set[tuple[str, str, str, str]]:
        """(group/plural, namespace, name, uid) of every object the fuzz could have created (not those
        made by a controller for an object: they carry ownerReferences)."""
        out = set()
        for r in self.resources:
            if "list" not in r.verbs or (r.group, r.plural) in UNTRACKED:
                continue
            listing = self.get(r.collection()) or {}
            for item in listing.get("items") or []:
                md = item.get("metadata", {})
                if md.get("ownerReferences") or (r.plural == "configmaps" and md.get("name") == DECOY):
                    continue   # the decoy is deleted and made again by design
                out.add((f"{r.group}/{r.plural}", md.get("namespace", ""), md.get("name", ""), md.get("uid", "")))
        return out

    # --- the cases ------------------------------------------------------------------------------

    def _alive(self) -> None:
        """A dead agent is restarted (and counted): the bench goes on, the test fails on the count."""
        proc = self.agent.proc
        if proc is not None and proc.poll() is not None:
            self.tally.agent_restarts += 1
            self.agent.proc = None
            self.agent.start()
            deadline = time.monotonic() + 30
            while send(self.tr, "unix", "GET", "/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.2)

    def _record(self, label: str, method: str, res: Result) -> None:
        self.last_case = label
        self.tally.statuses[str(res.status) if res.status else "no answer"] += 1
        if res.status >= 500 and res.status not in (503, 504):
            self.tally.server_errors.append(f"{res.status} for {label}: {res.body[:300]!r}")
        if res.error:
            self.tally.hangs.append(f"{res.error} ({res.seconds:.1f} s) for {label}")
        problem = status_problem(res, method)
        if problem:
            self.tally.bad_status_bodies.append(f"{problem} for {label}")

    def _delete(self, path: str) -> None:
        send(self.tr, "unix", "DELETE", path, {"gracePeriodSeconds": "0", "propagationPolicy": "Background"})

    def _after_create(self, label: str, collection: str, params: dict[str, str], res: Result,
                      sent_name: str | None) -> None:
        """An accepted object is deleted again; a rejected or dry-run create must have stored nothing."""
        dry = "dryRun" in params and res.status in (200, 201)
        if res.status in (200, 201) and not dry:
            obj = json.loads(res.body)
            md = obj.get("metadata", {})
            self.tally.accepted[str(obj.get("kind"))] += 1
            self.accepted_uids.add(md.get("uid", ""))
            if obj.get("kind") == "Pod":
                self.pod_uids.add(md.get("uid", ""))
            if md.get("name"):
                self._delete(f"{collection}/{urllib.parse.quote(md['name'])}")
            return
        if sent_name is not None and res.status != 409:
            check = send(self.tr, "unix", "GET", f"{collection}/{urllib.parse.quote(sent_name, errors='surrogatepass')}")
            found = _json(check) or {}
            if check.status == 200 and found.get("metadata", {}).get("uid") not in self.accepted_uids:
                self.tally.stored_after_reject.append(f"{collection}/{sent_name} stored after a "
                                                      f"{'dry run' if dry else res.status} for {label}")
                self._delete(f"{collection}/{urllib.parse.quote(sent_name)}")

    def manifest_case(self, via: str, target: Resource, body: bytes, params: dict[str, str]) -> Result:
        """POST one (mutated) manifest to target's collection in the fuzz namespace."""
        self._alive()
        collection = target.collection()
        label = _short(f"POST {collection}?{query(params)} via {via} body={body[:300]!r}")
        self.tally.cases["manifests"] += 1
        res = send(self.tr, via, "POST", collection, params, {"Content-Type": "application/json"}, body)
        self._record(label, "POST", res)
        self.tally.manifest_outcomes[f"{target.kind} {res.status}"] += 1
        self._after_create(label, collection, params, res, _name_of(body))
        return res

    def raw_case(self, via: str, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                 body: bytes | None) -> Result:
        self._alive()
        decoy = path.endswith(f"/configmaps/{DECOY}") and method not in ("GET", "HEAD", "OPTIONS")
        rv_before = (self.get(path) or {}).get("metadata", {}).get("resourceVersion") if decoy else None
        stream = any(params.get(k, "false").lower() not in ("0", "false") for k in ("watch", "follow")) \
            or "Upgrade" in headers or path.endswith(("/exec", "/attach", "/portforward"))
        if "Upgrade" in headers:
            headers = {**headers, "Connection": "Upgrade"}
        label = _short(f"{method} {path}?{query(params)} via {via} headers={headers} body={(body or b'')[:200]!r}")
        self.tally.cases["raw"] += 1
        res = send(self.tr, via, method, path, params, headers, body, stream=stream)
        self._record(label, method, res)
        if decoy:
            after = self.get(path)
            if res.status >= 400 or "dryRun" in params:
                rv_after = (after or {}).get("metadata", {}).get("resourceVersion")
                if rv_after != rv_before:
                    self.tally.stored_after_reject.append(f"decoy changed ({rv_before} -> {rv_after}) by a "
                                                          f"{res.status} for {label}")
            self.ensure_decoy()
        elif method == "POST" and not path.endswith(("/exec", "/attach", "/portforward", "/token", "/eviction",
                                                     "/binding", "reviews")):
            self._after_create(label, path, params, res, _name_of(body or b""))
        return res

    # --- the end ---------------------------------------------------------------------------------

    def health_problems(self) -> list[str]:
        out = []
        ready = send(self.tr, "unix", "GET", "/readyz")
        if ready.status != 200:
            out.append(f"/readyz answered {ready.status} {ready.body[:200]!r}")
        if not self.sentinel_running():
            out.append(f"sentinel pod not running or restarted: {json.dumps(self.get(self._sentinel_path()))[:1500]}")
        return out

    def leftovers(self, settle: float = 30.0) -> list[str]:
        """Objects the fuzz left in the store (none once the garbage collector had `settle` seconds)."""
        deadline = time.monotonic() + settle
        while True:
            extra = self.snapshot() - self.before
            if not extra or time.monotonic() > deadline:
                return [f"{k} {ns}/{name}" for k, ns, name, _ in sorted(extra)]
            time.sleep(0.5)

    def final_problems(self) -> list[str]:
        out = self.health_problems() + [f"left in the store: {x}" for x in self.leftovers()]
        self._delete(self._sentinel_path())
        deadline = time.monotonic() + 60
        while self.get(self._sentinel_path()) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        out += [f"leak: {x}" for x in _settled(self.agent, self.pod_uids | {self.sentinel_uid})]
        return out


def _settled(agent: Agent, uids: set[str], settle: float = 15.0) -> list[str]:
    deadline = time.monotonic() + settle
    while True:
        found = leaks(agent, uids)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def fuzz_agent(base: Path) -> Agent:
    """A fresh agent for the fuzz: host paths only under <base>/allowed (a fuzzed hostPath pod never
    makes directories elsewhere on the host)."""
    from e2e_harness import IMAGE_TAR

    allowed = base / "allowed"
    allowed.mkdir(parents=True, exist_ok=True)
    a = Agent(base)
    a.root.mkdir(parents=True)
    a.pb("image", "load", str(IMAGE_TAR))
    a.extra_args = ["--allowed-host-path", str(allowed)]
    a.start()
    deadline = time.monotonic() + 30
    while not (a.run_dir / "apiserver-url").exists() or not (a.root / "pki" / "admin.crt").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the agent's TLS listener did not come up")
        time.sleep(0.1)
    return a


# --- what is sent ------------------------------------------------------------------------------------

VIA = ["unix", "unix", "unix", "tls", "tls", "tls", "anon"]
READ = ("GET", "HEAD", "OPTIONS")
ANY = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "BOGUS")
NOT_DELETE = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "BOGUS")
POD = f"/api/v1/namespaces/{NS}/pods/{SENTINEL}"
# (path, methods): the sentinel pod and the fuzz namespace are only read (a valid DELETE would be
# obeyed), collections holding them are never deleted; the decoy may be changed and is made again.
RAW_PATHS: list[tuple[str, tuple[str, ...]]] = [
    (f"/api/v1/namespaces/{NS}/configmaps", NOT_DELETE), (f"/api/v1/namespaces/{NS}/configmaps/{DECOY}", ANY),
    (f"/api/v1/namespaces/{NS}/secrets", NOT_DELETE), (f"/api/v1/namespaces/{NS}/pods", NOT_DELETE),
    (f"/api/v1/namespaces/{NS}/pods/nope", ANY), (POD, READ), (f"{POD}/status", READ),
    (f"{POD}/log", READ), (f"{POD}/exec", ("GET", "POST")), (f"{POD}/attach", ("GET", "POST")),
    (f"{POD}/portforward", ("GET", "POST")), (f"{POD}/ephemeralcontainers", READ),
    (f"/api/v1/namespaces/{NS}/pods/nope/log", ANY), (f"/api/v1/namespaces/{NS}/pods/nope/exec", ANY),
    (f"/api/v1/namespaces/{NS}/pods/nope/status", ANY), (f"/api/v1/namespaces/{NS}/pods/nope/eviction", ANY),
    (f"/api/v1/namespaces/{NS}/pods/nope/binding", ANY), (f"/api/v1/namespaces/{NS}/pods/nope/proxy", ANY),
    (f"/api/v1/namespaces/{NS}/services", NOT_DELETE), (f"/api/v1/namespaces/{NS}/services/nope/proxy", ANY),
    (f"/api/v1/namespaces/{NS}/serviceaccounts/default/token", ("POST", "GET")),
    (f"/apis/apps/v1/namespaces/{NS}/deployments", NOT_DELETE),
    (f"/apis/apps/v1/namespaces/{NS}/deployments/nope/scale", ANY), (f"/apis/batch/v1/namespaces/{NS}/jobs", ANY),
    (f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", READ), ("/api/v1/pods", NOT_DELETE),
    ("/api/v1/nodes", READ), ("/api/v1/namespaces", READ + ("POST",)), (f"/api/v1/namespaces/{NS}", READ),
    ("/api/v1/namespaces/nonexistent/configmaps", ANY), ("/api/v1/namespaces/x%20y/configmaps", ANY),
    ("/api/v1/namespaces/%2E%2E/configmaps", ANY), (f"/api/v1/namespaces/{NS}/configmaps/%00", ANY),
    (f"/api/v1/namespaces/{NS}/configmaps/{DECOY}/bogus", ANY), ("/api/v1/bogus", ANY), ("/apis/bogus/v1", ANY),
    ("/apis/authentication.k8s.io/v1/tokenreviews", ("POST",)),
    ("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ("POST",)),
    ("/apis/metrics.k8s.io/v1beta1/pods", READ), ("/api", READ), ("/apis", READ), ("/api/v1", READ),
    ("/version", READ), ("/healthz", READ), ("/readyz", READ), ("/livez", READ), ("/openapi/v2", READ),
    ("/openapi/v3", READ), ("/openapi/v3/api/v1", READ), ("/metrics", READ), ("/", READ), ("/%ff", ANY)]


def manifest_cases(fz: Fuzzer) -> Any:
    """(via, target resource, body bytes, params): a kind's manifest posted to its own collection, or
    now and then to another kind's (the wrong kind on the wrong endpoint)."""
    from hypothesis import strategies as st

    from fuzz_strategies import PARAM_VALUES, SEEDS, encode, manifest
    from podbay.api import schema

    kinds = [(r, d) for r in fz.creatable() if (d := schema.definition_name(r.group, r.version, r.kind))]
    kinds.sort(key=lambda rd: rd[0].kind not in SEEDS)   # sampled_from favours the first: the seeded kinds
    targets = [r for r, _ in kinds]
    bodies = st.sampled_from(kinds).flatmap(
        lambda rd: st.tuples(st.just(rd[0]), manifest(rd[0].api_version, rd[0].kind, rd[1])))
    params = st.just({}) | st.just({}) | st.fixed_dictionaries({}, optional={"dryRun": st.sampled_from(["All", "All", "bogus", ""]),
                                                 "fieldValidation": st.sampled_from(["Strict", "Warn", "Ignore", "x"]),
                                                 "fieldManager": PARAM_VALUES, "pretty": PARAM_VALUES})
    target = st.tuples(bodies, st.integers(0, 9), st.sampled_from(targets)).map(
        lambda t: (t[0][0] if t[1] else t[2], t[0][1]))
    return st.tuples(st.sampled_from(VIA), target, params).map(
        lambda t: (t[0], t[1][0], encode(t[1][1]), t[2]))


def raw_cases() -> Any:
    """(via, method, path, params, headers, body)."""
    from hypothesis import strategies as st

    from fuzz_strategies import RAW_BODIES, RAW_HEADERS, RAW_PARAMS

    request = st.sampled_from(RAW_PATHS).flatmap(lambda pm: st.tuples(st.sampled_from(pm[1]), st.just(pm[0])))
    return st.tuples(st.sampled_from(VIA), request, RAW_PARAMS, RAW_HEADERS, RAW_BODIES).map(
        lambda t: (t[0], t[1][0], t[1][1], t[2], t[3], _sized(t[1][0], t[4])))


def _sized(method: str, body: bytes | None) -> bytes | None:
    """Megabyte bodies only where a body is read: a GET of the OpenAPI document with 3 MB attached
    deadlocks any client that sends everything before it reads (both sides' buffers full), as with
    Go's net/http; that is the client's doing, not a hang of the agent."""
    if body is not None and len(body) > 65536 and method not in ("POST", "PUT", "PATCH"):
        return body[:65536]
    return body
