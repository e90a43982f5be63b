"""podbay's CLI against kubectl 1.37 on the same server: the same bytes for read-only commands, the same
patch for a client-side apply, and the last-applied annotation the other tool reads as its own."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from conftest import ApiServer, Kubectl, pod, running

from podbay.api import schema, threeway
from podbay.cli.commands.apply import parse_last_applied, with_last_applied

SETUP = """\
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {env: test}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, labels: {app: web}, annotations: {note: "a note"}}
data: {a: "1", multi: "line one\\nline two\\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {user: admin, password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: metrics, port: 9090, protocol: UDP}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: lock}
spec: {holderIdentity: node1, leaseDurationSeconds: 40}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.88.0.5]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: web, namespace: default}
ports:
- {name: http, port: 8080, protocol: TCP}
"""

COMMANDS = [
    "get pods", "get pods -o wide", "get pods -A --show-labels", "get svc,cm", "get all", "get ns",
    "get secret creds -o name", "get leases,endpointslices -o wide", "get cm -o yaml", "get svc web -o json",
    "get pods -o jsonpath={.items[*].status.podIP}", "get pods -L app --no-headers",
    "get svc -o custom-columns=NAME:.metadata.name,PORTS:.spec.ports[*].port",
    "describe svc web", "describe ns team", "describe lease lock", "describe sa default", "describe cm cfg",
    "describe secret creds", "describe endpointslice web-1", "describe pod web", "describe pods,svc",
    "api-resources", "api-resources -o wide --namespaced=false", "explain pod.spec.containers.ports",
    "explain svc --recursive", "get nope", "get pods nope", "describe cm nope",
]


@pytest.fixture
def loaded(server: ApiServer, kubectl: Kubectl) -> Kubectl:
    r = kubectl("apply", "-f", "-", input=SETUP)
    assert r.returncode == 0, r.stderr
    server.create(pod("web", containers=[{"name": "app", "image": "busybox:1.36", "ports": [{"containerPort": 8080}],
                                          "env": [{"name": "A", "value": "1"}]}]))
    running(server, "web")
    return kubectl


def test_read_only_commands_print_what_kubectl_prints(loaded: Kubectl, run: Any) -> None:
    mismatches = []
    for command in COMMANDS:
        args = command.split(" ")
        k = loaded(*args)
        p = run(*args)
        if (k.stdout, k.stderr.strip(), k.returncode) != (p.stdout, p.stderr.strip(), p.exit_code):
            mismatches.append((command, k.stdout, k.stderr, p.stdout, p.stderr))
    assert not mismatches, "\n\n".join(f"$ {c}\n--- kubectl\n{ko}{ke}\n--- podbay\n{po}{pe}"
                                       for c, ko, ke, po, pe in mismatches)


def _kubectl_patch(kubectl: Kubectl, manifest: str) -> dict[str, Any]:
    r = kubectl("apply", "-f", "-", "--dry-run=server", "-v=10", input=manifest)
    bodies = re.findall(r'"Request Body" body="((?:[^"\\]|\\.)+)"', r.stderr)
    return dict(json.loads(json.loads(f'"{bodies[-1]}"'))) if bodies else {}


CASES = [
    ("Service", """\
apiVersion: v1
kind: Service
metadata: {name: s1, labels: {a: b, c: d}}
spec:
  selector: {app: x}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443}
""", """\
apiVersion: v1
kind: Service
metadata: {name: s1, labels: {a: b2}}
spec:
  selector: {app: z}
  ports:
  - {name: https, port: 443}
  - {name: metrics, port: 9090}
  externalIPs: [1.2.3.4]
"""),
    ("Pod", """\
apiVersion: v1
kind: Pod
metadata: {name: p1, finalizers: [example.com/a, example.com/b]}
spec:
  containers:
  - {name: a, image: busybox:1.35}
  - {name: b, image: busybox:1.35}
  volumes:
  - {name: v, emptyDir: {}}
  tolerations:
  - {key: k1, operator: Exists}
""", """\
apiVersion: v1
kind: Pod
metadata: {name: p1, finalizers: [example.com/b, example.com/c]}
spec:
  containers:
  - {name: b, image: busybox:1.35}
  - {name: a, image: busybox:1.36}
  volumes:
  - {name: v, hostPath: {path: /data}}
  tolerations:
  - {key: k1, operator: Exists}
  - {key: k2, operator: Exists}
"""),
    ("ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\ndata: {a: '1', b: '2'}\n",
     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, annotations: {x: z}}\ndata: {a: '1', c: '3'}\n"),
]


@pytest.mark.parametrize(("kind", "v1", "v2"), CASES, ids=[c[0] for c in CASES])
def test_client_side_apply_sends_kubectls_patch(server: ApiServer, kubectl: Kubectl, kind: str, v1: str,
                                                v2: str) -> None:
    assert kubectl("apply", "-f", "-", input=v1).returncode == 0
    name = yaml.safe_load(v1)["metadata"]["name"]
    current = json.loads(kubectl("get", kind, name, "-o", "json").stdout)
    doc = yaml.safe_load(v2)
    doc["metadata"]["namespace"] = "default"
    ours = threeway.three_way_merge_patch(parse_last_applied(current), with_last_applied(doc), current,
                                          str(schema.definition_name("", "v1", kind)))
    assert ours == _kubectl_patch(kubectl, v2)


def test_the_last_applied_annotation_is_shared_with_kubectl(server: ApiServer, kubectl: Kubectl, run: Any,
                                                            tmp_path: Any) -> None:
    v1, v2 = CASES[0][1], CASES[0][2]
    f1, f2 = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    f1.write_text(v1)
    f2.write_text(v2)
    assert run("apply", "-f", str(f1)).stdout == "service/s1 created\n"
    k = kubectl("apply", "-f", str(f1))
    assert k.stdout == "service/s1 unchanged\n", k.stderr          # podbay's annotation is kubectl's, byte for byte
    assert kubectl("apply", "-f", str(f2)).stdout == "service/s1 configured\n"
    assert run("apply", "-f", str(f2)).stdout == "service/s1 unchanged\n"
    r = run("apply", "-f", str(f1))
    assert r.stdout == "service/s1 configured\n", r.stderr
    live = server.get("Service", "default", "s1")
    assert [p["port"] for p in live["spec"]["ports"]] == [80, 443] and "externalIPs" not in live["spec"]
    assert live["metadata"]["labels"] == {"a": "b", "c": "d"}
