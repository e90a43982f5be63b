"""Images pulled as the kubelet pulls them, end to end: a real agent, skopeo, and docker-registry on
loopback serving the Debian-built test images under their Docker Hub names (IMAGES.md §9).

The module's agent has no image preloaded: every pod here pulls through podbay's registries.conf,
which sends docker.io to the loopback registry.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import IMAGE_TAR, REPO, Agent, _missing, pod_manifest
from kube import Kube

from podbay.client.http import ApiClient
from podbay.images import testregistry

pytestmark = pytest.mark.root
IMAGES = REPO / "_work" / "images"
APP_IMAGES = ("nginx.tar", "redis.tar", "mariadb.tar")


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testregistry.Bed]:
    why = _missing() or (None if shutil.which("docker-registry") and shutil.which("skopeo") else "no registry tools")
    if why:
        pytest.skip(why)
    missing = [n for n in APP_IMAGES if not (IMAGES / n).exists()]
    if missing or not IMAGE_TAR.exists():
        pytest.skip(f"test images not built ({', '.join(missing) or IMAGE_TAR.name}): run `make test-images`")
    b = testregistry.start_bed(tmp_path_factory.mktemp("bed"), IMAGES)
    try:
        yield b
    finally:
        b.stop()


def _agent(base: Path, bed: testregistry.Bed, *extra: str) -> Agent:
    a = Agent(base)
    a.root.mkdir(parents=True)
    a.extra_args = ["--registries-conf", str(bed.registries_conf), *extra]
    a.start()
    return a


@pytest.fixture(scope="module")
def agent(bed: testregistry.Bed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    a = _agent(tmp_path_factory.mktemp("e2e-img"), bed)
    try:
        yield a
    finally:
        a.cleanup()


@pytest.fixture(scope="module")
def kube(agent: Agent) -> Iterator[Kube]:
    """kubectl against this module's agent (the session's `kube` talks to another agent)."""
    with Kube(agent.socket, agent.base, env=agent.env) as k:
        yield k


def _apply(agent: Agent, doc: str | dict[str, Any]) -> None:
    agent.pb("apply", "-f", "-", input=doc if isinstance(doc, str) else json.dumps(doc))


def _delete(agent: Agent, *names: str) -> None:
    for n in names:
        agent.pb("delete", "pod", n, "--grace-period", "0", "--force", "--wait", check=False)


def _status(pod: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    st = pod.get("status") or {}
    items = (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or [])
    for c in items:
        if name is None or c["name"] == name:
            return dict(c)
    return {}


def _waiting(pod: dict[str, Any], name: str | None = None) -> str:
    return str(((_status(pod, name).get("state") or {}).get("waiting") or {}).get("reason", ""))


def _running(pod: dict[str, Any]) -> bool:
    cs = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(cs) and all("running" in c["state"] for c in cs)


def _events(agent: Agent, pod: str) -> list[dict[str, Any]]:
    items = ApiClient(str(agent.socket)).get("/api/v1/namespaces/default/events",
                                             {"fieldSelector": f"involvedObject.name={pod}"})["items"]
    return list(items)   # in the order they were first recorded


def _messages(agent: Agent, pod: str, reason: str | None = None) -> list[str]:
    return [e["message"] for e in _events(agent, pod) if reason is None or e["reason"] == reason]


def _count(agent: Agent, pod: str, reason: str) -> int:
    """How many times the pod got events of ``reason`` (identical events are aggregated with a count)."""
    return sum(int(e.get("count", 1)) for e in _events(agent, pod) if e["reason"] == reason)


def _exec(agent: Agent, pod: str, *cmd: str, container: str | None = None, check: bool = True) -> str:
    args = ["exec", pod, *(["-c", container] if container else []), "--", *cmd]
    return agent.pb(*args, check=check).stdout


# ------------------------------------------------------------------------------------------ seeds
TWO_CONTAINERS = """
apiVersion: v1
kind: Pod
metadata:
  name: content-nginx
spec:
  initContainers:
  - name: fetch
    image: busybox:1.35
    command: ["sh", "-c", "echo '<h1>fetched by the init container</h1>' > /work/index.html"]
    volumeMounts:
    - name: shared-data
      mountPath: /work
  containers:
  - name: nginx
    image: nginx:1.25
    ports:
    - containerPort: 80
    volumeMounts:
    - name: shared-data
      mountPath: /usr/share/nginx/html
  volumes:
  - name: shared-data
    emptyDir: {}
"""

# kubernetes.io/docs/tasks/configure-pod-container/configure-volume-storage/ — unmodified
REDIS_DOCS = """
apiVersion: v1
kind: Pod
metadata:
  name: redis
spec:
  containers:
  - name: redis
    image: redis
    volumeMounts:
    - name: redis-storage
      mountPath: /data/redis
  volumes:
  - name: redis-storage
    emptyDir: {}
"""

# the seeds' Deployment "mysql-emptydir", its pod template as a Pod (the template itself is unmodified)
MYSQL_SEED = """
apiVersion: v1
kind: Pod
metadata:
  name: mysql-emptydir
  labels:
    app: wordpress-emptydir
    tier: mysql-emptydir
spec:
  containers:
    - image: mysql:5.6
      name: mysql-emptydir
      env:
        - name: MYSQL_ROOT_PASSWORD
          value: changeme
      ports:
        - containerPort: 3306
          name: mysql
      volumeMounts:
        - name: mysql-persistent-storage
          mountPath: /var/lib/mysql
  volumes:
    - name: mysql-persistent-storage
      emptyDir: {}
"""


def test_content_fetcher_and_nginx_pulled_from_the_mirror(agent: Agent, bed: testregistry.Bed) -> None:
    _apply(agent, TWO_CONTAINERS)
    pod = agent.wait_for("content-nginx", _running, timeout=90)
    ip = pod["status"]["podIP"]
    body = ""
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://{ip}/", timeout=2) as r:
                body = r.read().decode()
                break
        except OSError:
            time.sleep(0.2)
    assert body == "<h1>fetched by the init container</h1>\n"
    nginx = _status(pod, "nginx")
    assert nginx["image"] == "nginx:1.25"
    assert re.fullmatch(r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", nginx["imageID"])
    pulled = _messages(agent, "content-nginx", "Pulled")
    assert any(re.fullmatch(r'Successfully pulled image "nginx:1\.25" in \S+ \(\S+ including waiting\)\. '
                            r"Image size: \d+ bytes\.", m) for m in pulled), pulled
    assert 'Pulling image "busybox:1.35"' in _messages(agent, "content-nginx", "Pulling")
    assert bed.plain is not None and bed.plain.requests(r"^GET /v2/library/nginx/manifests/1\.25")
    _delete(agent, "content-nginx")


def test_unmodified_redis_manifest_runs_with_pull_policy_always(agent: Agent) -> None:
    _apply(agent, REDIS_DOCS)
    pod = agent.wait_for("redis", _running, timeout=90)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    for _ in range(50):
        if _exec(agent, "redis", "redis-cli", "ping", check=False).strip() == "PONG":
            break
        time.sleep(0.2)
    assert _exec(agent, "redis", "redis-cli", "set", "k", "v").strip() == "OK"
    assert _exec(agent, "redis", "id", "-un").strip() == "root"
    assert "redis" in _exec(agent, "redis", "ps", "-o", "user,args")   # the server dropped to the redis user
    _delete(agent, "redis")


def _mysql(agent: Agent, pod: str, sql: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        res = agent.pb("exec", pod, "--", "mysql", "-uroot", "-pchangeme", "-N", "-e", sql, check=False)
        if res.returncode == 0:
            return res.stdout
        last = res.stderr
        time.sleep(0.5)
    raise AssertionError(f"mysql never answered: {last}")


def test_seed_mysql_pod_data_survives_a_container_restart(agent: Agent) -> None:
    _apply(agent, MYSQL_SEED)
    agent.wait_for("mysql-emptydir", _running, timeout=120)
    _mysql(agent, "mysql-emptydir", "CREATE DATABASE shop; CREATE TABLE shop.t (x INT); INSERT INTO shop.t VALUES (42)")
    agent.pb("exec", "mysql-emptydir", "--", "sh", "-c", "kill 1")
    agent.wait_for("mysql-emptydir", lambda p: _status(p).get("restartCount", 0) >= 1 and _running(p), timeout=60)
    assert _mysql(agent, "mysql-emptydir", "SELECT x FROM shop.t").strip() == "42"
    logs = agent.pb("logs", "mysql-emptydir").stdout
    assert "Initializing database files" not in logs                   # the restart found its data
    _delete(agent, "mysql-emptydir")


def test_mariadb_entrypoint_creates_database_and_user(agent: Agent) -> None:
    ctr = {"name": "db", "image": "mariadb:10.11",
           "env": [{"name": "MARIADB_ROOT_PASSWORD", "value": "changeme"},
                   {"name": "MYSQL_DATABASE", "value": "shop"}, {"name": "MYSQL_USER", "value": "app"},
                   {"name": "MYSQL_PASSWORD", "value": "app's pw"}]}
    _apply(agent, pod_manifest("mariadb", [ctr]))
    agent.wait_for("mariadb", _running, timeout=120)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        res = agent.pb("exec", "mariadb", "--", "mysql", "-uapp", "-papp's pw", "-h127.0.0.1", "shop", "-N", "-e",
                       "SELECT DATABASE(), CURRENT_USER()", check=False)
        if res.returncode == 0:
            break
        time.sleep(0.5)
    assert res.stdout.split() == ["shop", "app@%"], res.stderr
    _delete(agent, "mariadb")


# ------------------------------------------------------------------------------------------ policies
def test_never_with_a_missing_image_and_an_invalid_name(agent: Agent, bed: testregistry.Bed) -> None:
    assert bed.plain is not None
    before = len(bed.plain.requests("manifests"))
    _apply(agent, pod_manifest("never", [{"name": "c", "image": "busybox:never-here", "imagePullPolicy": "Never"}]))
    pod = agent.wait_for("never", lambda p: _waiting(p) == "ErrImageNeverPull")
    assert _status(pod)["state"]["waiting"]["message"] == (
        'Container image "busybox:never-here" is not present with pull policy of Never')
    assert 'Container image "busybox:never-here" is not present with pull policy of Never' in _messages(
        agent, "never", "ErrImageNeverPull")
    assert "Error: ErrImageNeverPull" in _messages(agent, "never", "Failed")
    _apply(agent, pod_manifest("badname", [{"name": "c", "image": "<your-private-image>"}]))
    pod = agent.wait_for("badname", lambda p: _waiting(p) == "InvalidImageName")
    assert "couldn't parse image name \"<your-private-image>\": invalid reference format" in \
        _status(pod)["state"]["waiting"]["message"]
    assert _messages(agent, "badname", "InspectFailed")
    assert "InvalidImageName" in agent.pb("get", "pod", "badname").stdout
    assert pod["status"]["phase"] == "Pending"
    assert len(bed.plain.requests("manifests")) == before               # neither pod asked the registry
    _delete(agent, "never", "badname")


def test_if_not_present_second_pod_makes_no_registry_request(agent: Agent, bed: testregistry.Bed) -> None:
    assert bed.plain is not None
    _apply(agent, pod_manifest("first", [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]))
    agent.wait_for("first", _running, timeout=60)
    before = len(bed.plain.requests(""))
    _apply(agent, pod_manifest("second", [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]))
    agent.wait_for("second", _running, timeout=60)
    assert len(bed.plain.requests("")) == before
    assert _messages(agent, "second", "Pulled") == ['Container image "busybox:1.36" already present on machine']
    _delete(agent, "first", "second")


def test_five_pods_with_the_same_new_image_cause_one_download(agent: Agent, bed: testregistry.Bed,
                                                              tmp_path: Path) -> None:
    assert bed.plain is not None
    testregistry.variant_layout(IMAGE_TAR, tmp_path / "five", env="FIVE=1", extra_kib=512)
    bed.plain.push(f"oci:{tmp_path / 'five'}", "test/five:1")
    image = f"{bed.plain.host}/test/five:1"
    docs = "\n---\n".join(pod_manifest(f"five-{i}", [{"name": "c", "image": image, "command": ["sleep", "3600"]}])
                          for i in range(5))
    _apply(agent, docs)
    for i in range(5):
        agent.wait_for(f"five-{i}", _running, timeout=60)
    gets = bed.plain.blob_gets("test/five")
    # each blob (config + 2 layers) once, whatever the number of pods
    assert len(gets) == len(set(gets)) == 3, gets
    assert all(_messages(agent, f"five-{i}", "Pulled") for i in range(5))
    _delete(agent, *(f"five-{i}" for i in range(5)))


def test_always_unchanged_downloads_nothing_and_a_moved_tag_is_pulled(agent: Agent, bed: testregistry.Bed,
                                                                     tmp_path: Path) -> None:
    assert bed.plain is not None
    reg = bed.plain
    reg.push(f"oci-archive:{IMAGE_TAR}", "test/always:1")
    image = f"{reg.host}/test/always:1"
    ctr = {"name": "c", "image": image, "imagePullPolicy": "Always", "command": ["sh", "-c", "sleep 1; exit 1"]}
    _apply(agent, pod_manifest("always", [ctr]))
    pod = agent.wait_for("always", lambda p: _status(p).get("imageID", "").startswith(f"{reg.host}/test/always@"))
    first_id = _status(pod)["imageID"]
    blobs = len(reg.blob_gets("test/always"))
    manifests = len(reg.requests(r"^GET /v2/test/always/manifests/"))
    # the container exits: its restart re-checks the digest (one manifest request), downloads nothing
    agent.wait_for("always", lambda p: _status(p).get("restartCount", 0) >= 1, timeout=60)
    assert len(reg.requests(r"^GET /v2/test/always/manifests/")) > manifests
    assert len(reg.blob_gets("test/always")) == blobs
    testregistry.variant_layout(IMAGE_TAR, tmp_path / "moved", env="MOVED=1")
    reg.push(f"oci:{tmp_path / 'moved'}", "test/always:1")
    pod = agent.wait_for("always", lambda p: _status(p).get("imageID", first_id) != first_id, timeout=90)
    assert _status(pod)["imageID"].startswith(f"{reg.host}/test/always@sha256:")
    assert len(reg.blob_gets("test/always")) > blobs
    _delete(agent, "always")


def test_multi_arch_index_picks_linux_amd64(agent: Agent, bed: testregistry.Bed, tmp_path: Path) -> None:
    assert bed.plain is not None
    found = testregistry.multiarch_layout(IMAGE_TAR, tmp_path / "multi")
    bed.plain.push(f"oci:{tmp_path / 'multi'}", "test/multi:1", all_=True)
    _apply(agent, pod_manifest("multi", [{"name": "c", "image": f"{bed.plain.host}/test/multi:1",
                                          "command": ["sleep", "3600"]}]))
    pod = agent.wait_for("multi", _running, timeout=60)
    assert _status(pod)["imageID"] == f"{bed.plain.host}/test/multi@{found['index']}"
    gets = bed.plain.requests(r"^GET /v2/test/multi/manifests/sha256:")
    assert not any(found[k] in g for g in gets for k in ("linux/amd64/v3", "linux/arm64/v8"))
    state = json.loads((agent.root / "images" / "refs.json").read_text())
    image = state["refs"][f"{bed.plain.host}/test/multi:1"]
    assert found["linux/amd64"] in state["images"][image]["digests"]   # the amd64 instance (= busybox's)
    _delete(agent, "multi")


# ------------------------------------------------------------------------------------------ credentials
def _pull_secret(name: str, host: str, user: str, password: str) -> dict[str, Any]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    cfg = json.dumps({"auths": {f"https://{host}": {"auth": auth}}}).encode()
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": base64.b64encode(cfg).decode()}}


def test_private_registries_need_the_right_secret(agent: Agent, kube: Kube, bed: testregistry.Bed) -> None:
    assert bed.tls is not None and bed.token is not None
    tls_image = f"{bed.tls.host}/library/busybox:1.35"
    ctr = {"name": "c", "image": tls_image, "command": ["sleep", "3600"]}
    _apply(agent, pod_manifest("nosecret", [ctr]))
    pod = agent.wait_for("nosecret", lambda p: _waiting(p) in ("ErrImagePull", "ImagePullBackOff"))
    assert pod["status"]["phase"] == "Pending"
    want = f"reading manifest 1.35 in {bed.tls.host}/library/busybox: unauthorized: authentication required"
    assert f'Failed to pull image "{tls_image}": {want}' in _messages(agent, "nosecret", "Failed")
    pod = agent.wait_for("nosecret", lambda p: _waiting(p) == "ImagePullBackOff", timeout=10)
    assert _status(pod)["state"]["waiting"]["message"] == f'Back-off pulling image "{tls_image}": ErrImagePull: {want}'

    _apply(agent, _pull_secret("wrong", bed.tls.host, "podbay", "nope"))
    _apply(agent, pod_manifest("wrongsecret", [ctr], imagePullSecrets=[{"name": "wrong"}]))
    agent.wait_for("wrongsecret", lambda p: _waiting(p) in ("ErrImagePull", "ImagePullBackOff"))

    _apply(agent, _pull_secret("regcred", bed.tls.host, testregistry.USER, testregistry.PASSWORD))
    _apply(agent, _pull_secret("tokencred", bed.token.host, testregistry.USER, testregistry.PASSWORD))
    _apply(agent, pod_manifest("withsecret", [ctr], imagePullSecrets=[{"name": "missing"}, {"name": "regcred"}]))
    agent.wait_for("withsecret", _running, timeout=60)
    assert _messages(agent, "withsecret", "FailedToRetrieveImagePullSecret") == [
        "Unable to retrieve some image pull secrets (missing); attempting to pull the image may not succeed."]
    token_ctr = {"name": "c", "image": f"{bed.token.host}/library/busybox:1.35", "command": ["sleep", "3600"]}
    _apply(agent, pod_manifest("token", [token_ctr], imagePullSecrets=[{"name": "tokencred"}]))
    agent.wait_for("token", _running, timeout=60)
    # The ServiceAccount admission gives a pod without pull secrets its service account's.
    kube.kubectl("create", "serviceaccount", "puller")
    kube.kubectl("patch", "serviceaccount", "puller", "-p", '{"imagePullSecrets": [{"name": "regcred"}]}')
    _apply(agent, pod_manifest("bysa", [ctr], serviceAccountName="puller"))
    pod = agent.wait_for("bysa", _running, timeout=60)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    _delete(agent, "nosecret", "wrongsecret", "withsecret", "token", "bysa")
    kube.kubectl("delete", "serviceaccount", "puller")
    agent.pb("delete", "secret", "wrong", "regcred", "tokencred")


# ------------------------------------------------------------------------------------------ failures
def test_registry_going_away_mid_pull_backs_off_and_recovers(agent: Agent, bed: testregistry.Bed,
                                                             tmp_path: Path) -> None:
    assert bed.plain is not None
    testregistry.variant_layout(IMAGE_TAR, tmp_path / "slow", env="SLOW=1", extra_kib=3072)
    bed.plain.push(f"oci:{tmp_path / 'slow'}", "test/slow:1")
    proxy = testregistry.Proxy(bed.plain.port, rate=512 * 1024)
    proxy.start()
    try:
        image = f"127.0.0.1:{proxy.port}/test/slow:1"
        _apply(agent, pod_manifest("away", [{"name": "c", "image": image, "command": ["sleep", "3600"]}]))
        deadline = time.monotonic() + 30
        while proxy.bytes_down < 300_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.bytes_down >= 300_000, "the pull never started"
        proxy.cut()                                                   # mid-transfer
        pod = agent.wait_for("away", lambda p: _waiting(p) in ("ErrImagePull", "ImagePullBackOff"), timeout=30)
        assert any(m.startswith(f'Failed to pull image "{image}": ') for m in _messages(agent, "away", "Failed"))
        agent.wait_for("away", lambda p: _waiting(p) == "ImagePullBackOff", timeout=10)
        proxy.rate = 0
        proxy.start()                                                 # back on the same port
        pod = agent.wait_for("away", _running, timeout=40)
        assert "ImagePullBackOff" not in json.dumps(pod["status"]["containerStatuses"])
        assert _count(agent, "away", "Pulling") >= 2 and _count(agent, "away", "BackOff") >= 1
    finally:
        proxy.stop()
        _delete(agent, "away")


def _pull_times(agent: Agent, pod: str) -> tuple[float, float]:
    units = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

    def seconds(text: str) -> float:
        return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))

    [msg] = [m for m in _messages(agent, pod, "Pulled") if m.startswith("Successfully")]
    tokens = msg.split(" ")
    assert len(tokens) == 13
    return seconds(tokens[5]), seconds(tokens[6].lstrip("("))


@pytest.mark.parametrize("parallel", [False, True], ids=["serialized", "parallel"])
def test_serialized_vs_parallel_pulls(bed: testregistry.Bed, tmp_path: Path, parallel: bool) -> None:
    assert bed.plain is not None
    proxy = testregistry.Proxy(bed.plain.port, rate=1024 * 1024)
    proxy.start()
    a = _agent(tmp_path / "agent", bed, *(["--max-parallel-image-pulls", "2"] if parallel else []))
    try:
        pods = []
        for i in range(2):
            testregistry.variant_layout(IMAGE_TAR, tmp_path / f"q{i}", env=f"Q={i}", extra_kib=1536)
            name = f"test/queue-{'p' if parallel else 's'}{i}:1"
            bed.plain.push(f"oci:{tmp_path / f'q{i}'}", name)
            pods.append(pod_manifest(f"q{i}", [{"name": "c", "image": f"127.0.0.1:{proxy.port}/{name}",
                                                "command": ["sleep", "3600"]}]))
        _apply(a, "\n---\n".join(pods))
        for i in range(2):
            a.wait_for(f"q{i}", _running, timeout=60)
        times = [_pull_times(a, f"q{i}") for i in range(2)]
        delayed = [total > 1.5 * pull for pull, total in times]
        if parallel:
            assert delayed == [False, False], times      # both transfers overlapped
        else:
            assert any(delayed), times                   # one waited for the other
    finally:
        a.cleanup()
        proxy.stop()


# ------------------------------------------------------------------------------------------ CLI
def test_cli_pull_ls_and_prune(agent: Agent, bed: testregistry.Bed, tmp_path: Path) -> None:
    assert bed.plain is not None and bed.tls is not None
    testregistry.variant_layout(IMAGE_TAR, tmp_path / "cli", env="CLI=1", extra_kib=256)
    bed.plain.push(f"oci:{tmp_path / 'cli'}", "library/cli-test:1")    # docker.io/library/cli-test:1 via the remap
    root = ["image", "--root", str(agent.root)]
    conf = ["--registries-conf", str(bed.registries_conf)]
    res = agent.pb(*root, "pull", "cli-test:1", *conf)
    assert re.fullmatch(r"[0-9a-f]{64}\n", res.stdout)
    assert res.stderr.startswith("Trying to pull docker.io/library/cli-test:1...\n")
    assert re.search(r"Copying blob [0-9a-f]{12} done", res.stderr) and "Downloaded newer image" in res.stderr
    again = agent.pb(*root, "pull", "cli-test:1", *conf).stderr.splitlines()
    assert again[1] == "Image is up to date for docker.io/library/cli-test:1"
    ls = agent.pb(*root, "ls").stdout.splitlines()
    assert ls[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "SIZE"]
    assert any(re.match(r"docker\.io/library/cli-test\s+1\s+sha256:[0-9a-f]{12}\s+[0-9a-f]{12}\s+\d\.\d+ MB", row)
               for row in ls), ls
    bad = agent.pb(*root, "pull", f"{bed.tls.host}/library/busybox:1.35", *conf, check=False)
    assert bad.returncode == 1 and "unauthorized: authentication required" in bad.stderr
    ok = agent.pb(*root, "pull", f"{bed.tls.host}/library/busybox:1.35", *conf, "--creds",
                  f"{testregistry.USER}:{testregistry.PASSWORD}")
    assert ok.returncode == 0
    # prune: the running pod's image stays, the unused ones go
    _apply(agent, pod_manifest("keeper", [{"name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]))
    agent.wait_for("keeper", _running, timeout=60)
    out = agent.pb(*root, "prune").stdout
    assert "Untagged: docker.io/library/cli-test:1" in out
    left = agent.pb(*root, "ls").stdout
    assert "docker.io/library/busybox" in left and "cli-test" not in left
    assert _exec(agent, "keeper", "true") == ""
    _delete(agent, "keeper")


def test_image_pull_progress_on_a_terminal(agent: Agent, bed: testregistry.Bed, tmp_path: Path) -> None:
    script = shutil.which("script")
    if script is None:
        pytest.skip("util-linux script(1) not installed")
    assert bed.plain is not None
    testregistry.variant_layout(IMAGE_TAR, tmp_path / "tty", env="TTY=1", extra_kib=2048)
    bed.plain.push(f"oci:{tmp_path / 'tty'}", "test/tty:1")
    proxy = testregistry.Proxy(bed.plain.port, rate=1024 * 1024)    # ~2 s: the bars get redrawn
    proxy.start()
    try:
        cmd = " ".join([sys.executable, "-m", "podbay", "image", "--root", str(agent.root), "pull",
                        "--registries-conf", str(bed.registries_conf), f"127.0.0.1:{proxy.port}/test/tty:1"])
        res = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, text=True, env=agent.env,
                             timeout=120)
    finally:
        proxy.stop()
    assert res.returncode == 0, res.stdout
    assert re.search(r"Copying blob [0-9a-f]{12} +\S+ [kM]B done", res.stdout), res.stdout
    assert "\x1b[1A\x1b[2K" in res.stdout          # bars redrawn in place
    assert re.search(r"\[=*>? *\] \S+ [kM]?B / 2\.\d+ MB \S+ [kM]?B/s ETA \d+s", res.stdout), res.stdout
