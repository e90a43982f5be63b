"""ConfigMaps, Secrets and PVCs: get tables, apply in document order, describe, delete, errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml
from clifake import FakeApi, make_object, make_pod, make_pvc

from podbay.cli.apply import changed, merged, with_last_applied
from podbay.cli.resources import lookup
from podbay.cli.tables import access_modes


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _seed(api: FakeApi) -> None:
    api.add_object(make_object("ConfigMap", "app-config", data={"a": "1", "game.properties": "x=1\ny=2\n"},
                               binaryData={"bin": "AAEC"}))
    api.add_object(make_object("ConfigMap", "empty", age=182))
    api.add_object(make_object("Secret", "db", type="Opaque", data={"user": _b64("admin"), "password": _b64("s3cr3t!")}))
    api.add_object(make_object("Secret", "tls", type="kubernetes.io/tls", data={"tls.crt": "eA==", "tls.key": "eQ=="}))
    api.add_object(make_pvc("data"))
    api.add_object(make_object(
        "PersistentVolumeClaim", "pending", age=10, status={"phase": "Pending"},
        spec={"accessModes": ["ReadWriteOnce"], "storageClassName": "podbay-local",
              "resources": {"requests": {"storage": "2Gi"}}},
    ))


def test_resource_names_and_aliases() -> None:
    for alias, kind in [("cm", "ConfigMap"), ("configmap", "ConfigMap"), ("ConfigMaps", "ConfigMap"),
                        ("secret", "Secret"), ("secrets", "Secret"), ("pvc", "PersistentVolumeClaim"),
                        ("persistentvolumeclaim", "PersistentVolumeClaim"), ("po", "Pod")]:
        res = lookup(alias)
        assert res is not None and res.kind == kind, alias
    assert lookup("svc") is None
    assert access_modes(["ReadWriteOncePod", "ReadWriteOnce", "ReadWriteOnce", "ReadOnlyMany"]) == "RWO,ROX,RWOP"


def test_get_tables_exact(api: FakeApi, run: Any) -> None:
    _seed(api)
    r = run("get", "cm")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "NAME         DATA   AGE\n"
        "app-config   3      65s\n"
        "empty        0      3m2s\n"
    )
    assert run("get", "secrets").stdout == (
        "NAME   TYPE                DATA   AGE\n"
        "db     Opaque              2      65s\n"
        "tls    kubernetes.io/tls   2      65s\n"
    )
    assert run("get", "pvc").stdout == (
        "NAME      STATUS    VOLUME         CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE\n"
        "data      Bound     pvc-uid-data   1Gi        RWO            podbay-local   <unset>                 65s\n"
        "pending   Pending                                            podbay-local   <unset>                 10s\n"
    )
    wide = run("get", "persistentvolumeclaims", "-A", "-o", "wide")
    assert wide.stdout.splitlines()[0] == (
        "NAMESPACE   NAME      STATUS    VOLUME         CAPACITY   ACCESS MODES   STORAGECLASS   "
        "VOLUMEATTRIBUTESCLASS   AGE   VOLUMEMODE")
    assert wide.stdout.splitlines()[1].endswith("65s   Filesystem")
    assert api.calls("GET")[-1][1] == "/api/v1/persistentvolumeclaims"


def test_get_formats_selector_and_errors(api: FakeApi, run: Any) -> None:
    _seed(api)
    api.add_object(make_object("ConfigMap", "other", ns="prod"))
    api.objects[("configmaps", "default", "empty")]["metadata"]["labels"] = {"tier": "web"}
    assert run("get", "configmaps", "-o", "name").stdout == "configmap/app-config\nconfigmap/empty\n"
    assert run("get", "secret", "-o", "name").stdout == "secret/db\nsecret/tls\n"
    assert run("get", "pvc", "-o", "name").stdout == "persistentvolumeclaim/data\npersistentvolumeclaim/pending\n"
    assert run("get", "cm", "-l", "tier=web", "-o", "name").stdout == "configmap/empty\n"
    assert run("get", "cm", "-A").stdout.splitlines()[1:] == [
        "default     app-config   3      65s", "default     empty        0      3m2s", "prod        other        0      65s"]
    one = json.loads(run("get", "cm/app-config", "-o", "json").stdout)
    assert one["kind"] == "ConfigMap" and one["data"]["a"] == "1"
    lst = yaml.safe_load(run("get", "secrets", "-o", "yaml").stdout)
    assert lst["kind"] == "List" and [s["metadata"]["name"] for s in lst["items"]] == ["db", "tls"]
    missing = run("get", "cm", "app-config", "x")
    assert missing.exit_code == 1
    assert missing.stderr == 'Error from server (NotFound): configmaps "x" not found\n'
    assert missing.stdout.splitlines()[1].startswith("app-config ")
    r = run("-n", "kube-system", "get", "secrets")
    assert r.stdout == "" and r.stderr == "No resources found in kube-system namespace.\n"
    r = run("get", "cm/a", "pod/b")
    assert r.exit_code == 1 and "several resource types" in r.stderr
    r = run("get", "cm", "-w")
    assert r.exit_code == 1 and r.stderr == "error: podbay get --watch supports pods only, not configmaps\n"


BUNDLE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data:
  index.html: hello
  mode: prod
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData:
  password: s3cr3t
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox:1.36
    envFrom: [{configMapRef: {name: web-config}}, {secretRef: {name: web-secret}}]
"""


def test_apply_bundle_in_document_order(api: FakeApi, run: Any, tmp_path: Path) -> None:
    f = tmp_path / "bundle.yaml"
    f.write_text(BUNDLE)
    r = run("apply", "-f", str(f))
    assert r.exit_code == 0, r.output
    assert r.stdout == "configmap/web-config created\nsecret/web-secret created\npod/web created\n"
    assert [p for _, p, _, _ in api.calls("POST")] == [
        "/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/secrets",
        "/api/v1/namespaces/default/pods"]
    assert api.objects[("secrets", "default", "web-secret")]["data"] == {"password": _b64("s3cr3t")}
    again = run("apply", "-f", str(f))
    assert again.stdout == "configmap/web-config unchanged\nsecret/web-secret unchanged\npod/web unchanged\n"
    assert not api.calls("PUT")
    f.write_text(BUNDLE.replace("  mode: prod\n", "").replace("s3cr3t", "n3w"))
    r = run("apply", "-f", str(f))
    assert r.stdout == "configmap/web-config configured\nsecret/web-secret configured\npod/web unchanged\n"
    puts = {p: b for _, p, _, b in api.calls("PUT")}
    assert puts["/api/v1/namespaces/default/configmaps/web-config"]["data"] == {"index.html": "hello"}
    assert puts["/api/v1/namespaces/default/secrets/web-secret"]["data"] == {"password": _b64("n3w")}


def test_apply_list_kind_and_pvc(api: FakeApi, run: Any) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
    ]}
    r = run("apply", "-f", "-", input=json.dumps(doc))
    assert r.exit_code == 0, r.output
    assert r.stdout == "persistentvolumeclaim/data created\nconfigmap/c created\n"
    # the server fills in the volume; re-applying the same manifest keeps it and changes nothing
    api.objects[("persistentvolumeclaims", "default", "data")]["spec"].update(
        volumeName="pvc-1", storageClassName="podbay-local", volumeMode="Filesystem")
    assert run("apply", "-f", "-", input=json.dumps(doc)).stdout == (
        "persistentvolumeclaim/data unchanged\nconfigmap/c unchanged\n")
    bad = {"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "c"}}
    r = run("apply", "-f", "-", input=json.dumps(bad))
    assert r.exit_code == 1 and 'no matches for kind "ConfigMap" in version "v2"' in r.stderr


def test_merge_keeps_keys_set_by_others_and_drops_removed_ones() -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"},
                "immutable": False}
    live = {**with_last_applied(manifest), "data": {"a": "1", "b": "2", "other": "x"}}
    manifest2 = {**manifest, "data": {"a": "9"}}
    del manifest2["immutable"]
    new = merged(live, manifest2)
    assert new["data"] == {"a": "9", "other": "x"} and "immutable" not in new
    assert changed(live, new) and not changed(new, merged(new, manifest2))


def test_describe_configmap_exact(api: FakeApi, run: Any) -> None:
    _seed(api)
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


def test_describe_secret_never_prints_values(api: FakeApi, run: Any) -> None:
    _seed(api)
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


def test_describe_pvc_used_by_and_events(api: FakeApi, run: Any) -> None:
    _seed(api)
    pod = make_pod("web")
    pod["spec"]["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    api.add(pod)
    api.add(make_pod("other"))
    api.events = [{"type": "Normal", "reason": "Provisioned", "message": "made pvc-uid-data",
                   "source": {"component": "podbay"}, "firstTimestamp": "2024-01-01T11:59:55Z", "count": 1,
                   "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data"}},
                  {"type": "Normal", "reason": "Started", "message": "pod event, not ours",
                   "involvedObject": {"kind": "Pod", "name": "data"}, "firstTimestamp": "2024-01-01T11:59:55Z"}]
    r = run("describe", "pvc", "data")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "Name:          data\n"
        "Namespace:     default\n"
        "StorageClass:  podbay-local\n"
        "Status:        Bound\n"
        "Volume:        pvc-uid-data\n"
        "Labels:        <none>\n"
        "Annotations:   <none>\n"
        "Finalizers:    []\n"
        "Capacity:      1Gi\n"
        "Access Modes:  RWO\n"
        "VolumeMode:    Filesystem\n"
        "Used By:       web\n"
        "Events:\n"
        "  Type    Reason       Age   From    Message\n"
        "  ----    ------       ----  ----    -------\n"
        "  Normal  Provisioned  5s    podbay  made pvc-uid-data\n"
    )
    pending = run("describe", "persistentvolumeclaim/pending").stdout.splitlines()
    assert "Volume:        " in pending and "Capacity:      " in pending and "Used By:       <none>" in pending
    missing = run("describe", "cm", "nope")
    assert missing.exit_code == 1 and missing.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_delete_kinds_and_files(api: FakeApi, run: Any, tmp_path: Path) -> None:
    _seed(api)
    r = run("delete", "cm", "app-config", "empty")
    assert r.exit_code == 0, r.output
    assert r.stdout == 'configmap "app-config" deleted\nconfigmap "empty" deleted\n'
    assert [p for _, p, _, _ in api.calls("DELETE")] == [
        "/api/v1/namespaces/default/configmaps/app-config", "/api/v1/namespaces/default/configmaps/empty"]
    r = run("delete", "secret/db", "secret/nope", "--wait=true")
    assert r.exit_code == 1
    assert r.stdout == 'secret "db" deleted\n'
    assert r.stderr == 'Error from server (NotFound): secrets "nope" not found\n'
    assert run("delete", "pvc", "nope", "--ignore-not-found").exit_code == 0
    api.delete_removes = True
    api.add(make_pod("web"))
    f = tmp_path / "mixed.yaml"
    f.write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
    )
    r = run("delete", "-f", str(f))
    assert r.exit_code == 0, r.output
    assert r.stdout == 'persistentvolumeclaim "data" deleted\nsecret "tls" deleted\npod "web" deleted\n'
    assert list(api.objects) == [("persistentvolumeclaims", "default", "pending")] and not api.pods
    assert not [q for _, _, q, _ in api.requests if q.get("watch")]  # nothing to wait for


def _pod_with_volumes() -> dict[str, Any]:
    pod = make_pod("web")
    pod["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                              {"name": "cache", "emptyDir": {}}]
    return pod


def test_describe_pod_volume_usage_from_stats_summary(api: FakeApi, run: Any) -> None:
    api.add(_pod_with_volumes())
    api.stats_summary = {"node": {"nodeName": "node1"}, "pods": [
        {"podRef": {"name": "other", "namespace": "default", "uid": "uid-other"},
         "volume": [{"name": "data", "usedBytes": 1, "inodesUsed": 1}]},
        {"podRef": {"name": "web", "namespace": "default", "uid": "uid-web"},
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


def test_describe_pod_without_stats_endpoint_is_unchanged(api: FakeApi, run: Any) -> None:
    from podbay.cli.describe import describe_pod, human_bytes

    api.add(_pod_with_volumes())
    r = run("describe", "pod", "web")  # the fake answers 404 for /stats/summary
    assert r.exit_code == 0, r.output
    assert "Used:" not in r.stdout and "/stats/summary" in [p for _, p, _, _ in api.requests]
    assert r.stdout == describe_pod(_pod_with_volumes(), [], __import__("clifake").NOW)
    api.stats_summary = {"pods": "garbage"}
    assert run("describe", "pod", "web").stdout == r.stdout
    assert [human_bytes(n) for n in (0, 512, 4096, 1258291, 3 * 2**30)] == ["0", "512", "4Ki", "1.2Mi", "3Gi"]
