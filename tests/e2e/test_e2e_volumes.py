"""Volume fidelity through a real agent: eviction on sizeLimit, projected volumes, hostPath and subPath errors."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import Agent, pod_manifest

pytestmark = pytest.mark.root

SLEEP = ["sleep", "3600"]


def running(pod: dict[str, Any]) -> bool:
    cs = pod.get("status", {}).get("containerStatuses") or []
    return bool(cs) and all("running" in c["state"] for c in cs)


def waiting_reason(pod: dict[str, Any], idx: int = 0) -> str:
    cs = (pod.get("status", {}).get("containerStatuses") or [{}])[idx]
    return str((cs.get("state") or {}).get("waiting", {}).get("reason", ""))


def test_disk_emptydir_over_size_limit_is_evicted_within_a_second(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "hog", [{"name": "c", "image": "busybox:1.35", "command": SLEEP,
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        [{"name": "data", "emptyDir": {"sizeLimit": "1Mi"}}]))
    pod = agent.wait_for("hog", running)
    host = Path(json.loads(pod["metadata"]["annotations"]["podbay.io/volume-paths"])["data"])
    # Cross the limit from the host side so the crossing instant is known exactly.
    with open(host / "fill", "wb") as f:
        f.write(b"\0" * (1024 * 1024 + 8192))
        f.flush()
        os.fsync(f.fileno())
    crossed = time.monotonic()
    from podbay.client.http import ApiClient
    api = ApiClient(str(agent.socket))
    while time.monotonic() - crossed < 5:
        status = api.get("/api/v1/namespaces/default/pods/hog").get("status", {})
        if status.get("reason") == "Evicted":
            break
        time.sleep(0.005)
    latency = time.monotonic() - crossed
    print(f"\nemptyDir sizeLimit eviction: {latency * 1000:.0f} ms from crossing to phase Failed/Evicted")
    assert status["phase"] == "Failed"
    assert status["message"] == 'Usage of EmptyDir volume "data" exceeds the limit "1Mi". '
    assert latency < 1.0
    final = agent.wait_for("hog", lambda p: all("terminated" in c["state"]
                                                for c in p["status"]["containerStatuses"]))
    assert final["status"]["containerStatuses"][0]["restartCount"] == 0
    assert not host.exists()   # data deleted once the pod is terminal
    events = agent.pb("describe", "pod", "hog").stdout
    assert "Evicted" in events and 'exceeds the limit "1Mi"' in events
    agent.pb("delete", "pod", "hog", "--now", "--wait")


def test_memory_emptydir_is_not_evicted_but_full(agent: Agent) -> None:
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "memfull", [{"name": "c", "image": "busybox:1.35",
                     "command": ["sh", "-c", "dd if=/dev/zero of=/m/f bs=64k count=40; sleep 3600"],
                     "volumeMounts": [{"name": "m", "mountPath": "/m"}]}],
        [{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]))
    agent.wait_for("memfull", running)
    time.sleep(1)
    pod = agent.pod("memfull")
    assert pod["status"]["phase"] == "Running"
    logs = agent.pb("logs", "memfull").stdout
    assert "No space left on device" in logs
    agent.pb("delete", "pod", "memfull", "--now", "--wait")


def test_configmap_and_secret_volumes_and_updates(agent: Agent) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
          "data": {"greeting": "hello", "index.html": "<h1>v1</h1>"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secret"},
              "stringData": {"password": "s3cret"}}
    agent.pb("apply", "-f", "-", input=json.dumps(cm) + "\n---\n" + json.dumps(secret))
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "projected", [{"name": "c", "image": "busybox:1.35", "command": SLEEP,
                       "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "web-config",
                                                                                      "key": "greeting"}}},
                               {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "web-secret",
                                                                               "key": "password"}}}],
                       "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"},
                                        {"name": "sec", "mountPath": "/sec", "readOnly": True},
                                        {"name": "cfg", "mountPath": "/etc/resolv.conf", "subPath": "greeting"},
                                        {"name": "dw", "mountPath": "/dw"}]}],
        [{"name": "cfg", "configMap": {"name": "web-config"}},
         {"name": "sec", "secret": {"secretName": "web-secret", "defaultMode": 0o400}},
         {"name": "dw", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}]))
    agent.wait_for("projected", running)
    out = agent.pb("exec", "projected", "--", "sh", "-c",
                   "cat /cfg/greeting; echo; cat /sec/password; echo; cat /etc/resolv.conf; echo; cat /dw/name; "
                   "echo; stat -L -c %a /sec/password; df /sec | tail -1").stdout.splitlines()
    assert out[:4] == ["hello", "s3cret", "hello", "projected"]
    assert out[4] == "400" and out[5].startswith("tmpfs")
    assert agent.pb("exec", "projected", "--", "sh", "-c", "echo $GREETING $PASS").stdout == "hello s3cret\n"
    cm["data"]["greeting"] = "bonjour"
    agent.pb("apply", "-f", "-", input=json.dumps(cm))
    deadline = time.monotonic() + 15
    seen = ""
    while time.monotonic() < deadline:
        seen = agent.pb("exec", "projected", "--", "cat", "/cfg/greeting").stdout
        if seen == "bonjour":
            break
        time.sleep(0.3)
    assert seen == "bonjour"
    # A subPath mount does not receive updates (as upstream).
    assert agent.pb("exec", "projected", "--", "cat", "/etc/resolv.conf").stdout == "hello"
    agent.pb("delete", "pod", "projected", "--now", "--wait")


def test_hostpath_type_mismatch_is_reported_like_the_kubelet(agent: Agent, tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("x")
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "hp-bad", [{"name": "c", "image": "busybox:1.35", "command": SLEEP,
                    "volumeMounts": [{"name": "h", "mountPath": "/h"}]}],
        [{"name": "h", "hostPath": {"path": str(afile), "type": "Directory"}}]))
    agent.wait_for("hp-bad", lambda p: waiting_reason(p) == "ContainerCreating")
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline and "FailedMount" not in text:
        text = agent.pb("describe", "pod", "hp-bad").stdout
        time.sleep(0.2)
    assert f'MountVolume.SetUp failed for volume "h" : hostPath type check failed: {afile} is not a directory' \
        in text.replace("\n", " ").replace("  ", " ") or "is not a directory" in text
    assert agent.pod("hp-bad")["status"]["phase"] == "Pending"
    agent.pb("delete", "pod", "hp-bad", "--now", "--wait")
    assert afile.read_text() == "x"   # never touched


@pytest.mark.parametrize("setup", ["dir-link", "file-link", "dangling", "backstep"])
def test_subpath_escapes_are_refused(agent: Agent, setup: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host secret")
    link_target = {"dir-link": str(outside), "file-link": str(outside / "secret"),
                   "dangling": str(tmp_path / "nope"), "backstep": "../../../../../../.."}[setup]
    name = f"esc-{setup}"
    init = {"name": "plant", "image": "busybox:1.35", "command": ["ln", "-s", link_target, "/v/link"],
            "volumeMounts": [{"name": "v", "mountPath": "/v"}]}
    main = {"name": "c", "image": "busybox:1.35", "command": SLEEP,
            "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "link"}]}
    agent.pb("apply", "-f", "-", input=pod_manifest(name, [main], [{"name": "v", "emptyDir": {}}],
                                                    initContainers=[init]))
    pod = agent.wait_for(name, lambda p: waiting_reason(p) == "CreateContainerConfigError", timeout=20)
    msg = pod["status"]["containerStatuses"][0]["state"]["waiting"].get("message", "")
    assert "subPath" in msg
    uid = pod["metadata"]["uid"]
    subpaths = agent.root / "pods" / uid / "volume-subpaths"
    from podbay.sys.mount import mounts_under
    assert not mounts_under(str(subpaths))
    assert (outside / "secret").read_text() == "host secret"
    agent.pb("delete", "pod", name, "--now", "--wait")


def test_subpath_expr_creates_the_directory(agent: Agent) -> None:
    ctr = {"name": "dapi-container", "image": "busybox:1.35",
           "command": ["sh", "-c", "test -d /testcontainer/var-exp; echo $?"],
           "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
           "volumeMounts": [{"name": "workdir1", "mountPath": "/logscontainer", "subPathExpr": "$(POD_NAME)"},
                            {"name": "workdir1", "mountPath": "/testcontainer"}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("var-exp", [ctr], [{"name": "workdir1", "emptyDir": {}}],
                                                    restartPolicy="Never"))
    agent.wait_for("var-exp", lambda p: p["status"]["phase"] == "Succeeded")
    assert agent.pb("logs", "var-exp").stdout.strip() == "0"
    agent.pb("delete", "pod", "var-exp", "--now", "--wait")


def test_init_container_fills_an_emptydir_that_the_app_serves(agent: Agent) -> None:
    agent.pb("apply", "-f", str(Path(__file__).parents[2] / "examples" / "init-fill-serve.yaml"))
    pod = agent.wait_for("web", running)
    init = pod["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["exitCode"] == 0 and init["ready"] is True
    ip = pod["status"]["podIP"]
    body = agent.pb("exec", "web", "--", "wget", "-qO-", f"http://{ip}:8080/index.html").stdout
    assert "hello from podbay" in body
    agent.pb("delete", "pod", "web", "--now", "--wait")


def test_persistent_volume_claim_outlives_pods(agent: Agent) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    agent.pb("apply", "-f", "-", input=json.dumps(claim))
    # podbay-local is WaitForFirstConsumer: the claim binds when its first pod is scheduled.
    assert "Pending" in agent.pb("get", "pvc", "data").stdout
    vol = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    writer = {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "echo persisted > /data/file"],
              "volumeMounts": [{"name": "d", "mountPath": "/data"}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("pvc-writer", [writer], vol, restartPolicy="Never"))
    agent.wait_for("pvc-writer", lambda p: p["status"]["phase"] == "Succeeded")
    table = agent.pb("get", "pvc", "data").stdout
    assert "Bound" in table and "1Gi" in table and "RWO" in table
    agent.pb("delete", "pod", "pvc-writer", "--now", "--wait")
    reader = {"name": "c", "image": "busybox:1.35", "command": ["cat", "/data/file"],
              "volumeMounts": [{"name": "d", "mountPath": "/data", "readOnly": True}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("pvc-reader", [reader], vol, restartPolicy="Never"))
    agent.wait_for("pvc-reader", lambda p: p["status"]["phase"] == "Succeeded")
    assert agent.pb("logs", "pvc-reader").stdout == "persisted\n"
    volume_name = json.loads(agent.pb("get", "pvc", "data", "-o", "json").stdout)["spec"]["volumeName"]
    claim_dir = agent.root / "pv" / volume_name
    assert (claim_dir / "file").exists()
    agent.pb("delete", "pod", "pvc-reader", "--now", "--wait")
    agent.pb("delete", "pvc", "data")
    deadline = time.monotonic() + 10
    while claim_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not claim_dir.exists()


def test_mount_propagation_bidirectional_to_host_to_container(agent: Agent) -> None:
    mounter = {"name": "mounter", "image": "busybox:1.35", "securityContext": {"privileged": True},
               "command": ["sh", "-c", "mkdir -p /shared/m && mount -t tmpfs -o size=1m tmpfs /shared/m && "
                                       "echo from-mounter > /shared/m/f && sleep 3600"],
               "volumeMounts": [{"name": "shared", "mountPath": "/shared", "mountPropagation": "Bidirectional"}]}
    watcher = {"name": "watcher", "image": "busybox:1.35", "command": ["sleep", "3600"],
               "volumeMounts": [{"name": "shared", "mountPath": "/seen", "mountPropagation": "HostToContainer"}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("prop", [mounter, watcher], [{"name": "shared", "emptyDir": {}}]))
    pod = agent.wait_for("prop", running)
    host = Path(json.loads(pod["metadata"]["annotations"]["podbay.io/volume-paths"])["shared"])
    deadline = time.monotonic() + 10
    while not (host / "m" / "f").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (host / "m" / "f").read_text() == "from-mounter\n"        # container -> host (Bidirectional)
    assert agent.pb("exec", "prop", "-c", "watcher", "--", "cat", "/seen/m/f").stdout == "from-mounter\n"
    agent.pb("delete", "pod", "prop", "--now", "--wait")
    from podbay.sys.mount import mounts_under
    assert not mounts_under(str(host)) and not host.exists()


def test_writable_layer_over_ephemeral_storage_limit_is_evicted(agent: Agent) -> None:
    ctr = {"name": "c", "image": "busybox:1.35",
           "command": ["sh", "-c", "sleep 1; dd if=/dev/zero of=/tmp/big bs=64k count=40; sleep 3600"],
           "resources": {"limits": {"ephemeral-storage": "1Mi"}}}
    agent.pb("apply", "-f", "-", input=pod_manifest("rootfs-hog", [ctr]))
    pod = agent.wait_for("rootfs-hog", lambda p: p["status"].get("reason") == "Evicted", timeout=20)
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["message"] == \
        "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi. "
    agent.pb("delete", "pod", "rootfs-hog", "--now", "--wait")


@pytest.mark.parametrize(("mode", "sub_writable"), [("Disabled", True), ("Enabled", False), ("IfPossible", False)])
def test_recursive_read_only(agent: Agent, tmp_path: Path, mode: str, sub_writable: bool) -> None:
    from podbay.sys.mount import mount, umount

    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    mount("tmpfs", str(src / "sub"), "tmpfs", 0, "size=1m")
    try:
        name = f"rro-{mode.lower()}"
        ctr = {"name": "c", "image": "busybox:1.35", "command": SLEEP,
               "volumeMounts": [{"name": "h", "mountPath": "/v", "readOnly": True, "recursiveReadOnly": mode}]}
        agent.pb("apply", "-f", "-", input=pod_manifest(name, [ctr], [{"name": "h", "hostPath": {"path": str(src)}}]))
        agent.wait_for(name, running)
        top = agent.pb("exec", name, "--", "touch", "/v/top", check=False)
        sub = agent.pb("exec", name, "--", "touch", "/v/sub/x", check=False)
        assert top.returncode != 0 and "Read-only file system" in top.stderr
        assert (sub.returncode == 0) == sub_writable
        agent.pb("delete", "pod", name, "--now", "--wait")
    finally:
        umount(str(src / "sub"))
