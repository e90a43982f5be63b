"""Busybox versions of the Conformance probe and hook tests (PROBES.md §9.1, §9.2, §9.3) on a real agent.

Upstream's pods with short periods (initialDelaySeconds 15 -> 2, observation windows shortened);
the pass conditions are upstream's. Pods are created together and observed in parallel to keep
the suite's time down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import Agent

pytestmark = pytest.mark.root

BB = "busybox:1.35"
WEB = "mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 80 -h /www"


def manifest(name: str, containers: list[dict[str, Any]], **spec: Any) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": containers, "terminationGracePeriodSeconds": 1, **spec}})


def ctr(cmd: str, **kw: Any) -> dict[str, Any]:
    return {"name": "c", "image": BB, "command": ["sh", "-c", cmd], **kw}


def restarts(agent: Agent, name: str) -> int:
    pod = agent.pod(name)
    return sum(c.get("restartCount", 0) for c in pod.get("status", {}).get("containerStatuses") or [])


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


def events(agent: Agent, name: str) -> list[dict[str, Any]]:
    """GET the pod's events from the API (the agent's Unix socket)."""
    import http.client
    import socket

    class Unix(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(agent.socket))

    conn = Unix("localhost")
    try:
        conn.request("GET", f"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name={name}")
        return list(json.loads(conn.getresponse().read()).get("items") or [])
    finally:
        conn.close()


def exec_probe(cmd: str, **kw: Any) -> dict[str, Any]:
    return {"exec": {"command": ["sh", "-c", cmd]}, "periodSeconds": 1, **kw}


PODS: dict[str, str] = {
    # #1 readiness with initial delay: ready, not before the delay, never restarted
    "ready-delay": manifest("ready-delay", [ctr(WEB, readinessProbe={
        "httpGet": {"path": "/index.html", "port": 80}, "initialDelaySeconds": 3, "periodSeconds": 1})]),
    # #2 readiness to a refused port: never ready, never restarted
    "ready-refused": manifest("ready-refused", [ctr(WEB, readinessProbe={
        "httpGet": {"path": "/", "port": 81}, "periodSeconds": 1})]),
    # #3 exec cat /tmp/health that starts failing: restarted
    "exec-fails": manifest("exec-fails", [ctr("echo ok >/tmp/health; sleep 3; rm -rf /tmp/health; sleep 600",
                                            livenessProbe=exec_probe("cat /tmp/health", initialDelaySeconds=1,
                                                                     timeoutSeconds=5, failureThreshold=1))]),
    # #4 exec cat /tmp/health that keeps passing: not restarted
    "exec-ok": manifest("exec-ok", [ctr("echo ok >/tmp/health; sleep 600",
                                      livenessProbe=exec_probe("cat /tmp/health", initialDelaySeconds=1,
                                                               timeoutSeconds=5, failureThreshold=1))]),
    # #6 tcp liveness on a listening port: not restarted
    "tcp-ok": manifest("tcp-ok", [ctr(WEB, livenessProbe={"tcpSocket": {"port": 80}, "initialDelaySeconds": 1,
                                                          "periodSeconds": 1, "failureThreshold": 1})]),
    # #9 exec timeout enforced: restarted
    "exec-timeout": manifest("exec-timeout", [ctr("sleep 600", livenessProbe=exec_probe(
        "sleep 10", initialDelaySeconds=1, timeoutSeconds=1, failureThreshold=1))]),
    # #11 a failing exec whose background child holds the pipes: restarted at once
    "exec-bg": manifest("exec-bg", [ctr("sleep 600", livenessProbe=exec_probe(
        "sleep 10 & exit 1", initialDelaySeconds=1, timeoutSeconds=1, failureThreshold=1))]),
    # #14 startup probe failing: restarted
    "startup-fails": manifest("startup-fails", [ctr("sleep 600", livenessProbe=exec_probe(
        "/bin/true", initialDelaySeconds=1, failureThreshold=1), startupProbe=exec_probe(
        "/bin/false", initialDelaySeconds=1, failureThreshold=3))]),
    # #15 startup probe delays liveness: not restarted
    "startup-holds": manifest("startup-holds", [ctr("sleep 600", livenessProbe=exec_probe(
        "/bin/false", initialDelaySeconds=1, failureThreshold=1), startupProbe=exec_probe(
        "/bin/false", initialDelaySeconds=1, failureThreshold=60))]),
    # #18 probe-level grace overrides a 500 s pod grace
    "probe-grace": manifest("probe-grace", [ctr("sleep 1000", livenessProbe={
        "httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 1, "periodSeconds": 1,
        "failureThreshold": 1, "terminationGracePeriodSeconds": 5})], terminationGracePeriodSeconds=500),
}


@pytest.fixture(scope="module")
def probed(agent: Agent) -> dict[str, Any]:
    for body in PODS.values():
        agent.pb("apply", "-f", "-", input=body)
    t0 = time.monotonic()
    seen: dict[str, Any] = {"ready_at": {}, "restarts": {}, "ever_ready": set()}
    while time.monotonic() - t0 < 25:
        for name in PODS:
            pod = agent.pod(name)
            if ready(pod):
                seen["ever_ready"].add(name)
                seen["ready_at"].setdefault(name, pod)
            seen["restarts"][name] = restarts(agent, name)
        time.sleep(1)
    yield seen
    agent.pb("delete", "pod", *PODS, "--grace-period", "0", "--wait")


def test_readiness_not_before_initial_delay_and_never_restarted(probed: dict[str, Any]) -> None:
    pod = probed["ready_at"]["ready-delay"]
    ready_cond = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    from podbay.api.printing import parse_rfc3339
    assert parse_rfc3339(ready_cond["lastTransitionTime"]) - parse_rfc3339(started) >= 3
    assert probed["restarts"]["ready-delay"] == 0


def test_readiness_that_fails_is_never_ready_and_never_restarted(probed: dict[str, Any]) -> None:
    assert "ready-refused" not in probed["ever_ready"] and probed["restarts"]["ready-refused"] == 0


@pytest.mark.parametrize("name", ["exec-fails", "exec-timeout", "exec-bg", "startup-fails", "probe-grace"])
def test_restarted(probed: dict[str, Any], name: str) -> None:
    assert probed["restarts"][name] >= 1


@pytest.mark.parametrize("name", ["exec-ok", "tcp-ok", "startup-holds"])
def test_not_restarted(probed: dict[str, Any], name: str) -> None:
    assert probed["restarts"][name] == 0


def test_probe_events_have_upstream_wording(probed: dict[str, Any], agent: Agent) -> None:
    msgs = [e["message"] for e in events(agent, "exec-timeout")]
    assert 'Liveness probe failed: command timed out: "sh -c sleep 10" timed out after 1s' in msgs
    assert "Container c failed liveness probe, will be restarted" in msgs
    refused = [e["message"] for e in events(agent, "ready-refused")]
    ip = agent.pod("ready-refused")["status"]["podIP"]
    assert f'Readiness probe failed: Get "http://{ip}:81/": dial tcp {ip}:81: connect: connection refused' in refused


def test_liveness_failing_after_20s_restarts_within_period_times_threshold(agent: Agent) -> None:
    """Acceptance: starts failing 20 s in; restarted within period x failureThreshold + 2 s."""
    body = manifest("late-fail", [ctr("touch /tmp/ok; sleep 20; rm /tmp/ok; sleep 600", livenessProbe={
        "exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 2, "failureThreshold": 3})])
    agent.pb("apply", "-f", "-", input=body)
    pod = agent.wait_for("late-fail", lambda p: "running" in p["status"]["containerStatuses"][0]["state"])
    from podbay.api.printing import parse_rfc3339
    started = parse_rfc3339(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    pod = agent.wait_for("late-fail", lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 1, timeout=40)
    finished = parse_rfc3339(pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"])
    assert 20 <= finished - started <= 20 + 2 * 3 + 2 + 1     # +1: whole-second timestamps
    agent.pb("delete", "pod", "late-fail", "--grace-period", "0", "--wait")


def test_readiness_flapping_ten_transitions_no_restart(agent: Agent) -> None:
    body = manifest("flap", [ctr("i=0; while [ $i -lt 10 ]; do touch /tmp/r; sleep 2; rm /tmp/r; sleep 2; "
                                 "i=$((i+1)); done; sleep 600", readinessProbe={
                                     "exec": {"command": ["cat", "/tmp/r"]}, "periodSeconds": 1,
                                     "failureThreshold": 1})])
    agent.pb("apply", "-f", "-", input=body)
    agent.wait_for("flap", lambda p: "running" in p["status"]["containerStatuses"][0]["state"])
    last, flips = "False", 0
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and flips < 20:
        now = "True" if ready(agent.pod("flap")) else "False"
        if now != last:
            flips, last = flips + 1, now
        time.sleep(0.25)
    assert flips == 20            # 10 times ready, 10 times not ready
    assert restarts(agent, "flap") == 0
    agent.pb("delete", "pod", "flap", "--grace-period", "0", "--wait")


def test_hooks_poststart_exec_and_http_prestop_exec_and_http(agent: Agent) -> None:
    """lifecycle_hook.go with a busybox httpd "netexec": its log shows the hook requests."""
    # busybox httpd logs the path without the query: one directory per hook instead of ?msg=
    server = manifest("hook-server", [ctr("for d in poststart prestop; do mkdir -p /www/$d; echo ok > /www/$d/index.html;"
                                          " done; exec httpd -f -vv -p 8080 -h /www", name="srv")])
    agent.pb("apply", "-f", "-", input=server)
    srv = agent.wait_for("hook-server", ready)
    ip = srv["status"]["podIP"]
    hooked = manifest("hook-pod", [ctr("sleep 600", lifecycle={
        "postStart": {"exec": {"command": ["sh", "-c", f"wget -qO- 'http://{ip}:8080/poststart/'"]}},
        "preStop": {"httpGet": {"path": "/prestop/", "host": ip, "port": 8080}}})],
        terminationGracePeriodSeconds=15)
    agent.pb("apply", "-f", "-", input=hooked)
    agent.wait_for("hook-pod", ready)
    deadline = time.monotonic() + 20
    while "url:/poststart/" not in agent.pb("logs", "hook-server").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "url:/poststart/" in agent.pb("logs", "hook-server").stdout
    agent.pb("delete", "pod", "hook-pod", "--wait")
    assert "url:/prestop/" in agent.pb("logs", "hook-server").stdout
    agent.pb("delete", "pod", "hook-server", "--grace-period", "0", "--wait")


def test_failing_post_start_kills_the_container(agent: Agent) -> None:
    body = manifest("bad-hook", [ctr("sleep 600", lifecycle={"postStart": {"exec": {"command": ["/no/such"]}}})],
                    restartPolicy="Never")
    agent.pb("apply", "-f", "-", input=body)
    agent.wait_for("bad-hook", lambda p: p["status"]["phase"] == "Failed", timeout=30)
    reasons = {e["reason"] for e in events(agent, "bad-hook")}
    assert {"FailedPostStartHook", "Killing"} <= reasons
    agent.pb("delete", "pod", "bad-hook", "--grace-period", "0", "--wait")


def test_prestop_sleep_is_cut_short_by_a_shorter_grace(agent: Agent) -> None:
    """Lifecycle Sleep Hook "reduce GracePeriodSeconds during runtime", at a tenth of the times."""
    body = manifest("sleep-hook", [ctr("sleep 600", lifecycle={"preStop": {"sleep": {"seconds": 20}}})],
                    terminationGracePeriodSeconds=30)
    agent.pb("apply", "-f", "-", input=body)
    agent.wait_for("sleep-hook", ready)
    t0 = time.monotonic()
    agent.pb("delete", "pod", "sleep-hook", "--grace-period", "3", "--wait")
    took = time.monotonic() - t0
    assert 3 <= took <= 8


NR_HUGEPAGES = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")


@pytest.fixture
def two_huge_pages(agent: Agent) -> Iterator[None]:
    """Two 2 MiB pages pre-allocated (as on a node configured for HugePages), until the test ends;
    the Node's allocatable follows within one heartbeat (10 s), and only then can a pod asking for
    them be scheduled."""
    if not NR_HUGEPAGES.exists():
        pytest.skip("no 2 MiB huge pages on this kernel")
    before = int(NR_HUGEPAGES.read_text())
    NR_HUGEPAGES.write_text(str(before + 2))
    try:
        deadline = time.monotonic() + 30
        while True:
            node = json.loads(agent.pb("get", "nodes", "-o", "json").stdout)["items"][0]
            if node["status"]["allocatable"].get("hugepages-2Mi") not in (None, "0"):
                break
            assert time.monotonic() < deadline, f"allocatable never showed the pages: {node['status']['allocatable']}"
            time.sleep(0.5)
        yield
    finally:
        NR_HUGEPAGES.write_text(str(before))


def test_hugepages_emptydir_container_runs(agent: Agent, two_huge_pages: None) -> None:
    """Regression (D4): the HugePages volume mounted, then every container failed to be created."""
    body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "c", "image": BB, "command": ["sh", "-c", "grep -q /huge /proc/mounts && sleep 600"],
                        "resources": {"limits": {"hugepages-2Mi": "4Mi", "memory": "32Mi"}},
                        "volumeMounts": [{"name": "h", "mountPath": "/huge"}]}],
        "volumes": [{"name": "h", "emptyDir": {"medium": "HugePages"}}]}})
    agent.pb("apply", "-f", "-", input=body)
    pod = agent.wait_for("huge", lambda p: "running" in p["status"]["containerStatuses"][0]["state"], timeout=30)
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("//")[1]
    spec = json.loads((agent.root / "containers" / cid / "config.json").read_text())
    assert spec["linux"]["resources"]["hugepageLimits"] == [{"pageSize": "2MB", "limit": 4 << 20}]
    agent.pb("delete", "pod", "huge", "--grace-period", "0", "--wait")


def test_host_port_reaches_the_pod_from_the_host(agent: Agent) -> None:
    """hostPort through the CNI portmap plugin: traffic to the host's address reaches the container."""
    import random
    import socket
    import urllib.request

    port = random.randrange(20000, 30000)
    body = manifest("hostport", [ctr(WEB, ports=[{"containerPort": 80, "hostPort": port}], readinessProbe={
        "httpGet": {"path": "/index.html", "port": 80}, "periodSeconds": 1})])
    agent.pb("apply", "-f", "-", input=body)
    pod = agent.wait_for("hostport", ready, timeout=30)
    host = pod["status"]["hostIP"]
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/index.html", timeout=5) as r:
            assert r.read().decode().strip() == "ok"
    finally:
        agent.pb("delete", "pod", "hostport", "--grace-period", "0", "--wait")
    with socket.socket() as s:             # the mapping is gone with the pod
        s.settimeout(1)
        assert s.connect_ex((host, port)) != 0
