"""Exact Kubernetes error strings (SEMANTICS §3.1, §4, §5) for invalid pods; valid pods give none."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from podbay.api import support
from podbay.api.defaults import default_pod
from podbay.api.fielderror import FieldError, go_quote
from podbay.api.validation import validate_object_meta, validate_pod, validate_pod_update

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
HOSTPATH_TYPES = (
    '"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'
)
UPDATE_MSG = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
    "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def producer_consumer() -> dict[str, Any]:
    """The two-container emptyDir pod of the seeds."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "producer-consumer", "labels": {"app": "demo"}},
        "spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "shared-data", "emptyDir": {}}],
            "containers": [
                {
                    "name": "producer",
                    "image": "busybox:1.35",
                    "command": ["sh", "-c", "echo hello > /data/msg; sleep 3600"],
                    "volumeMounts": [{"name": "shared-data", "mountPath": "/data"}],
                },
                {
                    "name": "consumer",
                    "image": "busybox:1.35",
                    "command": ["sh", "-c", "cat /in/msg; sleep 3600"],
                    "volumeMounts": [{"name": "shared-data", "mountPath": "/in", "readOnly": True}],
                },
            ],
        },
    }


Mut = Callable[[dict[str, Any]], None]


def c0(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["containers"][0]  # type: ignore[no-any-return]


def m0(p: dict[str, Any]) -> dict[str, Any]:
    return c0(p)["volumeMounts"][0]  # type: ignore[no-any-return]


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], **kv: Any) -> Mut:
    return lambda p: path(p).update(kv)


def _spec(**kv: Any) -> Mut:
    return _set(lambda p: p["spec"], **kv)


def _vols(*vols: dict[str, Any]) -> Mut:
    def f(p: dict[str, Any]) -> None:
        p["spec"]["volumes"] = [*p["spec"]["volumes"], *vols]

    return f


def _init(**c: Any) -> Mut:
    return _spec(initContainers=[{"image": "busybox:1.35", **c}])


def _seq(*muts: Mut) -> Mut:
    def f(p: dict[str, Any]) -> None:
        for m in muts:
            m(p)

    return f


INVALID: list[tuple[str, Mut, list[str]]] = [
    (
        "name missing",
        lambda p: p["metadata"].pop("name"),
        ["metadata.name: Required value: name or generateName is required"],
    ),
    (
        "name not subdomain",
        lambda p: p["metadata"].update(name="Foo"),
        [f'metadata.name: Invalid value: "Foo": {SUBDOMAIN_MSG}'],
    ),
    (
        "namespace not label",
        lambda p: p["metadata"].update(namespace="a.b"),
        [f'metadata.namespace: Invalid value: "a.b": {LABEL_MSG}'],
    ),
    ("volume name missing", _vols({"emptyDir": {}}), ["spec.volumes[1].name: Required value"]),
    (
        "volume name not label",
        _vols({"name": "My_Vol"}),
        [f'spec.volumes[1].name: Invalid value: "My_Vol": {LABEL_MSG}'],
    ),
    (
        "volume name too long",
        _vols({"name": "a" * 64}),
        [f'spec.volumes[1].name: Invalid value: "{"a" * 64}": must be no more than 63 characters'],
    ),
    (
        "volume duplicate",
        _vols({"name": "shared-data"}),
        ['spec.volumes[1].name: Duplicate value: "shared-data"'],
    ),
    (
        "two volume sources",
        _vols({"name": "x", "emptyDir": {}, "hostPath": {"path": "/tmp"}}),
        ["spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type"],
    ),
    (
        "emptyDir negative sizeLimit",
        _vols({"name": "x", "emptyDir": {"sizeLimit": "-1Mi"}}),
        ["spec.volumes[1].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity"],
    ),
    (
        "hostPath path required",
        _vols({"name": "x", "hostPath": {"path": ""}}),
        ["spec.volumes[1].hostPath.path: Required value"],
    ),
    (
        "hostPath ..",
        _vols({"name": "x", "hostPath": {"path": "/a/../etc"}}),
        ["spec.volumes[1].hostPath.path: Invalid value: \"/a/../etc\": must not contain '..'"],
    ),
    (
        "hostPath type",
        _vols({"name": "x", "hostPath": {"path": "/a", "type": "Dir"}}),
        [f'spec.volumes[1].hostPath.type: Unsupported value: "Dir": supported values: {HOSTPATH_TYPES}'],
    ),
    (
        "unsupported volume type",
        _vols({"name": "x", "gitRepo": {"repository": "r"}}),
        ["spec.volumes[1].gitRepo: Forbidden: gitRepo volumes are not supported by podbay"],
    ),
    (
        "invalid volume dropped from lookup",
        _seq(lambda p: p["spec"]["volumes"][0].update(hostPath={"path": "/x/.."})),
        [
            "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
            'spec.containers[0].volumeMounts[0].name: Not found: "shared-data"',
            'spec.containers[1].volumeMounts[0].name: Not found: "shared-data"',
        ],
    ),
    (
        "mount name required",
        _set(m0, name=""),
        [
            "spec.containers[0].volumeMounts[0].name: Required value",
            'spec.containers[0].volumeMounts[0].name: Not found: ""',
        ],
    ),
    (
        "mount not found",
        _set(m0, name="data"),
        ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ),
    (
        "mountPath required",
        _set(m0, mountPath=""),
        ["spec.containers[0].volumeMounts[0].mountPath: Required value"],
    ),
    (
        "mountPath unique",
        lambda p: c0(p)["volumeMounts"].append({"name": "shared-data", "mountPath": "/data"}),
        ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique'],
    ),
    (
        "subPath absolute",
        _set(m0, subPath="/etc"),
        ['spec.containers[0].volumeMounts.subPath: Invalid value: "/etc": must be a relative path'],
    ),
    (
        "subPath ..",
        _set(m0, subPath="a/../b"),
        ["spec.containers[0].volumeMounts.subPath: Invalid value: \"a/../b\": must not contain '..'"],
    ),
    (
        "subPath ../../.. once",
        _set(m0, subPath="../../.."),
        ["spec.containers[0].volumeMounts.subPath: Invalid value: \"../../..\": must not contain '..'"],
    ),
    (
        "subPathExpr exclusive",
        _set(m0, subPath="a", subPathExpr="$(X)"),
        [
            'spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(X)": subPathExpr and subPath are mutually exclusive'
        ],
    ),
    (
        "propagation value",
        _set(m0, mountPropagation="Foo"),
        [
            'spec.containers[0].volumeMounts.mountPropagation: Unsupported value: "Foo": supported values: "Bidirectional", "HostToContainer", "None"'
        ],
    ),
    (
        "bidirectional unprivileged",
        _set(m0, mountPropagation="Bidirectional"),
        [
            "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"
        ],
    ),
    (
        "recursiveReadOnly needs readOnly",
        _set(m0, recursiveReadOnly="Enabled"),
        [
            "spec.containers[0].volumeMounts.recursiveReadOnly: Forbidden: may only be specified when readOnly is true"
        ],
    ),
    (
        "recursiveReadOnly value",
        _set(m0, recursiveReadOnly="Yes"),
        [
            'spec.containers[0].volumeMounts.recursiveReadOnly: Unsupported value: "Yes": supported values: "Disabled", "Enabled", "IfPossible"'
        ],
    ),
    ("containers required", _spec(containers=[]), ["spec.containers: Required value"]),
    ("container name required", _set(c0, name=""), ["spec.containers[0].name: Required value"]),
    (
        "container name label",
        _set(c0, name="App_1"),
        [f'spec.containers[0].name: Invalid value: "App_1": {LABEL_MSG}'],
    ),
    (
        "container duplicate",
        lambda p: p["spec"]["containers"][1].update(name="producer"),
        ['spec.containers[1].name: Duplicate value: "producer"'],
    ),
    (
        "init name collides",
        _init(name="producer"),
        ['spec.initContainers[0].name: Duplicate value: "producer"'],
    ),
    ("image required", _set(c0, image=""), ["spec.containers[0].image: Required value"]),
    (
        "image whitespace",
        _set(c0, image=" busybox"),
        ['spec.containers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace'],
    ),
    (
        "env name",
        _set(c0, env=[{"name": "A=B", "value": "x"}]),
        [
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"
        ],
    ),
    (
        "env name empty",
        _set(c0, env=[{"value": "x"}]),
        [
            "spec.containers[0].env[0].name: Required value",
            'spec.containers[0].env[0].name: Invalid value: "": environment variable name must be non-empty',
        ],
    ),
    (
        "env fieldRef path",
        _set(c0, env=[{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]),
        [
            'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo": supported values: '
            '"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", '
            '"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"'
        ],
    ),
    (
        "containerPort range",
        _set(c0, ports=[{"containerPort": 70000}]),
        [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ],
    ),
    (
        "containerPort required",
        _set(c0, ports=[{"name": "http"}]),
        ["spec.containers[0].ports[0].containerPort: Required value"],
    ),
    (
        "protocol",
        _set(c0, ports=[{"containerPort": 80, "protocol": "ICMP"}]),
        [
            'spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    (
        "hostPort duplicate",
        _seq(
            _set(c0, ports=[{"containerPort": 80, "hostPort": 8080}]),
            lambda p: p["spec"]["containers"][1].update(ports=[{"containerPort": 81, "hostPort": 8080}]),
        ),
        ['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"'],
    ),
    (
        "restartPolicy",
        _spec(restartPolicy="Sometimes"),
        [
            'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
        ],
    ),
    (
        "container restartPolicy",
        _set(c0, restartPolicy="Always"),
        ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"],
    ),
    (
        "init restartPolicy",
        _init(name="init", restartPolicy="OnFailure"),
        ['spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
    ),
    (
        "init probe",
        _init(name="init", livenessProbe={"exec": {"command": ["true"]}}),
        [
            "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
        ],
    ),
    (
        "activeDeadlineSeconds",
        _spec(activeDeadlineSeconds=0),
        ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
    ),
    ("hostname", _spec(hostname="My.Host"), [f'spec.hostname: Invalid value: "My.Host": {LABEL_MSG}']),
    ("subdomain", _spec(subdomain="-x"), [f'spec.subdomain: Invalid value: "-x": {LABEL_MSG}']),
    (
        "runAsUser",
        _spec(securityContext={"runAsUser": -1}),
        ["spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"],
    ),
    (
        "fsGroup",
        _spec(securityContext={"fsGroup": -1}),
        ["spec.securityContext.fsGroup: Invalid value: -1: must be between 0 and 2147483647, inclusive"],
    ),
    (
        "grace negative",
        _spec(terminationGracePeriodSeconds=-1),
        ["spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"],
    ),
    (
        "request above limit",
        _set(c0, resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
        [
            'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'
        ],
    ),
    (
        "memory request above limit canonical",
        _set(c0, resources={"limits": {"memory": "1024Mi"}, "requests": {"memory": "2Gi"}}),
        [
            'spec.containers[0].resources.requests: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi'
        ],
    ),
    (
        "bad quantity",
        _set(c0, resources={"limits": {"memory": "lots"}}),
        [
            "spec.containers[0].resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ],
    ),
    (
        "nonstandard resource",
        _set(c0, resources={"requests": {"gpu": "1"}}),
        [
            'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers'
        ],
    ),
    (
        "hugepages without cpu/memory",
        _set(c0, resources={"limits": {"hugepages-2Mi": "4Mi"}}),
        ["spec.containers[0].resources: Forbidden: HugePages require cpu or memory"],
    ),
    (
        "hugepages request != limit",
        _set(
            c0,
            resources={
                "limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi"},
                "requests": {"hugepages-2Mi": "2Mi"},
            },
        ),
        [
            'spec.containers[0].resources.requests: Invalid value: "2Mi": must be equal to hugepages-2Mi limit of 4Mi'
        ],
    ),
    (
        "hugepages not a multiple",
        _set(c0, resources={"limits": {"hugepages-2Mi": "3Mi", "memory": "1Gi"}}),
        [
            'spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi',
            'spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi',
        ],
    ),
    (
        "ephemeral on create",
        _spec(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
        ["spec.ephemeralContainers: Forbidden: cannot be set on create"],
    ),
    (
        "shareProcessNamespace and hostPID",
        _spec(shareProcessNamespace=True, hostPID=True),
        [
            "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
            "spec.hostPID: Forbidden: not supported by podbay",
        ],
    ),
    ("hostNetwork", _spec(hostNetwork=True), ["spec.hostNetwork: Forbidden: not supported by podbay"]),
    ("hostIPC", _spec(hostIPC=True), ["spec.hostIPC: Forbidden: not supported by podbay"]),
    ("grpc probe", _set(c0, readinessProbe={"grpc": {"port": 9000}}), []),
    (
        "grpc probe port",
        _set(c0, readinessProbe={"grpc": {"port": 0}}),
        ["spec.containers[0].readinessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive"],
    ),
    ("lifecycle", _set(c0, lifecycle={"preStop": {"exec": {"command": ["true"]}}}), []),
    (
        "lifecycle sleep beyond the grace",
        _set(c0, lifecycle={"preStop": {"sleep": {"seconds": 31}}}),
        ["spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: 31: must be non-negative and less "
         "than terminationGracePeriodSeconds (30)"],
    ),
    (
        "lifecycle two handlers",
        _set(c0, lifecycle={"postStart": {"exec": {"command": ["true"]}, "sleep": {"seconds": 1}}}),
        ["spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type"],
    ),
    (
        "stopSignal without os",
        _set(c0, lifecycle={"stopSignal": "SIGUSR1"}),
        ["spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty "
         "`spec.os.name`"],
    ),
    (
        "resourceClaims",
        _spec(resourceClaims=[{"name": "gpu"}]),
        ["spec.resourceClaims: Forbidden: dynamic resource allocation is not supported by podbay"],
    ),
    (
        "os windows",
        _spec(os={"name": "windows"}),
        ["spec.os.name: Forbidden: os windows is not supported by podbay"],
    ),
    (
        "os bogus",
        _spec(os={"name": "plan9"}),
        ['spec.os.name: Unsupported value: "plan9": supported values: "linux", "windows"'],
    ),
    (
        "label value",
        lambda p: p["metadata"].update(labels={"app": "-bad"}),
        [
            "metadata.labels[app]: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ],
    ),
    (
        "liveness successThreshold",
        _set(c0, livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2}),
        ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    ),
    (
        "configMap name",
        _vols({"name": "cm", "configMap": {}}),
        ["spec.volumes[1].configMap.name: Required value"],
    ),
    (
        "secret name",
        _vols({"name": "s", "secret": {"defaultMode": 0o1000, "secretName": "x"}}),
        [
            "spec.volumes[1].secret.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive"
        ],
    ),
    (
        "nfs path",
        _vols({"name": "n", "nfs": {"server": "s", "path": "rel"}}),
        ['spec.volumes[1].nfs.path: Invalid value: "rel": must be an absolute path'],
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_pod_messages(name: str, mutate: Mut, expected: list[str]) -> None:
    pod = producer_consumer()
    mutate(pod)
    pod = default_pod(pod)
    assert [str(e) for e in support.admit("Pod", pod, None, validate_pod(pod))] == expected   # as the registry does


def test_at_least_thirty_cases() -> None:
    assert len({c[0] for c in INVALID}) >= 30


def test_valid_pods_have_no_errors() -> None:
    pod = producer_consumer()
    assert validate_pod(default_pod(pod)) == []
    # a volume with no source is defaulted to emptyDir and is valid
    pod["spec"]["volumes"] = [{"name": "shared-data"}]
    assert validate_pod(default_pod(pod)) == []


def test_rich_valid_pod() -> None:
    pod = producer_consumer()
    pod["spec"]["volumes"] += [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "10Mi"}},
        {"name": "host", "hostPath": {"path": "/tmp", "type": "DirectoryOrCreate"}},
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "dir/a"}]}},
        {
            "name": "dapi",
            "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
        },
    ]
    pod["spec"]["initContainers"] = [
        {"name": "init", "image": "busybox:1.35", "command": ["true"]},
        {
            "name": "sidecar",
            "image": "busybox:1.35",
            "restartPolicy": "Always",
            "readinessProbe": {"exec": {"command": ["true"]}},
        },
    ]
    c = pod["spec"]["containers"][0]
    c["volumeMounts"] += [
        {"name": "tmp", "mountPath": "/tmp", "subPathExpr": "$(POD_NAME)"},
        {"name": "host", "mountPath": "/host", "readOnly": True, "recursiveReadOnly": "IfPossible"},
        {"name": "cfg", "mountPath": "/etc/cfg", "subPath": "dir/a"},
        {"name": "dapi", "mountPath": "/etc/podinfo"},
    ]
    c["env"] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "my.env-name", "value": "1"},
    ]
    c["ports"] = [{"name": "http", "containerPort": 8080, "hostPort": 8080}]
    c["resources"] = {"limits": {"cpu": "500m", "memory": "128Mi", "hugepages-2Mi": "4Mi"}}
    c["livenessProbe"] = {"httpGet": {"port": "http"}, "initialDelaySeconds": 3}
    pod["spec"].update(
        activeDeadlineSeconds=600, hostname="web", subdomain="svc", shareProcessNamespace=True, os={"name": "linux"},
        securityContext={"runAsUser": 1001, "fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch"},
    )  # fmt: skip
    assert [str(e) for e in validate_pod(default_pod(pod))] == []


def test_cause_and_body() -> None:
    pod = producer_consumer()
    pod["spec"]["restartPolicy"] = "Sometimes"
    (err,) = validate_pod(default_pod(pod))
    assert err.cause() == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        "field": "spec.restartPolicy",
    }
    assert FieldError("Required", "x").cause()["reason"] == "FieldValueRequired"
    assert FieldError("TooLong", "metadata.annotations", None, "must have at most 262144 bytes").body() == (
        "Too long: must have at most 262144 bytes"
    )


def test_go_quote() -> None:
    assert go_quote('a"b\\c\n\t\x01é\u200b') == '"a\\"b\\\\c\\n\\t\\x01é\\u200b"'


def test_object_meta_reusable() -> None:
    assert validate_object_meta({"name": "cfg", "namespace": "default"}) == []
    assert [str(e) for e in validate_object_meta({"name": "cfg"})] == ["metadata.namespace: Required value"]


# ---------------------------------------------------------------------------------------------- update


def _pair() -> tuple[dict[str, Any], dict[str, Any]]:
    old = default_pod(producer_consumer())
    return old, copy.deepcopy(old)


def test_update_allows_image_labels_deadline_tolerations() -> None:
    old, new = _pair()
    old["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.36"
    new["metadata"]["labels"] = {"app": "other"}
    new["metadata"]["annotations"] = {"mysubpath": "mypath"}
    new["spec"]["activeDeadlineSeconds"] = 100
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    assert validate_pod_update(old, new) == []


def test_update_forbids_volume_change() -> None:
    old, new = _pair()
    new["spec"]["volumes"][0]["emptyDir"] = {"medium": "Memory"}
    errs = [str(e) for e in validate_pod_update(old, new)]
    assert len(errs) == 1
    assert errs[0].startswith(UPDATE_MSG + "\n")
    assert "volumes[0].emptyDir.medium" in errs[0]


def test_update_add_container() -> None:
    old, new = _pair()
    new["spec"]["containers"].append({**new["spec"]["containers"][0], "name": "third"})
    assert [str(e) for e in validate_pod_update(old, new)] == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]


def test_update_deadline_rules() -> None:
    old, new = _pair()
    old["spec"]["activeDeadlineSeconds"] = 10
    new["spec"]["activeDeadlineSeconds"] = 20
    assert [str(e) for e in validate_pod_update(old, new)] == [
        "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"
    ]
    new["spec"].pop("activeDeadlineSeconds")
    assert [str(e) for e in validate_pod_update(old, new)] == [
        'spec.activeDeadlineSeconds: Invalid value: "null": must not update from a positive integer to nil value'
    ]


def test_update_name_immutable_and_tolerations() -> None:
    old, new = _pair()
    new["metadata"]["name"] = "other"
    assert 'metadata.name: Invalid value: "other": field is immutable' in [
        str(e) for e in validate_pod_update(old, new)
    ]
    old, new = _pair()
    old["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    new["spec"]["tolerations"] = [{"key": "a", "operator": "Equal", "value": "x"}]
    assert (
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
        in [str(e) for e in validate_pod_update(old, new)]
    )
