"""Remote access end to end: a real agent on TLS, `podbay kubeconfig`, real kubectl and the Python client.

Covers the TLS listener and its refusals, client-certificate and bearer-token users, port-forward
(kubectl's SPDY-over-WebSocket, its SPDY fallback, the Python client's v4 channels), attach, and the
projected ServiceAccount token a pod reads and TokenReview accepts.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import REPO, Agent, free_port, pod_manifest

KUBECTLS = {"1.37": REPO / ".venv" / "bin" / "kubectl", "1.33": Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")}
HTTPD = {"name": "httpd", "image": "busybox:1.35",
         "command": ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && httpd -f -p 8080 -h /www"]}
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def kubectl_versions() -> list[Any]:
    return [pytest.param(v, marks=pytest.mark.skipif(not p.exists(), reason=f"no kubectl {v}"))
            for v, p in KUBECTLS.items()]


@pytest.fixture(scope="module")
def kcfg(agent: Agent, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("kubeconfig")
    out = {}
    for name, args in (("cert", ()), ("token", ("--token", "--user", "e2e-token", "--group", "e2e"))):
        path = d / f"{name}.yaml"
        path.write_text(agent.pb("kubeconfig", *args).stdout)
        path.chmod(0o600)
        out[name] = path
    time.sleep(1.1)   # the agent re-reads its token file at most once a second
    return out


@pytest.fixture(scope="module")
def pyclient(kcfg: dict[str, Path]) -> Iterator[Any]:
    """The Python client on the cert kubeconfig (closed at the end: its pool holds TLS sockets)."""
    from kubernetes import config

    api_client = config.new_client_from_config(str(kcfg["cert"]))
    yield api_client
    api_client.close()
    api_client.rest_client.pool_manager.clear()   # close() leaves the TLS connection pool open


@pytest.fixture(scope="module")
def api_url(agent: Agent) -> str:
    return f"https://127.0.0.1:{agent.api_port}"


def seed_discovery(cache: Path, url: str, ctx: ssl.SSLContext) -> None:
    """kubectl needs discovery to resolve `pod/x`. Until the API framework serves /apis, write the
    discovery cache kubectl would have written (API.md §1 "seeded"); once /apis answers, do nothing."""
    if _status(url + "/apis", ctx) != 404:
        return
    d = cache / "discovery" / url.split("://", 1)[1].replace(":", "_")
    (d / "v1").mkdir(parents=True, exist_ok=True)
    (d / "servergroups.json").write_text(json.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "", "versions": [{"groupVersion": "v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "v1", "version": "v1"}}]}))
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    res = [{"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": verbs,
            "shortNames": ["po"], "categories": ["all"]}]
    res += [{"name": f"pods/{s}", "singularName": "", "namespaced": True, "kind": k, "verbs": ["create", "get"]}
            for s, k in (("attach", "PodAttachOptions"), ("portforward", "PodPortForwardOptions"),
                         ("exec", "PodExecOptions"))]
    (d / "v1" / "serverresources.json").write_text(json.dumps(
        {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": res}))


def _status(url: str, ctx: ssl.SSLContext) -> int:
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        e.close()
        return int(e.code)


class Kubectl:
    def __init__(self, version: str, kubeconfig: Path, cache: Path) -> None:
        self.argv = [str(KUBECTLS[version]), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]

    def __call__(self, *args: str, check: bool = True, timeout: float = 60,
                 input: str | None = None) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=timeout, input=input)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}")
        return res

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.argv, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE, text=True)


@pytest.fixture()
def kubectl(request: pytest.FixtureRequest, kcfg: dict[str, Path], api_url: str, tmp_path: Path) -> Kubectl:
    seed_discovery(tmp_path / "cache", api_url, _ca_ctx(kcfg, tmp_path, with_cert=True))
    return Kubectl(request.param, kcfg["cert"], tmp_path / "cache")


@pytest.fixture(scope="module")
def web(agent: Agent) -> Iterator[str]:
    agent.pb("apply", "-f", "-", input=pod_manifest("access-web", [HTTPD]))
    agent.wait_for("access-web", lambda p: p["status"]["phase"] == "Running")
    yield "access-web"
    agent.pb("delete", "pod", "access-web", "--grace-period", "0", check=False)


def _ca_ctx(kcfg: dict[str, Path], tmp: Path, with_cert: bool) -> ssl.SSLContext:
    import base64

    import yaml

    cfg = yaml.safe_load(kcfg["cert"].read_text())
    ca = tmp / "ca.crt"
    ca.write_bytes(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
    ctx = ssl.create_default_context(cafile=str(ca))
    if with_cert:
        user = cfg["users"][0]["user"]
        (tmp / "c.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (tmp / "c.key").write_bytes(base64.b64decode(user["client-key-data"]))
        ctx.load_cert_chain(str(tmp / "c.crt"), str(tmp / "c.key"))
    return ctx


# --- the listener and who gets in ------------------------------------------------------------------

@pytest.mark.parametrize("kubectl", kubectl_versions(), indirect=True)
def test_kubectl_version_and_raw_api_with_a_certificate(kubectl: Kubectl) -> None:
    out = kubectl("version").stdout
    assert "Server Version: v1." in out
    api = json.loads(kubectl("get", "--raw", "/api").stdout)
    assert api["kind"] == "APIVersions" and "v1" in api["versions"]
    pods = json.loads(kubectl("get", "--raw", "/api/v1/namespaces/default/pods").stdout)
    assert pods["kind"] == "PodList"


@pytest.mark.parametrize("version", kubectl_versions())
def test_kubectl_with_a_bearer_token(version: str, kcfg: dict[str, Path], tmp_path: Path) -> None:
    k = Kubectl(version, kcfg["token"], tmp_path / "cache")
    assert json.loads(k("get", "--raw", "/api").stdout)["kind"] == "APIVersions"
    who = k("auth", "whoami", "-o", "json")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "e2e-token"


def test_unauthenticated_requests_get_401_but_health_answers(api_url: str, kcfg: dict[str, Path],
                                                              tmp_path: Path) -> None:
    ctx = _ca_ctx(kcfg, tmp_path, with_cert=False)
    try:
        urllib.request.urlopen(api_url + "/api/v1/namespaces/default/pods", context=ctx, timeout=10)
        raise AssertionError("an anonymous request was served")
    except urllib.error.HTTPError as e:
        assert e.code == 401
        body = e.read()
        e.close()
        assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    with urllib.request.urlopen(api_url + "/healthz", context=ctx, timeout=10) as r:
        assert r.status == 200 and r.read() == b"ok"
    req = urllib.request.Request(api_url + "/api", headers={"Authorization": "Bearer not-a-token"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    e.value.close()
    assert e.value.code == 401


def _handshake(port: int, ctx: ssl.SSLContext) -> bytes:
    """TLS to the agent and one request; every socket closed whatever happens."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls_sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1", do_handshake_on_connect=False)
    try:
        tls_sock.do_handshake()
        tls_sock.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
        return tls_sock.recv(1024)   # TLS 1.3 reports a refused certificate on the first read
    finally:
        tls_sock.close()
        raw.close()


def test_wrong_ca_and_wrong_certificate_are_refused(tmp_path: Path, agent: Agent) -> None:
    from podbay.host import pki

    other = pki.ensure_pki(tmp_path / "other", pki.SanSet.of(["127.0.0.1"]))
    # a client that trusts another CA refuses podbay's serving certificate
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(agent.api_port, ssl.create_default_context(cafile=str(other.ca_crt)))
    # a client certificate from another CA never gets a response
    ctx = ssl.create_default_context(cafile=str(tmp_path / "other" / "ca.crt"))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(other.admin_crt), str(other.admin_key))
    try:
        answer = _handshake(agent.api_port, ctx)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        answer = b""
    assert answer == b""


def test_the_root_socket_stays_the_admin(agent: Agent) -> None:
    assert agent.pb("get", "pods").returncode == 0


# --- port-forward ----------------------------------------------------------------------------------

def _forward(kubectl: Kubectl, pod: str, env_off_ws: bool = False) -> tuple[subprocess.Popen[str], int]:
    local = free_port()
    argv = ["port-forward", f"pod/{pod}", f"{local}:8080"]
    if env_off_ws:
        import os

        proc = subprocess.Popen([*kubectl.argv, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    else:
        proc = kubectl.popen(*argv)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("Forwarding from"), line + (proc.stderr.read() if proc.stderr else "")
    return proc, local


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=10)   # also closes the pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _http_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        return r.read().decode()


@pytest.mark.parametrize("kubectl", kubectl_versions(), indirect=True)
@pytest.mark.parametrize("spdy_only", [False, True], ids=["websocket", "spdy"])
def test_kubectl_port_forward(kubectl: Kubectl, web: str, spdy_only: bool) -> None:
    proc, local = _forward(kubectl, web, env_off_ws=spdy_only)
    try:
        assert _http_get(local) == "hello-from-pod\n"
        assert _http_get(local) == "hello-from-pod\n"   # a second connection on the same session
    finally:
        _stop(proc)


def test_python_client_port_forward(pyclient: Any, web: str) -> None:
    from kubernetes import client
    from kubernetes.stream import portforward

    api = client.CoreV1Api(pyclient)
    pf = portforward(api.connect_get_namespaced_pod_portforward, web, "default", ports="8080")
    s = pf.socket(8080)
    s.setblocking(True)
    s.settimeout(10)
    s.sendall(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.") and data.endswith(b"hello-from-pod\n")
    assert pf.error(8080) is None
    closed = portforward(api.connect_get_namespaced_pod_portforward, web, "default", ports="8099")
    sock = closed.socket(8099)
    sock.settimeout(10)
    assert sock.recv(10) == b""
    deadline = time.monotonic() + 10
    while closed.error(8099) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "failed to connect to localhost:8099" in (closed.error(8099) or "")
    for forwarder in (pf, closed):
        forwarder.close()
        deadline = time.monotonic() + 10
        while forwarder.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        # The server ends the WebSocket once the forwarded connection is done (as the kubelet does);
        # the client library then drops its socket without closing it.
        forwarder.websocket.shutdown()


# --- attach ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attachable(agent: Agent) -> Iterator[tuple[str, str]]:
    ticker = {"name": "t", "image": "busybox:1.35",
              "command": ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"]}
    echo = {"name": "e", "image": "busybox:1.35", "stdin": True,
            "command": ["sh", "-c", "while read l; do echo got:$l; done"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("access-ticker", [ticker]))
    agent.pb("apply", "-f", "-", input=pod_manifest("access-echo", [echo]))
    for name in ("access-ticker", "access-echo"):
        agent.wait_for(name, lambda p: p["status"]["phase"] == "Running")
    yield "access-ticker", "access-echo"
    for name in ("access-ticker", "access-echo"):
        agent.pb("delete", "pod", name, "--grace-period", "0", check=False)


@pytest.mark.parametrize("kubectl", kubectl_versions(), indirect=True)
def test_kubectl_attach_prints_the_output_and_feeds_stdin(kubectl: Kubectl, attachable: tuple[str, str]) -> None:
    ticker, echo = attachable
    proc = kubectl.popen("attach", ticker)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert all(line.startswith("tick ") for line in lines), lines
        numbers = [int(line.split()[1]) for line in lines]
        assert numbers == sorted(numbers) and numbers[2] - numbers[0] == 2
    finally:
        _stop(proc)
    proc = kubectl.popen("attach", "-i", echo)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        time.sleep(1)   # kubectl attaches before stdin is read
        proc.stdin.write("hello\nworld\n")
        proc.stdin.flush()
        assert [proc.stdout.readline(), proc.stdout.readline()] == ["got:hello\n", "got:world\n"]
    finally:
        _stop(proc)


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a pty")
@pytest.mark.parametrize("kubectl", kubectl_versions()[:1], indirect=True)
def test_kubectl_run_it_rm(kubectl: Kubectl, agent: Agent) -> None:
    cmd = " ".join([*kubectl.argv, "run", "access-run", "--image=busybox:1.35", "-it", "--rm", "--restart=Never",
                    "--", "sh"])
    feed = "sleep 3; printf 'echo in-run-$((40+2))\\r'; sleep 1; printf 'stty size\\r'; sleep 1; printf 'exit\\r'; sleep 3"
    res = subprocess.run(["bash", "-c", f"({feed}) | script -qfec 'stty cols 97 rows 31; {cmd}' /dev/null"],
                         capture_output=True, text=True, timeout=90)
    out = res.stdout.replace("\r", "")
    assert "in-run-42" in out and "31 97" in out, out
    assert 'pod "access-run" deleted' in out, out
    assert agent.pb("get", "pod", "access-run", check=False).returncode != 0


# --- ServiceAccount tokens -------------------------------------------------------------------------

def test_pod_reads_its_projected_token_and_tokenreview_accepts_it(agent: Agent, pyclient: Any, web: str) -> None:
    from kubernetes import client

    pod = agent.pod(web)
    (vol,) = [v for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-")]
    assert pod["spec"]["serviceAccountName"] == "default"
    assert {"name": vol["name"], "readOnly": True, "mountPath": SA_DIR} in pod["spec"]["containers"][0]["volumeMounts"]
    token = agent.pb("exec", web, "--", "cat", f"{SA_DIR}/token").stdout
    ns = agent.pb("exec", web, "--", "cat", f"{SA_DIR}/namespace").stdout
    ca = agent.pb("exec", web, "--", "cat", f"{SA_DIR}/ca.crt").stdout
    assert ns == "default" and ca.startswith("-----BEGIN CERTIFICATE-----")
    review = client.AuthenticationV1Api(pyclient).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert review.status.authenticated is True
    assert review.status.user.username == "system:serviceaccount:default:default"
    assert review.status.user.extra["authentication.kubernetes.io/pod-name"] == [web]
    assert review.status.user.extra["authentication.kubernetes.io/pod-uid"] == [pod["metadata"]["uid"]]
    # the same token authenticates API requests
    req = urllib.request.Request(f"https://127.0.0.1:{agent.api_port}/api/v1/namespaces/default/pods",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ssl._create_unverified_context(), timeout=10) as r:
        assert json.loads(r.read())["kind"] == "PodList"


def test_a_pod_calls_the_api_with_its_token_through_the_kubernetes_service(agent: Agent, web: str) -> None:
    """In-cluster config: KUBERNETES_SERVICE_HOST/PORT (and kubernetes.default.svc) lead to the API's
    listener on the bridge; the projected token authenticates the pod's ServiceAccount."""
    script = (f"D={SA_DIR}; env | grep -c '^KUBERNETES_SERVICE_HOST=' >/dev/null || exit 9; "
              "wget -q -O- --no-check-certificate --header \"Authorization: Bearer $(cat $D/token)\" "
              f"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods/{web}")
    res = agent.pb("exec", web, "--", "sh", "-c", script)
    assert json.loads(res.stdout)["metadata"]["name"] == web
    by_name = agent.pb("exec", web, "--", "sh", "-c", f"wget -q -O- --no-check-certificate "
                       f"--header \"Authorization: Bearer $(cat {SA_DIR}/token)\" https://kubernetes.default.svc/api")
    assert json.loads(by_name.stdout)["kind"] == "APIVersions"
    anonymous = agent.pb("exec", web, "--", "wget", "-q", "-O-", "--no-check-certificate",
                         "https://kubernetes.default.svc/api", check=False)
    assert anonymous.returncode != 0 and "401 Unauthorized" in anonymous.stderr


def test_the_kubernetes_service_ip_is_in_the_serving_certificate(pyclient: Any, kcfg: dict[str, Path],
                                                                 tmp_path: Path) -> None:
    from kubernetes import client

    ip = client.CoreV1Api(pyclient).read_namespaced_service("kubernetes", "default").spec.cluster_ip
    ctx = _ca_ctx(kcfg, tmp_path, with_cert=False)   # the CA, and hostname checking on
    with urllib.request.urlopen(f"https://{ip}/healthz", context=ctx, timeout=10) as r:
        assert r.read() == b"ok"


def test_token_request_and_review_through_the_python_client(pyclient: Any, web: str, agent: Agent) -> None:
    from kubernetes import client

    core, authn = client.CoreV1Api(pyclient), client.AuthenticationV1Api(pyclient)
    uid = agent.pod(web)["metadata"]["uid"]
    tr = core.create_namespaced_service_account_token("default", "default", client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["vault"], expiration_seconds=600, bound_object_ref=client.
                                       V1BoundObjectReference(kind="Pod", api_version="v1", name=web, uid=uid))))
    token = tr.status.token
    ok = authn.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token,
                                                                                    audiences=["vault"])))
    assert ok.status.authenticated and ok.status.audiences == ["vault"]
    wrong = authn.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert not wrong.status.authenticated and "is invalid for the target audiences" in wrong.status.error


@pytest.mark.parametrize("kubectl", kubectl_versions(), indirect=True)
def test_kubectl_create_token_and_auth_can_i(kubectl: Kubectl, web: str, pyclient: Any) -> None:
    from kubernetes import client

    token = kubectl("create", "token", "default", "--duration", "15m", "--audience", "vault",
                    "--bound-object-kind", "Pod", "--bound-object-name", web).stdout.strip()
    review = client.AuthenticationV1Api(pyclient).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=["vault"])))
    assert review.status.authenticated and review.status.user.extra["authentication.kubernetes.io/pod-name"] == [web]
    assert kubectl("auth", "can-i", "delete", "pods").stdout.strip() == "yes"
    assert json.loads(kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]["username"] == \
        "podbay-admin"


def test_automount_false_mounts_no_token(agent: Agent) -> None:
    c = {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "ls /var/run/secrets || true; sleep 3600"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("access-noauto", [c], automountServiceAccountToken=False))
    try:
        p = agent.wait_for("access-noauto", lambda p: p["status"]["phase"] == "Running")
        assert not [v for v in p["spec"].get("volumes") or [] if v["name"].startswith("kube-api-access-")]
        assert not p["spec"]["containers"][0].get("volumeMounts")
        assert agent.pb("exec", "access-noauto", "--", "ls", SA_DIR, check=False).returncode != 0
    finally:
        agent.pb("delete", "pod", "access-noauto", "--grace-period", "0", check=False)


def test_a_token_of_a_deleted_pod_is_refused(agent: Agent, pyclient: Any) -> None:
    from kubernetes import client

    c = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("access-gone", [c]))
    agent.wait_for("access-gone", lambda p: p["status"]["phase"] == "Running")
    token = agent.pb("exec", "access-gone", "--", "cat", f"{SA_DIR}/token").stdout
    agent.pb("delete", "pod", "access-gone", "--grace-period", "0", "--wait")
    review = client.AuthenticationV1Api(pyclient).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert not review.status.authenticated
    assert review.status.error == "service account token has been invalidated"
