"""Real kubectl (1.37 from the dev dependencies, 1.33 when the machine has it) against a live agent:
the everyday commands of API.md's matrix, with a fresh discovery cache per run."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kube import Kube, kubectls

pytestmark = pytest.mark.root

VERSIONS = sorted(kubectls())


def manifest(name: str, labels: dict[str, str] | None = None, ns: str | None = None) -> str:
    md: dict[str, Any] = {"name": name, "labels": labels or {"app": name}}
    if ns:
        md["namespace"] = ns
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "c", "image": "busybox:1.35",
                        "command": ["sh", "-c", "echo started; while true; do sleep 1; done"]}]}})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("v", VERSIONS)
def test_version_and_api_resources(kube: Kube, v: str) -> None:
    out = kube.kubectl("version", version=v).stdout
    assert "Server Version: v1.37.0-podbay." in out
    res = kube.kubectl("api-resources", version=v).stdout
    rows = {tuple(line.split()[:1]) for line in res.splitlines()[1:]}
    for name in ("pods", "configmaps", "secrets", "namespaces", "nodes", "events", "serviceaccounts", "leases",
                 "persistentvolumeclaims", "services", "endpoints", "endpointslices", "deployments", "replicasets",
                 "statefulsets", "daemonsets", "controllerrevisions", "jobs", "cronjobs", "replicationcontrollers",
                 "storageclasses", "persistentvolumes"):
        assert (name,) in rows, res
    pods_row = next(line.split() for line in res.splitlines() if line.startswith("pods "))
    assert pods_row[:4] == ["pods", "po", "v1", "true"]
    deploy_row = next(line.split() for line in res.splitlines() if line.startswith("deployments "))
    assert deploy_row == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert kube.kubectl("api-versions", version=v).stdout.split() == \
        ["apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1", "batch/v1", "coordination.k8s.io/v1",
         "discovery.k8s.io/v1", "events.k8s.io/v1", "metrics.k8s.io/v1beta1", "storage.k8s.io/v1", "v1"]


@pytest.mark.parametrize("v", VERSIONS)
def test_apply_twice_get_describe_replace_delete(kube: Kube, tmp_path: Path, v: str) -> None:
    name = unique("ap")
    path = write(tmp_path, "pod.yaml", manifest(name))
    assert kube.kubectl("apply", "-f", path, version=v).stdout.strip() == f"pod/{name} created"
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s", version=v)
    # server-side Table: kubectl's columns
    table = kube.kubectl("get", "pods", "-l", f"app={name}", version=v).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:4] == [name, "1/1", "Running", "0"]
    wide = kube.kubectl("get", "pod", name, "-o", "wide", version=v).stdout.splitlines()[0]
    assert wide.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                            "READINESS", "GATES"]
    all_ns = kube.kubectl("get", "pods", "-A", version=v).stdout.splitlines()[0]
    assert all_ns.split()[0] == "NAMESPACE"
    assert kube.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}", version=v).stdout == "Running"
    assert f"name: {name}" in kube.kubectl("get", "pod", name, "-o", "yaml", version=v).stdout
    assert kube.json("get", "pod", name, version=v)["metadata"]["generation"] == 1
    # second apply with a change: a strategic merge PATCH
    path2 = write(tmp_path, "pod2.yaml", manifest(name, {"app": name, "tier": "web"}))
    assert kube.kubectl("apply", "-f", path2, version=v).stdout.strip() == f"pod/{name} configured"
    assert kube.kubectl("apply", "-f", path2, version=v).stdout.strip() == f"pod/{name} unchanged"
    labels = kube.json("get", "pod", name, version=v)["metadata"]["labels"]
    assert labels == {"app": name, "tier": "web"}
    dup = kube.kubectl("create", "-f", path, version=v, check=False)
    assert dup.returncode == 1 and f'pods "{name}" already exists' in dup.stderr
    # replace the live object (the manifest itself lacks what admission added: the kube-api-access
    # volume, serviceAccountName; replacing with it is a forbidden pod update, as upstream)
    live = kube.kubectl("get", "pod", name, "-o", "yaml", version=v).stdout
    path3 = write(tmp_path, "live.yaml", live.replace("tier: web", "tier: api"))
    assert kube.kubectl("replace", "-f", path3, version=v).stdout.strip() == f"pod/{name} replaced"
    assert kube.json("get", "pod", name, version=v)["metadata"]["labels"]["tier"] == "api"
    described = kube.kubectl("describe", "pod", name, version=v).stdout
    # kubectl aligns the block on its longest label ("Service Account:" since the admission sets it)
    assert re.search(rf"^Name:\s+{name}$", described, re.M) and "Started container c" in described
    assert kube.kubectl("delete", "-f", path, version=v).returncode == 0
    gone = kube.kubectl("get", "pod", name, version=v, check=False)
    assert gone.returncode == 1 and f'pods "{name}" not found' in gone.stderr


@pytest.mark.parametrize("v", VERSIONS)
def test_logs_exec_cp(kube: Kube, tmp_path: Path, v: str) -> None:
    name = unique("lx")
    kube.kubectl("apply", "-f", write(tmp_path, "p.yaml", manifest(name)), version=v)
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s", version=v)
    for _ in range(50):
        if "started" in kube.kubectl("logs", name, version=v).stdout:
            break
        time.sleep(0.1)
    assert kube.kubectl("logs", name, "--tail=1", version=v).stdout == "started\n"
    res = kube.kubectl("exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3", version=v, check=False)
    assert (res.returncode, res.stdout, "err" in res.stderr) == (3, "out\n", True)
    assert kube.kubectl("exec", "-i", name, "--", "cat", input="hi there", version=v).stdout == "hi there"
    src = write(tmp_path, "up.txt", "uploaded\n")
    kube.kubectl("cp", src, f"{name}:/tmp/up.txt", version=v)
    back = tmp_path / "down.txt"
    kube.kubectl("cp", f"{name}:/tmp/up.txt", str(back), version=v)
    assert back.read_text() == "uploaded\n"
    kube.kubectl("delete", "pod", name, "--now", version=v)


@pytest.mark.parametrize("v", VERSIONS)
def test_diff_logs_follow_previous_and_tty(kube: Kube, tmp_path: Path, v: str) -> None:
    """kubectl diff (server dry run), logs -c/-f/-p, exec -t under a real pty."""
    name = unique("lf")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {"name": "ticker", "image": "busybox:1.35",
             "command": ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]},
            {"name": "crasher", "image": "busybox:1.35",
             "command": ["sh", "-c", "echo attempt; sleep 1; exit 1"]}]}}
    path = write(tmp_path, "p.json", json.dumps(pod))
    kube.kubectl("apply", "-f", path, version=v)
    same = kube.kubectl("diff", "-f", path, version=v, check=False)
    assert (same.returncode, same.stdout) == (0, "")
    pod["metadata"]["labels"]["tier"] = "web"
    changed = kube.kubectl("diff", "-f", write(tmp_path, "p2.json", json.dumps(pod)), version=v, check=False)
    assert changed.returncode == 1 and "+    tier: web" in changed.stdout
    assert "tier" not in kube.json("get", "pod", name, version=v)["metadata"]["labels"]   # diff changes nothing
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = {c["name"]: c for c in kube.json("get", "pod", name, version=v)["status"].get("containerStatuses", [])}
        if st.get("crasher", {}).get("restartCount", 0) >= 1:
            break
        time.sleep(0.5)
    assert kube.kubectl("logs", name, "-c", "crasher", "-p", version=v).stdout == "attempt\n"
    cmd = [str(kubectls()[v]), "--kubeconfig", str(kube.kubeconfig), "--cache-dir", str(tmp_path / "c"),
           "logs", "-f", name, "-c", "ticker", "--tail=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = int(proc.stdout.readline().split()[1])
        later = [int(proc.stdout.readline().split()[1]) for _ in range(3)]
        assert later == [first + 1, first + 2, first + 3]   # -f streams new lines as they are written
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    # exec -t needs a terminal on kubectl's side: run it under script(1); stdin stays open meanwhile.
    script = subprocess.run(
        ["sh", "-c", f"sleep 3 | script -qec '{kubectls()[v]} --kubeconfig {kube.kubeconfig} --cache-dir "
                     f"{tmp_path / 'c'} exec -it {name} -c ticker -- sh -c \"tty; exit 4\"' /dev/null"],
        capture_output=True, text=True, timeout=60)
    assert "/dev/pts/" in script.stdout and script.returncode == 4
    kube.kubectl("delete", "pod", name, "--now", version=v)


@pytest.mark.parametrize("v", VERSIONS)
def test_get_watch_shows_rows_as_they_change(kube: Kube, tmp_path: Path, v: str) -> None:
    name = unique("w")
    cache = tmp_path / "cache"
    cmd = [str(kubectls()[v]), "--kubeconfig", str(kube.kubeconfig), "--cache-dir", str(cache), "get", "pods", "-w",
           "-l", f"app={name}", "--request-timeout=30s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        kube.kubectl("apply", "-f", write(tmp_path, "p.yaml", manifest(name)), version=v)
        kube.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s", version=v)
        kube.kubectl("delete", "pod", name, "--now", version=v)
        time.sleep(1)
    finally:
        proc.terminate()
        out, _err = proc.communicate(timeout=10)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    statuses = [row[2] for row in lines[1:] if row and row[0] == name]
    assert "Pending" in statuses or "ContainerCreating" in statuses
    assert "Running" in statuses


@pytest.mark.parametrize("v", VERSIONS)
def test_configmaps_secrets_patches_edit_dry_run(kube: Kube, tmp_path: Path, v: str) -> None:
    cm, secret = unique("cm"), unique("sec")
    # kubectl 1.32+ sends these typed objects as protobuf
    assert kube.kubectl("create", "configmap", cm, "--from-literal=a=1", version=v).stdout.strip() == \
        f"configmap/{cm} created"
    kube.kubectl("create", "secret", "generic", secret, "--from-literal=pw=x", version=v)
    rows = kube.kubectl("get", "cm", cm, version=v).stdout.splitlines()
    assert rows[0].split() == ["NAME", "DATA", "AGE"] and rows[1].split()[:2] == [cm, "1"]
    rows = kube.kubectl("get", "secret", secret, version=v).stdout.splitlines()
    assert rows[0].split() == ["NAME", "TYPE", "DATA", "AGE"] and rows[1].split()[:3] == [secret, "Opaque", "1"]
    kube.kubectl("label", "cm", cm, "l=1", version=v)
    kube.kubectl("annotate", "cm", cm, "note=hi", version=v)
    kube.kubectl("patch", "cm", cm, "--type=merge", "-p", '{"data":{"b":"2"}}', version=v)
    kube.kubectl("patch", "cm", cm, "--type=json", "-p", '[{"op":"add","path":"/data/c","value":"3"}]', version=v)
    kube.kubectl("patch", "cm", cm, "-p", '{"data":{"d":"4"}}', version=v)   # strategic
    editor = write(tmp_path, "editor.sh", "#!/bin/sh\nsed -i 's/^  a: \"1\"/  a: \"edited\"/' \"$1\"\n")
    Path(editor).chmod(0o755)
    kube.kubectl("edit", "cm", cm, version=v, env={"EDITOR": editor, "KUBE_EDITOR": editor})
    got = kube.json("get", "cm", cm, version=v)
    assert got["data"] == {"a": "edited", "b": "2", "c": "3", "d": "4"}
    assert got["metadata"]["labels"] == {"l": "1"} and got["metadata"]["annotations"] == {"note": "hi"}
    dry = unique("dry")
    out = kube.kubectl("create", "configmap", dry, "--from-literal=x=y", "--dry-run=server", version=v).stdout
    assert "(server dry run)" in out
    missing = kube.kubectl("get", "cm", dry, version=v, check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr
    kube.kubectl("delete", "cm", cm, version=v)
    kube.kubectl("delete", "secret", secret, version=v)


@pytest.mark.parametrize("v", VERSIONS)
def test_server_side_apply_and_conflicts(kube: Kube, tmp_path: Path, v: str) -> None:
    cm = unique("ssa")
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm}, "data": {"k": "1"}}
    path = write(tmp_path, "cm.json", json.dumps(doc))
    assert "serverside-applied" in kube.kubectl("apply", "--server-side", "-f", path, version=v).stdout
    doc["data"]["k"] = "2"
    other = write(tmp_path, "cm2.json", json.dumps(doc))
    res = kube.kubectl("apply", "--server-side", "--field-manager=other", "-f", other, version=v, check=False)
    assert res.returncode == 1 and "conflict" in res.stderr.lower()
    kube.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", other, version=v)
    assert kube.json("get", "cm", cm, version=v)["data"] == {"k": "2"}
    kube.kubectl("delete", "cm", cm, version=v)


@pytest.mark.parametrize("v", VERSIONS)
def test_namespace_deletion_cascades(kube: Kube, tmp_path: Path, v: str) -> None:
    ns = unique("ns")
    kube.kubectl("create", "namespace", ns, version=v)
    kube.kubectl("-n", ns, "create", "configmap", "c", "--from-literal=a=b", version=v)
    kube.kubectl("-n", ns, "apply", "-f", write(tmp_path, "p.yaml", manifest("web")), version=v)
    assert [r.split()[0] for r in kube.kubectl("-n", ns, "get", "sa", version=v).stdout.splitlines()[1:]] == \
        ["default"]
    kube.kubectl("delete", "namespace", ns, "--timeout=60s", version=v)
    gone = kube.kubectl("get", "namespace", ns, version=v, check=False)
    assert gone.returncode == 1 and f'namespaces "{ns}" not found' in gone.stderr
    assert kube.kubectl("get", "pods", "-A", "-o", "name", version=v).stdout.count(f"{ns}/") == 0


@pytest.mark.parametrize("v", VERSIONS)
def test_nodes_events_top_explain(kube: Kube, tmp_path: Path, v: str) -> None:
    nodes = kube.kubectl("get", "nodes", "-o", "wide", version=v).stdout.splitlines()
    assert nodes[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and " Ready " in nodes[1]
    leases = kube.kubectl("get", "leases", "-n", "kube-node-lease", version=v).stdout.splitlines()
    assert leases[0].split() == ["NAME", "HOLDER", "AGE"]
    name = unique("ev")
    kube.kubectl("apply", "-f", write(tmp_path, "p.yaml", manifest(name)), version=v)
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s", version=v)
    events = kube.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", version=v).stdout
    assert events.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert f"pod/{name}" in events and "<unknown>" not in events
    assert f"Pod/{name}" in kube.kubectl("events", "--for", f"pod/{name}", version=v).stdout
    top = kube.kubectl("top", "pod", name, version=v).stdout.splitlines()
    assert top[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and top[1].split()[0] == name
    node_top = kube.kubectl("top", "node", version=v).stdout.splitlines()
    assert node_top[0].split()[:3] in (["NAME", "CPU(cores)", "CPU(%)"], ["NAME", "CPU(cores)", "CPU%"])
    explained = kube.kubectl("explain", "pod.spec.containers", version=v).stdout
    assert "KIND:" in explained and "FIELD: containers <[]Container>" in explained
    kube.kubectl("delete", "pod", name, "--now", version=v)


@pytest.mark.parametrize("v", VERSIONS)
def test_apply_and_delete_a_file_with_its_namespace(kube: Kube, tmp_path: Path, v: str) -> None:
    ns = unique("multi")
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "namespace": ns},
             "data": {"a": "1"}},
            json.loads(manifest("app", ns=ns))]
    import yaml

    path = write(tmp_path, "multi.yaml", yaml.safe_dump_all(docs))
    out = kube.kubectl("apply", "-f", path, version=v).stdout.splitlines()
    assert out == [f"namespace/{ns} created", "configmap/conf created", "pod/app created"]
    res = kube.kubectl("delete", "-f", path, "--timeout=60s", version=v)
    assert res.returncode == 0 and "NotFound" not in res.stderr
    gone = kube.kubectl("get", "namespace", ns, version=v, check=False)
    assert gone.returncode == 1
