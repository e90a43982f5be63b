"""``podbay describe pod``: kubectl's sections, volume host paths and the events table."""

from __future__ import annotations

import json
from typing import Any

from clifake import NOW, FakeApi, make_pod, ts

from podbay.cli.describe import describe_pod, qos_class


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


def test_describe_command_fetches_events(api: FakeApi, run: Any) -> None:
    api.add(_pod())
    api.events = [{"type": "Normal", "reason": "Pulled", "message": "ok", "source": {"component": "kubelet"},
                   "firstTimestamp": ts(5), "count": 1}]
    r = run("describe", "pod", "web")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Name:         web\n")
    assert "  Normal  Pulled  5s    kubelet  ok\n" in r.stdout
    ev = [q for m, p, q, _ in api.requests if p.endswith("/events")][0]
    assert ev["fieldSelector"] == ["involvedObject.name=web"]
    missing = run("describe", "pod/nope")
    assert missing.exit_code == 1 and missing.stderr == 'Error from server (NotFound): pods "nope" not found\n'


def test_qos_class_compares_quantities_not_strings() -> None:
    res = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}}
    pod = {"spec": {"containers": [{"name": "c", "image": "i", "resources": res}]}}
    assert qos_class(pod) == "Guaranteed"     # the kubelet's classifier (core.status), not string equality
    assert qos_class({**pod, "status": {"qosClass": "Burstable"}}) == "Burstable"   # what the node reported
