"""Acceptance tests of the foundation issue, through the CLI, the API and a real agent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import PODBAY, Agent, conmon_pids, pod_manifest

from podbay.sys.mount import mounts_under

pytestmark = pytest.mark.root

SEED_PODCONS = """
apiVersion: v1
kind: Pod
metadata:
  name: producer-consumer
spec:
  containers:
  - image: busybox:1.35
    name: producer
    volumeMounts:
    - mountPath: /producer_dir
      name: shared-volume
    args:
    - /bin/sh
    - -c
    - for i in $(seq 1 1000); do echo $i >> /producer_dir/hello; sleep 0.2; done
  - image: busybox:1.35
    name: consumer
    volumeMounts:
    - mountPath: /consumer_dir
      name: shared-volume
    args:
    - /bin/sh
    - -c
    - while [ ! -f /consumer_dir/hello ]; do sleep 0.1; done; tail -f /consumer_dir/hello
  volumes:
  - name: shared-volume
    emptyDir: {}
"""


def running(pod: dict[str, Any]) -> bool:
    cs = pod.get("status", {}).get("containerStatuses") or []
    return pod.get("status", {}).get("phase") == "Running" and bool(cs) and all("running" in c["state"] for c in cs)



def test_producer_consumer_shares_an_emptydir(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=SEED_PODCONS)
    pod = agent.wait_for("producer-consumer", running)
    uid = pod["metadata"]["uid"]
    host_dir = agent.root / "pods" / uid / "volumes" / "kubernetes.io~empty-dir" / "shared-volume"
    deadline = time.monotonic() + 15
    logs = ""
    while time.monotonic() < deadline:
        logs = agent.pb("logs", "producer-consumer", "-c", "consumer").stdout
        if len(logs.split()) >= 3:
            break
        time.sleep(0.3)
    assert logs.split()[:3] == ["1", "2", "3"]
    cat = agent.pb("exec", "producer-consumer", "-c", "producer", "--", "cat", "/producer_dir/hello").stdout
    assert cat.split()[:3] == ["1", "2", "3"]
    assert (host_dir / "hello").read_text().split()[:3] == ["1", "2", "3"]
    assert oct(host_dir.stat().st_mode & 0o7777) == "0o777"
    described = agent.pb("describe", "pod", "producer-consumer").stdout
    assert str(host_dir) in described
    conmons = conmon_pids(agent.root)
    assert len(conmons) == 2
    agent.pb("delete", "pod", "producer-consumer", "--grace-period", "1", "--wait")
    assert agent.pb("get", "pod", "producer-consumer", check=False).returncode == 1
    assert not (agent.root / "pods" / uid).exists()
    assert not mounts_under(str(agent.root / "pods" / uid))
    assert not mounts_under(str(agent.root / "containers"))
    assert not (agent.run_dir / "ns" / uid).exists()
    assert not any(Path(f"/sys/fs/cgroup/{c}/podbay/pod{uid}").exists() for c in ("memory", "pids", "cpu"))
    time.sleep(0.2)
    assert all(not Path(f"/proc/{p}").exists() or "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]
               for p in conmons)


def test_memory_emptydir_size_limit(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "memvol", [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "m", "mountPath": "/mem"}]}],
        [{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "10Mi"}}]))
    agent.wait_for("memvol", running)
    df = agent.pb("exec", "memvol", "--", "df", "-k", "/mem").stdout.splitlines()[-1].split()
    assert df[0] == "tmpfs" and df[1] == "10240"
    res = agent.pb("exec", "memvol", "--", "dd", "if=/dev/zero", "of=/mem/big", "bs=1M", "count=11", check=False)
    assert res.returncode != 0
    assert "No space left on device" in res.stderr + res.stdout
    agent.pb("delete", "pod", "memvol", "--now", "--wait")


def test_localhost_inside_pod_and_pod_ip_between_pods(agent: Agent) -> None:
    server = {"name": "server", "image": "busybox:1.35",
              "command": ["sh", "-c", "while true; do echo pong | nc -l -p 8080; done"]}
    client = {"name": "client", "image": "busybox:1.35", "command": ["sleep", "3600"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("net-a", [server, client]))
    agent.pb("apply", "-f", "-", input=pod_manifest("net-b", [client]))
    a = agent.wait_for("net-a", running)
    agent.wait_for("net-b", running)
    out = agent.pb("exec", "net-a", "-c", "client", "--", "sh", "-c", "nc 127.0.0.1 8080 </dev/null").stdout
    assert out.strip() == "pong"
    ip = a["status"]["podIP"]
    assert ip.startswith(agent.subnet.rsplit(".", 1)[0])
    out = agent.pb("exec", "net-b", "--", "sh", "-c", f"nc {ip} 8080 </dev/null").stdout
    assert out.strip() == "pong"
    assert agent.pb("exec", "net-a", "-c", "client", "--", "hostname").stdout.strip() == "net-a"
    hosts = agent.pb("exec", "net-a", "-c", "client", "--", "cat", "/etc/hosts").stdout
    assert "# Kubernetes-managed hosts file." in hosts and f"{ip}\tnet-a" in hosts
    agent.pb("delete", "pod", "net-a", "net-b", "--now", "--wait")


def test_crash_restarts_with_backoff_and_keeps_emptydir(agent: Agent) -> None:
    crasher = {"name": "crash", "image": "busybox:1.35",
               "command": ["sh", "-c", "cut -d' ' -f1 /proc/uptime >> /data/starts; sleep 0.3; exit 3"],
               "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("crashy", [crasher], [{"name": "data", "emptyDir": {}}]))

    def restarted_twice(p: dict[str, Any]) -> bool:
        cs = (p.get("status", {}).get("containerStatuses") or [{}])[0]
        return int(cs.get("restartCount", 0)) >= 2

    pod = agent.wait_for("crashy", restarted_twice, timeout=40)
    cs = pod["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    uid = pod["metadata"]["uid"]
    starts = (agent.root / "pods" / uid / "volumes" / "kubernetes.io~empty-dir" / "data" / "starts").read_text()
    stamps = [float(x) for x in starts.split()]
    assert len(stamps) >= 3
    # First restart is immediate, the next waits the 10 s back-off (kubelet's flowcontrol.Backoff).
    assert stamps[2] - stamps[1] >= 10.0
    later = agent.wait_for("crashy", lambda p: "waiting" in p["status"]["containerStatuses"][0]["state"] and
                           p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff",
                           timeout=30)
    assert "back-off" in later["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    agent.pb("delete", "pod", "crashy", "--now", "--wait")


def test_agent_sigkill_keeps_pods_and_adopts_them(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=SEED_PODCONS.replace("producer-consumer", "survivor"))
    once = {"name": "once", "image": "busybox:1.35", "command": ["sh", "-c", "sleep 2; exit 1"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("exits-while-down", [once], restartPolicy="OnFailure"))
    agent.wait_for("survivor", running)
    agent.wait_for("exits-while-down", running)
    before = agent.pb("logs", "survivor", "-c", "consumer").stdout.split()
    agent.kill(signal.SIGKILL)
    time.sleep(3)   # "once" exits while the agent is down
    agent.start()
    pod = agent.wait_for("survivor", running)
    assert all(c["restartCount"] == 0 for c in pod["status"]["containerStatuses"])
    time.sleep(1)
    after = agent.pb("logs", "survivor", "-c", "consumer").stdout.split()
    assert len(after) > len(before) and after[:len(before)] == before
    restarted = agent.wait_for("exits-while-down",
                               lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 1, timeout=20)
    assert restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    agent.pb("delete", "pod", "survivor", "exits-while-down", "--now", "--wait")


INVALID = [
    ({"metadata": {"name": "Bad_Name"}}, 'metadata.name: Invalid value: "Bad_Name"'),
    ({"spec": {"containers": []}}, "spec.containers: Required value"),
    ({"spec": {"restartPolicy": "Sometimes"}},
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ({"spec": {"volumes": [{"name": "d", "emptyDir": {}}, {"name": "d", "emptyDir": {}}]}},
     'spec.volumes[1].name: Duplicate value: "d"'),
    ({"spec": {"volumes": [{"name": "h", "hostPath": {"path": "/a/../b"}}]}},
     "spec.volumes[0].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'"),
]


@pytest.mark.parametrize(("patch", "expected"), INVALID)
def test_invalid_manifests_are_rejected_and_create_nothing(agent: Agent, patch: dict[str, Any], expected: str) -> None:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "invalid"},
                            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}}
    for key, value in patch.items():
        body[key] = {**body[key], **value}
    res = agent.pb("apply", "-f", "-", input=json.dumps(body), check=False)
    assert res.returncode == 1
    assert expected in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert agent.pb("get", "pod", body["metadata"]["name"], check=False).returncode == 1


def test_unreachable_agent_gives_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PODBAY_SOCKET": str(tmp_path / "nope.sock")}
    import sys
    res = subprocess.run([sys.executable, "-m", "podbay", "get", "pods"], env=env, capture_output=True,
                         text=True)
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "cannot reach the podbay agent" in res.stderr


def test_share_process_namespace(agent: Agent) -> None:
    a = {"name": "a", "image": "busybox:1.35", "command": ["sleep", "3600"]}
    b = {"name": "b", "image": "busybox:1.35", "command": ["sleep", "3601"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("spn", [a, b], shareProcessNamespace=True))
    agent.wait_for("spn", running)
    ps = agent.pb("exec", "spn", "-c", "a", "--", "ps", "-o", "pid,args").stdout
    assert "1 /catatonit -P" in " ".join(ps.split())
    assert "sleep 3601" in ps   # the other container's process is visible
    alone = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3602"]}
    agent.pb("apply", "-f", "-", input=pod_manifest("nospn", [alone, b]))
    agent.wait_for("nospn", running)
    ps = agent.pb("exec", "nospn", "-c", "c", "--", "ps", "-o", "pid,args").stdout
    assert "sleep 3601" not in ps and "1 sleep 3602" in " ".join(ps.split())
    agent.pb("delete", "pod", "spn", "nospn", "--now", "--wait")


def _waiting(pod: dict[str, Any]) -> str:
    cs = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
    return str((cs.get("state") or {}).get("waiting", {}).get("reason", ""))


def test_missing_image_is_err_image_pull_then_back_off(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "noimage", [{"name": "c", "image": "example.invalid/nope:1", "command": ["true"]}]))
    pod = agent.wait_for("noimage", lambda p: _waiting(p) in ("ErrImagePull", "ImagePullBackOff"))
    msg = pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    # the registry's host cannot be resolved (.invalid never is): the transport's error, as CRI-O reports it
    assert "pinging container registry example.invalid" in msg and "no such host" in msg
    # One second after the failed pull the status moves on to the back-off, as with the kubelet.
    pod = agent.wait_for("noimage", lambda p: _waiting(p) == "ImagePullBackOff", timeout=5)
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"].startswith(
        'Back-off pulling image "example.invalid/nope:1": ErrImagePull: pinging container registry example.invalid')
    assert "ImagePullBackOff" in agent.pb("get", "pod", "noimage").stdout
    agent.pb("delete", "pod", "noimage", "--now", "--wait")


def test_resources_and_security_context_reach_the_container(agent: Agent) -> None:
    ctr = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
           "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
           "securityContext": {"runAsUser": 1001, "runAsGroup": 1001, "readOnlyRootFilesystem": True,
                               "capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False}}
    agent.pb("apply", "-f", "-", input=pod_manifest("limited", [ctr]))
    agent.wait_for("limited", running)
    out = agent.pb("exec", "limited", "--", "sh", "-c",
                   "id -u; id -g; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                   "cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; "
                   "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; touch /x 2>&1; true").stdout
    lines = out.splitlines()
    assert lines[0] == "1001" and lines[1] == "1001"
    assert lines[2] == str(64 * 1024 * 1024)
    assert lines[3] == "50000"
    assert "0000000000000000" in lines[4]
    assert lines[5].split()[-1] == "1"
    assert "Read-only file system" in out
    agent.pb("delete", "pod", "limited", "--now", "--wait")


def _base() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "emptyDir": {}}]}}


def _c(**kw: Any) -> Any:
    def apply(p: dict[str, Any]) -> None:
        p["spec"]["containers"][0].update(kw)
    return apply


def _spec(**kw: Any) -> Any:
    def apply(p: dict[str, Any]) -> None:
        p["spec"].update(kw)
    return apply


def _vol(v: dict[str, Any]) -> Any:
    def apply(p: dict[str, Any]) -> None:
        p["spec"]["volumes"][0] = v
    return apply


def _mount(**kw: Any) -> Any:
    def apply(p: dict[str, Any]) -> None:
        p["spec"]["containers"][0]["volumeMounts"][0].update(kw)
    return apply


API_INVALID: list[tuple[str, Any, str]] = [
    ("pod-name", lambda p: p["metadata"].update(name="Bad_Name"),
     'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of'),
    ("no-containers", _spec(containers=[]), "spec.containers: Required value"),
    ("restart-policy", _spec(restartPolicy="Sometimes"),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ("dup-volume", _spec(volumes=[{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]),
     'spec.volumes[1].name: Duplicate value: "data"'),
    ("volume-name", _vol({"name": "My_Vol", "emptyDir": {}}),
     'spec.volumes[0].name: Invalid value: "My_Vol": a lowercase RFC 1123 label must consist of'),
    ("two-sources", _vol({"name": "data", "emptyDir": {}, "hostPath": {"path": "/tmp"}}),
     "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"),
    ("size-limit", _vol({"name": "data", "emptyDir": {"sizeLimit": "-1"}}),
     "spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity"),
    ("hostpath-dotdot", _vol({"name": "data", "hostPath": {"path": "/a/../b"}}),
     "spec.volumes[0].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'"),
    ("hostpath-type", _vol({"name": "data", "hostPath": {"path": "/tmp", "type": "Dir"}}),
     'spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", '
     '"Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'),
    ("mount-not-found", _mount(name="nope"), 'spec.containers[0].volumeMounts[0].name: Not found: "nope"'),
    ("mount-path", _mount(mountPath=""), "spec.containers[0].volumeMounts[0].mountPath: Required value"),
    ("subpath-abs", _mount(subPath="/etc"),
     'spec.containers[0].volumeMounts.subPath: Invalid value: "/etc": must be a relative path'),
    ("subpath-dotdot", _mount(subPath="a/../b"),
     "spec.containers[0].volumeMounts.subPath: Invalid value: \"a/../b\": must not contain '..'"),
    ("subpathexpr-both", _mount(subPath="a", subPathExpr="$(X)"),
     'spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(X)": subPathExpr and subPath are '
     "mutually exclusive"),
    ("propagation", _mount(mountPropagation="Foo"),
     'spec.containers[0].volumeMounts.mountPropagation: Unsupported value: "Foo": supported values: '
     '"Bidirectional", "HostToContainer", "None"'),
    ("bidirectional", _mount(mountPropagation="Bidirectional"),
     "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available "
     "only to privileged containers"),
    ("container-name", _c(name="Web"), 'spec.containers[0].name: Invalid value: "Web"'),
    ("image-missing", _c(image=""), "spec.containers[0].image: Required value"),
    ("image-space", _c(image=" busybox"),
     'spec.containers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace'),
    ("dup-container", _spec(containers=[{"name": "c", "image": "busybox:1.35"}, {"name": "c", "image": "x"}]),
     'spec.containers[1].name: Duplicate value: "c"'),
    ("init-collision", _spec(initContainers=[{"name": "c", "image": "busybox:1.35"}]),
     'spec.initContainers[0].name: Duplicate value: "c"'),
    ("deadline", _spec(activeDeadlineSeconds=0),
     "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"),
    ("hostname", _spec(hostname="Not_A_Label"), 'spec.hostname: Invalid value: "Not_A_Label"'),
    ("limits", _c(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
     'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ("spn-hostpid", _spec(shareProcessNamespace=True, hostPID=True),
     "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot "
     "both be enabled"),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), API_INVALID, ids=[c[0] for c in API_INVALID])
def test_api_rejects_invalid_pods_with_kubernetes_messages(agent: Agent, case: str, mutate: Any,
                                                          expected: str) -> None:
    from podbay.client.http import ApiClient, ApiError

    body = _base()
    mutate(body)
    api = ApiClient(str(agent.socket))
    pods_dir = agent.root / "pods"
    before = sorted(pods_dir.iterdir()) if pods_dir.exists() else []
    rv_before = api.get("/api/v1/namespaces/default/pods")["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as info:
        api.post("/api/v1/namespaces/default/pods", body)
    status = info.value.status
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert expected in status["message"], status["message"]
    assert status["message"].startswith(f'Pod "{body["metadata"]["name"]}" is invalid: ')
    assert any(expected.split(": ", 1)[0] == c["field"] for c in status["details"]["causes"])
    with pytest.raises(ApiError):
        api.get(f"/api/v1/namespaces/default/pods/{body['metadata']['name']}")
    # Nothing was created: no new pod directory, no new object version.
    assert (sorted(pods_dir.iterdir()) if pods_dir.exists() else []) == before
    assert api.get("/api/v1/namespaces/default/pods")["metadata"]["resourceVersion"] == rv_before


def test_host_reboot_rebuilds_the_sandbox(agent: Agent) -> None:
    """Simulated reboot: agent down, the containers gone, a new boot id (namespaces, veths and iptables
    rules cannot be made to vanish like a reboot does, so the agent's DEL really runs here)."""
    import sqlite3

    agent.pb("apply", "-f", "-", input=pod_manifest(
        "rebooted", [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}]))
    pod = agent.wait_for("rebooted", running)
    agent.kill(signal.SIGKILL)
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("//", 1)[1]
    runtime_root = next((agent.run_dir / "runtime").iterdir())
    binary = runtime_root.name
    subprocess.run([binary, "--root", str(runtime_root), "kill", cid, "KILL"], check=True)
    deadline = time.monotonic() + 10
    while subprocess.run([binary, "--root", str(runtime_root), "state", cid], capture_output=True,
                         text=True).stdout.count('"running"') and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run([binary, "--root", str(runtime_root), "delete", "-f", cid], capture_output=True)
    db = sqlite3.connect(agent.root / "state.db")
    db.execute("UPDATE meta SET value='a-previous-boot' WHERE key='boot_id'")
    db.commit()
    db.close()
    agent.start()
    back = agent.wait_for("rebooted", lambda p: running(p) and
                          p["status"]["containerStatuses"][0]["restartCount"] >= 1, timeout=30)
    assert back["status"]["podIP"]
    out = agent.pb("exec", "rebooted", "--", "hostname").stdout.strip()
    assert out == "rebooted"
    agent.pb("delete", "pod", "rebooted", "--now", "--wait")


def test_second_agent_side_by_side_leaves_no_mount_after_stop(tmp_path: Path) -> None:
    """Another agent with its own root, run dir, socket, bridge and subnet; a clean stop leaves nothing mounted."""
    from e2e_harness import Agent as Harness

    from podbay.sys.mount import mounts_under

    second = Harness(tmp_path)
    second.root.mkdir(parents=True)
    second.start()
    try:
        assert second.pb("get", "pods").returncode == 0
        assert str(second.root.resolve()) in mounts_under(str(second.root.resolve()))  # shared self-bind
    finally:
        second.kill(signal.SIGTERM)
        subprocess.run(["nft", "delete", "table", "ip", f"podbay-{second.bridge}"], capture_output=True)
        subprocess.run(["ip", "link", "del", second.bridge], capture_output=True)
        shutil.rmtree(second.run_dir, ignore_errors=True)
    assert mounts_under(str(second.root.resolve())) == []


def test_memory_limit_oom_kill_is_reported(agent: Agent) -> None:
    ctr = {"name": "c", "image": "busybox:1.35", "command": ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
           "resources": {"limits": {"memory": "32Mi"}}}
    agent.pb("apply", "-f", "-", input=pod_manifest("oom", [ctr], restartPolicy="Never"))
    pod = agent.wait_for("oom", lambda p: p["status"]["phase"] == "Failed")
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 137 and term["reason"] == "OOMKilled"
    agent.pb("delete", "pod", "oom", "--now", "--wait")


def test_orphans_left_by_a_crash_are_collected_at_start(agent: Agent) -> None:
    """A pod whose record vanished (as if the agent died mid-create/teardown) is cleaned at the next start."""
    import sqlite3

    agent.pb("apply", "-f", "-", input=pod_manifest(
        "orphan", [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}],
        [{"name": "m", "emptyDir": {"medium": "Memory"}}]))
    pod = agent.wait_for("orphan", running)
    uid = pod["metadata"]["uid"]
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("//", 1)[1]
    agent.kill(signal.SIGKILL)
    db = sqlite3.connect(agent.root / "state.db")
    db.execute("DELETE FROM containers WHERE pod_uid=?", (uid,))
    db.execute("DELETE FROM objects WHERE uid=?", (uid,))
    db.commit()
    db.close()
    agent.start()
    from podbay.sys.mount import mounts_under
    # Start-up GC runs in the background after adoption: wait for all of it, not only the container.
    def collected() -> bool:
        return not (agent.root / "containers" / cid).exists() and not (agent.root / "pods" / uid).exists() \
            and not (agent.run_dir / "ns" / uid).exists() and not any(
                Path(f"/sys/fs/cgroup/{c}/podbay/pod{uid}").exists() for c in ("memory", "pids", "cpu"))
    deadline = time.monotonic() + 10
    while not collected() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (agent.root / "containers" / cid).exists()
    assert not (agent.root / "pods" / uid).exists() and not mounts_under(str(agent.root / "pods" / uid))
    assert not (agent.run_dir / "ns" / uid).exists()
    assert not any(Path(f"/sys/fs/cgroup/{c}/podbay/pod{uid}").exists() for c in ("memory", "pids", "cpu"))
    assert not conmon_pids(agent.root) or all(
        cid not in Path(f"/proc/{p}/cmdline").read_text(errors="replace") for p in conmon_pids(agent.root))


def test_container_logs_rotate_like_the_kubelet(tmp_path: Path) -> None:
    """A second agent with a 16Ki log limit and a 0.3 s check: rotation, gzip, and `logs -f` across it."""
    from e2e_harness import Agent as Harness

    second = Harness(tmp_path)
    second.root.mkdir(parents=True)
    second.pb("image", "load", str(Path(__file__).parents[2] / "_work" / "busybox-1.35.tar"))
    second.extra_args = ["--container-log-max-size", "16Ki", "--container-log-max-files", "3",
                         "--container-log-monitor-interval", "0.3"]
    second.start()
    try:
        # The container prints "ready" and writes nothing more until the follower is attached (a file in a
        # hostPath): `logs -f` on a container still being created is an error, as with kubectl and the
        # kubelet, and a follower started late would miss lines already rotated away.
        gate = tmp_path / "gate"
        gate.mkdir()
        chatty = {"name": "c", "image": "busybox:1.35", "volumeMounts": [{"name": "gate", "mountPath": "/gate"}],
                  "command": ["sh", "-c", "echo ready; while [ ! -e /gate/go ]; do sleep 0.05; done; "
                                          "i=0; while [ $i -lt 4000 ]; do echo line-$i; i=$((i+1)); "
                                          "[ $((i % 100)) = 0 ] && sleep 0.05; done; sleep 3600"]}
        second.pb("apply", "-f", "-", input=pod_manifest(
            "chatty", [chatty], [{"name": "gate", "hostPath": {"path": str(gate), "type": "Directory"}}]))
        pod = second.wait_for("chatty", running)
        follow = subprocess.Popen([*PODBAY, "logs", "-f", "chatty"], env=second.env, stdout=subprocess.PIPE,
                                  text=True)
        log_dir = second.root / "logs" / f"default_chatty_{pod['metadata']['uid']}" / "c"
        assert follow.stdout is not None
        assert follow.stdout.readline().strip() == "ready"
        (gate / "go").touch()
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline and len(seen) < 4000:
            line = follow.stdout.readline()
            if not line:
                break   # the follower ended: report what it had, not a list of empty reads
            seen.append(line.strip())
        follow.kill()
        follow.wait()
        follow.stdout.close()
        assert seen == [f"line-{i}" for i in range(4000)]   # nothing lost or repeated across rotations
        files = sorted(p.name for p in log_dir.iterdir())
        assert "0.log" in files and len(files) <= 3
        assert any(f.endswith(".gz") for f in files) and any(f.count(".") == 2 for f in files)
    finally:
        second.pb("delete", "pod", "chatty", "--now", "--wait", check=False)
        second.kill(signal.SIGTERM)
        subprocess.run(["nft", "delete", "table", "ip", f"podbay-{second.bridge}"], capture_output=True)
        subprocess.run(["ip", "link", "del", second.bridge], capture_output=True)
        shutil.rmtree(second.run_dir, ignore_errors=True)


def test_a_second_delete_shortens_the_grace_period(agent: Agent) -> None:
    stubborn = {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "trap '' TERM; sleep 3600"]}
    body = json.loads(pod_manifest("stubborn", [stubborn]))
    body["spec"]["terminationGracePeriodSeconds"] = 60
    agent.pb("apply", "-f", "-", input=json.dumps(body))
    agent.wait_for("stubborn", running)
    agent.pb("delete", "pod", "stubborn", "--wait=false")          # 60 s grace: TERM is ignored
    time.sleep(1)
    assert agent.pb("get", "pod", "stubborn").returncode == 0
    t0 = time.monotonic()
    agent.pb("delete", "pod", "stubborn", "--now", "--wait")       # grace 1: SIGKILL comes forward
    assert time.monotonic() - t0 < 10
