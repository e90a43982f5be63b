"""``podbay describe``: the pod describe (kubectl's sections, volume host paths and usage, events), the
ConfigMap/Secret/PVC describers against the real API, the generic describer's labels."""

from __future__ import annotations

import base64
import json
from typing import Any

from conftest import NOW, ApiServer, ts

from podbay.cli.describe import describe_pod, human_bytes, qos_class
from podbay.cli.describers import camel_split, smart_label


def make_pod(name: str, ns: str = "default", *, containers: tuple[str, ...] = ("app",), age: int = 65,
             restarts: int = 0, ip: str = "10.88.0.5") -> dict[str, Any]:
    statuses = [
        {"name": c, "ready": True, "restartCount": restarts, "image": "busybox:1.36",
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
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "192.0.2.1",
                   "startTime": ts(age), "containerStatuses": statuses,
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _pod() -> dict[str, Any]:
    p = make_pod("web", restarts=1)
    p["metadata"]["annotations"] = {"podbay.io/volume-paths": json.dumps({"cache": "/var/lib/podbay/pods/u/cache"})}
    c = p["spec"]["containers"][0]
    c.update(
        command=["sh", "-c"], args=["sleep 3600"], ports=[{"containerPort": 80, "protocol": "TCP"}],
        env=[{"name": "A", "value": "1"}],
        volumeMounts=[{"name": "host", "mountPath": "/h", "readOnly": True}, {"name": "cache", "mountPath": "/cache"}],
        resources={"limits": {"memory": "64Mi"}},
    )
    p["status"]["containerStatuses"][0]["lastState"] = {
        "terminated": {"exitCode": 137, "reason": "Error", "startedAt": ts(100), "finishedAt": ts(70)}
    }
    p["spec"]["volumes"] = [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
                            {"name": "host", "hostPath": {"path": "/srv", "type": "Directory"}}]
    return p


def test_describe_sections() -> None:
    text = describe_pod(_pod(), [], NOW)
    lines = text.splitlines()
    assert lines[:3] == ["Name:         web", "Namespace:    default", "Node:         node1/192.0.2.1"]
    assert "Labels:       app=web" in lines
    assert "IPs:" in lines and "  IP:  10.88.0.5" in lines
    for expected in [
        "    Container ID:  crun://app0001",
        "    Port:          80/TCP",
        "    Command:", "      sh", "      -c", "    Args:", "      sleep 3600",
        "    State:          Running",
        "    Last State:     Terminated",
        "      Reason:       Error",
        "      Exit Code:    137",
        "    Restart Count:  1",
        "    Limits:",
        "      memory:  64Mi",
        "      A:  1",
        "      /cache from cache (rw)",
        "      /h from host (ro)",
        "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)",
        "    SizeLimit:  1Gi",
        "    Host Path:  /var/lib/podbay/pods/u/cache",
        "    Type:          HostPath (bare host directory volume)",
        "    HostPathType:  Directory",
        "  Ready   True ",
    ]:
        assert expected in lines, expected
    assert lines[-4:] == ["QoS Class:         Burstable", "Node-Selectors:    <none>", "Tolerations:       <none>",
                          "Events:            <none>"]
    assert lines.index("      /cache from cache (rw)") < lines.index("      /h from host (ro)")  # sorted by path


def test_describe_events_table() -> None:
    events = [
        {"type": "Normal", "reason": "Started", "message": "Started container app", "source": {"component": "kubelet"},
         "firstTimestamp": ts(60), "lastTimestamp": ts(60), "count": 1},
        {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
         "source": {"component": "kubelet"}, "firstTimestamp": ts(300), "lastTimestamp": ts(10), "count": 4},
    ]
    text = describe_pod(_pod(), events, NOW)
    assert text.endswith(
        "Events:\n"
        "  Type     Reason   Age               From     Message\n"
        "  ----     ------   ----              ----     -------\n"
        "  Normal   Started  60s               kubelet  Started container app\n"
        "  Warning  BackOff  10s (x4 over 5m)  kubelet  Back-off restarting failed container\n"
    )


def test_qos_class() -> None:
    pod = make_pod("p")
    assert qos_class(pod) == "BestEffort"
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class(pod) == "Guaranteed"
    pod["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "500m"}
    assert qos_class(pod) == "Burstable"


def test_describe_command_fetches_the_pods_events(server: ApiServer, run: Any) -> None:
    p = server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                       "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    ref = {"kind": "Pod", "name": "web", "namespace": "default", "uid": p["metadata"]["uid"]}
    for name, reason, obj in (("e1", "Pulled", ref), ("e2", "Other", {**ref, "kind": "ConfigMap", "uid": "x"})):
        server.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "involvedObject": obj,
                       "type": "Normal", "reason": reason, "message": "ok", "source": {"component": "kubelet"},
                       "firstTimestamp": ts(5), "lastTimestamp": ts(5), "count": 1})
    r = run("describe", "pod", "web")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Name:         web\nNamespace:    default\n")
    assert r.stdout.endswith("Events:\n  Type    Reason  Age   From     Message\n"
                             "  ----    ------  ----  ----     -------\n  Normal  Pulled  5s    kubelet  ok\n")
    missing = run("describe", "pod/nope")
    assert missing.exit_code == 1 and missing.stderr == 'Error from server (NotFound): pods "nope" not found\n'


def _seed(server: ApiServer) -> None:
    server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
                   "data": {"a": "1", "game.properties": "x=1\ny=2\n"},
                   "binaryData": {"bin": base64.b64encode(b"abc").decode()}})
    server.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                   "stringData": {"user": "admin", "password": "s3cr3t!"}})


def test_describe_configmap_exact(server: ApiServer, run: Any) -> None:
    _seed(server)
    r = run("describe", "cm", "app-config")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "Name:         app-config\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Data\n"
        "====\n"
        "a:\n"
        "----\n"
        "1\n"
        "\n"
        "game.properties:\n"
        "----\n"
        "x=1\n"
        "y=2\n"
        "\n"
        "\n"
        "\n"
        "BinaryData\n"
        "====\n"
        "bin: 3 bytes\n"
        "\n"
        "Events:  <none>\n"
    )


def test_describe_secret_never_prints_values(server: ApiServer, run: Any) -> None:
    _seed(server)
    r = run("describe", "secrets", "db")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "Name:         db\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Type:  Opaque\n"
        "\n"
        "Data\n"
        "====\n"
        "password:  7 bytes\n"
        "user:      5 bytes\n"
    )
    assert "s3cr3t" not in r.stdout and "admin" not in r.stdout


def test_describe_pvc_and_who_uses_it(server: ApiServer, run: Any) -> None:
    server.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "app", "image": "i"}],
                            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})
    lines = run("describe", "pvc", "data").stdout.splitlines()
    assert lines[0] == "Name:          data" and "Used By:       web" in lines
    assert "Access Modes:  " in lines or any(line.startswith("Access Modes:") for line in lines)


def _pod_with_volumes(server: ApiServer) -> None:
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "app", "image": "i"}],
                            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                                        {"name": "cache", "emptyDir": {}}]}})


def test_describe_pod_volume_usage_from_stats_summary(server: ApiServer, run: Any) -> None:
    _pod_with_volumes(server)
    uid = server.get("Pod", "default", "web")["metadata"]["uid"]
    server.stats_summary = {"node": {"nodeName": "node1"}, "pods": [
        {"podRef": {"name": "other", "namespace": "default", "uid": "uid-other"},
         "volume": [{"name": "data", "usedBytes": 1, "inodesUsed": 1}]},
        {"podRef": {"name": "web", "namespace": "default", "uid": uid},
         "volume": [{"name": "data", "usedBytes": 1258291, "inodesUsed": 12, "capacityBytes": 10**9,
                     "availableBytes": 10**8}]},
    ]}
    r = run("describe", "pod", "web")
    assert r.exit_code == 0, r.output
    assert (
        "Volumes:\n"
        "  data:\n"
        "    Type:         PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"
        "    ClaimName:    data\n"
        "    ReadOnly:     false\n"
        "    Used:         1.2Mi\n"
        "    Inodes Used:  12\n"
        "  cache:\n"
        "    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)\n"
    ) in r.stdout
    assert r.stdout.count("Used:") == 2  # "Used:" and "Inodes Used:" of data only; cache has no entry


def test_describe_pod_without_stats_is_unchanged(server: ApiServer, run: Any) -> None:
    _pod_with_volumes(server)
    r = run("describe", "pod", "web")   # /stats/summary answers 404
    assert r.exit_code == 0, r.output
    assert "Used:" not in r.stdout
    server.stats_summary = {"pods": "garbage"}
    assert run("describe", "pod", "web").stdout == r.stdout
    assert [human_bytes(n) for n in (0, 512, 4096, 1258291, 3 * 2**30)] == ["0", "512", "4Ki", "1.2Mi", "3Gi"]


def test_smart_labels_are_kubectls() -> None:
    cases = {"creationTimestamp": "Creation Timestamp", "apiVersion": "API Version", "uid": "UID",
             "resourceVersion": "Resource Version", "holderIdentity": "Holder Identity", "podIP": "Pod IP",
             "IPAddress": "IPAddress", "f:data": "f:data", "v1beta1": "v1beta1", "kind": "Kind"}
    assert {k: smart_label(k) for k in cases} == cases
    assert camel_split("PDFLoader") == ["PDF", "Loader"] and camel_split("podIPs") == ["pod", "I", "Ps"]


def test_describe_prefix_and_several_objects(server: ApiServer, run: Any) -> None:
    for name in ("web-1", "web-2", "db"):
        server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    r = run("describe", "cm", "web")
    assert r.exit_code == 0, r.output
    assert [line for line in r.stdout.splitlines() if line.startswith("Name:")] == ["Name:         web-1",
                                                                                   "Name:         web-2"]
    assert "Events:" not in r.stdout        # several objects: no events unless --show-events is given
    assert "Events:" in run("describe", "cm", "web", "--show-events=true").stdout
    r = run("describe", "cm", "-n", "empty")
    assert r.stderr == "No resources found in empty namespace.\n"
