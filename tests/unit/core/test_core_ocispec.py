from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from podbay.core.ocispec import (
    ALL_CAPS,
    MASKED_PATHS,
    READONLY_PATHS,
    ContainerPlan,
    MountSpec,
    User,
    build_spec,
    capabilities,
    clean_mount_path,
    milli_cpu_to_quota,
    milli_cpu_to_shares,
    order_mounts,
    resolve_user,
    volume_mount,
)
from podbay.errors import PermanentError

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default", "uid": "uid-1"}, "spec": {"containers": []}}
DEFAULT_CAPS = sorted(
    f"CAP_{c}" for c in ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                         "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"))


def plan(container: dict[str, Any] | None = None, pod: dict[str, Any] | None = None, **kw: Any) -> ContainerPlan:
    base: dict[str, Any] = {
        "container_id": "cid", "pod": pod or POD, "container": container or {"name": "c"},
        "argv": ["/bin/sh"], "env": ["PATH=/bin"], "rootfs": "/r/rootfs", "cgroups_path": "/podbay/uid-1/cid",
        "net_ns": "/run/podbay/ns/uid-1/net", "ipc_ns": "/run/podbay/ns/uid-1/ipc", "uts_ns": "/run/podbay/ns/uid-1/uts",
    }
    base.update(kw)
    return ContainerPlan(**base)


def test_basic_shape() -> None:
    s = build_spec(plan(user=User(1000, 1000, (1000, 2000)), cwd="/w"))
    assert s["ociVersion"] == "1.0.2"
    p = s["process"]
    assert p["terminal"] is False and p["args"] == ["/bin/sh"] and p["env"] == ["PATH=/bin"]
    assert p["cwd"] == "/w"
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]}
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    assert p["noNewPrivileges"] is False
    assert "oomScoreAdj" not in p
    assert sorted(p["capabilities"]["bounding"]) == DEFAULT_CAPS
    assert p["capabilities"]["effective"] == p["capabilities"]["permitted"] == p["capabilities"]["bounding"]
    assert "hostname" not in s
    assert s["root"] == {"path": "/r/rootfs", "readonly": False}
    ns = s["linux"]["namespaces"]
    assert ns == [
        {"type": "network", "path": "/run/podbay/ns/uid-1/net"},
        {"type": "ipc", "path": "/run/podbay/ns/uid-1/ipc"},
        {"type": "uts", "path": "/run/podbay/ns/uid-1/uts"},
        {"type": "pid"},
        {"type": "mount"},
    ]
    assert s["linux"]["cgroupsPath"] == "/podbay/uid-1/cid"
    assert s["linux"]["maskedPaths"] == list(MASKED_PATHS)
    assert s["linux"]["readonlyPaths"] == list(READONLY_PATHS)
    assert s["annotations"] == {"io.kubernetes.pod.name": "p", "io.kubernetes.pod.namespace": "default",
                                "io.kubernetes.pod.uid": "uid-1", "io.kubernetes.container.name": "c",
                                "io.kubernetes.cri-o.Stdin": "false", "io.kubernetes.cri-o.StdinOnce": "false",
                                "io.kubernetes.cri-o.TTY": "false"}
    dests = [m["destination"] for m in s["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]
    dev = s["mounts"][1]
    assert dev["options"] == ["nosuid", "strictatime", "mode=755", "size=65536k"]
    assert "ro" in s["mounts"][5]["options"] and "ro" in s["mounts"][6]["options"]
    json.dumps(s)  # serialisable


def test_host_namespaces_and_shared_pid() -> None:
    s = build_spec(plan(net_ns=None, ipc_ns=None, uts_ns=None, pid_ns="/proc/42/ns/pid"))
    assert s["linux"]["namespaces"] == [{"type": "pid", "path": "/proc/42/ns/pid"}, {"type": "mount"}]
    s = build_spec(plan(host_pid=True))
    assert {"type": "pid"} not in s["linux"]["namespaces"]


@pytest.mark.parametrize(
    ("sc", "plan_ro", "expected"),
    [({}, None, False), ({"readOnlyRootFilesystem": True}, None, True),
     ({"readOnlyRootFilesystem": False}, None, False), ({}, True, True)],
)
def test_readonly_rootfs(sc: dict[str, Any], plan_ro: bool | None, expected: bool) -> None:
    s = build_spec(plan({"name": "c", "securityContext": sc}, readonly_rootfs=plan_ro))
    assert s["root"]["readonly"] is expected


@pytest.mark.parametrize(
    ("caps", "expected_add", "expected_missing"),
    [
        ({"add": ["NET_ADMIN"]}, {"CAP_NET_ADMIN"}, set()),
        ({"add": ["net_admin", "CAP_SYS_TIME"]}, {"CAP_NET_ADMIN", "CAP_SYS_TIME"}, set()),
        ({"drop": ["CHOWN", "KILL"]}, set(), {"CAP_CHOWN", "CAP_KILL"}),
        ({"add": ["NET_ADMIN"], "drop": ["NET_ADMIN"]}, set(), {"CAP_NET_ADMIN"}),
    ],
)
def test_caps_add_drop(caps: dict[str, Any], expected_add: set[str], expected_missing: set[str]) -> None:
    got = set(capabilities({"capabilities": caps}))
    assert expected_add <= got
    assert not (expected_missing & got)
    assert got - expected_add == set(DEFAULT_CAPS) - expected_missing


def test_caps_all() -> None:
    assert capabilities({"capabilities": {"drop": ["ALL"]}}) == []
    assert capabilities({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}) == ["CAP_NET_BIND_SERVICE"]
    every = capabilities({"capabilities": {"add": ["ALL"], "drop": ["SYS_ADMIN"]}})
    assert len(every) == len(ALL_CAPS) - 1 and "CAP_SYS_ADMIN" not in every
    # limited to what the host still has (this host lacks SYS_RESOURCE)
    host = [c for c in ALL_CAPS if c != "SYS_RESOURCE"]
    assert "CAP_SYS_RESOURCE" not in capabilities({"capabilities": {"add": ["ALL"]}}, host)
    with pytest.raises(PermanentError):
        capabilities({"capabilities": {"add": ["BOGUS"]}})


def test_privileged() -> None:
    host = [c for c in ALL_CAPS if c != "SYS_RESOURCE"]
    s = build_spec(plan({"name": "c", "securityContext": {"privileged": True}}, available_caps=host))
    assert len(s["process"]["capabilities"]["bounding"]) == len(host)
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sys_mount = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sys_mount["options"]


def test_no_new_privileges() -> None:
    assert build_spec(plan({"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}))[
        "process"]["noNewPrivileges"] is True
    assert build_spec(plan({"name": "c", "securityContext": {"allowPrivilegeEscalation": True}}))[
        "process"]["noNewPrivileges"] is False


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({}, {"cpu": {"shares": 2}}),
        ({"requests": {"cpu": "250m"}}, {"cpu": {"shares": 256}}),
        ({"limits": {"cpu": "500m", "memory": "64Mi"}},
         {"cpu": {"shares": 512, "quota": 50000, "period": 100000}, "memory": {"limit": 67108864}}),
        ({"limits": {"cpu": "2", "memory": "1G"}, "requests": {"cpu": "100m", "memory": "10M"}},
         {"cpu": {"shares": 102, "quota": 200000, "period": 100000}, "memory": {"limit": 1000000000}}),
        ({"limits": {"cpu": "1m"}}, {"cpu": {"shares": 2, "quota": 1000, "period": 100000}}),
    ],
)
def test_resources(resources: dict[str, Any], expected: dict[str, Any]) -> None:
    res = build_spec(plan({"name": "c", "resources": resources}))["linux"]["resources"]
    assert res.pop("devices") == [{"allow": False, "access": "rwm"}]
    assert res == expected


def test_cpu_conversions() -> None:
    assert [milli_cpu_to_shares(m) for m in (0, 1, 2, 100, 1000, 10**6)] == [2, 2, 2, 102, 1024, 262144]
    assert [milli_cpu_to_quota(m) for m in (0, 1, 10, 100, 1500)] == [0, 1000, 1000, 10000, 150000]


def test_pids_and_rlimit() -> None:
    s = build_spec(plan(pids_limit=1024, rlimit_nofile=(1024, 20000)))
    assert s["linux"]["resources"]["pids"] == {"limit": 1024}
    assert s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 1024}]


def test_hugepages_limits_in_the_spec() -> None:
    """Regression (D4): a HugePages container failed with CreateContainerConfigError."""
    spec = build_spec(plan({"name": "c", "resources": {"limits": {"hugepages-2Mi": "4Mi", "memory": "8Mi",
                                                                 "hugepages-1Gi": "2Gi"}}}))
    assert spec["linux"]["resources"]["hugepageLimits"] == [{"pageSize": "1GB", "limit": 2 << 30},
                                                           {"pageSize": "2MB", "limit": 4 << 20}]


def test_mount_order_dedup_and_options() -> None:
    mounts = [
        MountSpec("/etc/hosts", "/pods/u/etc-hosts"),
        MountSpec("/a/b/c", "/v3", readonly=True),
        MountSpec("/a", "/v1", propagation="HostToContainer"),
        MountSpec("/a/b", "/v2"),
        MountSpec("/z", "/v4"),
        MountSpec("/etc/hosts", "/user-hosts"),          # a user mount replaces the pod file
        MountSpec("/tmp", "tmpfs", type="tmpfs", options=("nosuid", "size=1m")),
    ]
    s = build_spec(plan(mounts=mounts))
    user = s["mounts"][7:]
    assert [m["destination"] for m in user] == ["/a", "/z", "/tmp", "/a/b", "/etc/hosts", "/a/b/c"]
    by = {m["destination"]: m for m in user}
    assert by["/etc/hosts"]["source"] == "/user-hosts"
    assert by["/a"]["options"] == ["rbind", "rslave"]
    assert by["/a/b"]["options"] == ["rbind", "rprivate"]
    assert by["/a/b/c"]["options"] == ["rbind", "rprivate", "ro"]
    assert by["/tmp"] == {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}
    assert by["/a"]["type"] == "bind"
    assert s["linux"]["rootfsPropagation"] == "rslave"


def test_bidirectional_sets_rshared_root() -> None:
    s = build_spec(plan(mounts=[MountSpec("/m", "/src", propagation="Bidirectional")]))
    assert s["mounts"][-1]["options"] == ["rbind", "rshared"]
    assert s["linux"]["rootfsPropagation"] == "rshared"


def test_shm() -> None:
    s = build_spec(plan())
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert shm["type"] == "tmpfs" and "size=65536k" in shm["options"]
    s = build_spec(plan(shm_path="/run/podbay/pods/u/shm"))
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert shm["type"] == "bind" and shm["source"] == "/run/podbay/pods/u/shm" and "rbind" in shm["options"]
    # a user volume at /dev/shm replaces the default one
    s = build_spec(plan(mounts=[MountSpec("/dev/shm", "/vol")]))
    assert [m["source"] for m in s["mounts"] if m["destination"] == "/dev/shm"] == ["/vol"]


def test_volume_mount_helper() -> None:
    m = volume_mount({"name": "v", "mountPath": "data/", "readOnly": True, "mountPropagation": "HostToContainer"}, "/h")
    assert m == MountSpec("/data", "/h", readonly=True, propagation="HostToContainer")
    assert clean_mount_path("/a//b/../c") == "/a/c"
    for mode in ("Enabled", "IfPossible"):
        rro = volume_mount({"mountPath": "/x", "readOnly": True, "recursiveReadOnly": mode}, "/h")
        assert rro.oci()["options"] == ["rbind", "rprivate", "ro", "rro"]
    plain = volume_mount({"mountPath": "/x", "readOnly": True, "recursiveReadOnly": "Disabled"}, "/h")
    assert plain.oci()["options"] == ["rbind", "rprivate", "ro"]
    assert order_mounts([MountSpec("/x/", "1"), MountSpec("/x", "2")]) == [MountSpec("/x", "2")]


def test_sysctls_and_seccomp() -> None:
    pod = {**POD, "spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}],
                                               "seccompProfile": {"type": "RuntimeDefault"}}}}
    s = build_spec(plan(pod=pod))
    assert s["linux"]["sysctl"] == {"net.ipv4.ip_local_port_range": "1024 65000"}
    sc = s["linux"]["seccomp"]
    assert (sc["defaultAction"], sc["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 38)   # an allow-list
    assert "read" in sc["syscalls"][0]["names"] and sc["syscalls"][0]["action"] == "SCMP_ACT_ALLOW"
    assert "seccomp" not in build_spec(plan())["linux"]
    with pytest.raises(PermanentError, match="localhostProfile must be set"):
        build_spec(plan({"name": "c", "securityContext": {"seccompProfile": {"type": "Localhost"}}}))


PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:1000:1001::/home/app:/bin/sh\n"
GROUP = "root:x:0:\nwheel:x:10:app,root\nstaff:x:50:app\nappg:x:1001:\n"


@pytest.mark.parametrize(
    ("pod_sc", "ctr_sc", "image_user", "expected"),
    [
        ({}, {}, "", User(0, 0, (0, 10))),                           # root, member of wheel
        ({}, {}, "1000", User(1000, 1001, (1001, 10, 50))),        # numeric, gid from passwd
        ({}, {}, "app", User(1000, 1001, (1001, 10, 50))),
        ({}, {}, "4242", User(4242, 0, (0,))),                     # unknown uid: gid 0
        ({}, {}, "1000:50", User(1000, 50, (50, 10))),
        ({}, {}, "app:staff", User(1000, 50, (50, 10))),
        ({"runAsUser": 1001}, {}, "app", User(1001, 0, (0,))),      # runAsUser beats the image user
        ({"runAsUser": 1001}, {"runAsUser": 1000}, "", User(1000, 1001, (1001, 10, 50))),
        ({"runAsUser": 5, "runAsGroup": 6}, {"runAsGroup": 7}, "", User(5, 7, (7,))),
        ({}, {"runAsGroup": 3000}, "1000", User(1000, 3000, (3000, 10, 50))),
        ({"fsGroup": 2000, "supplementalGroups": [4000, 2000]}, {"runAsUser": 1001}, "",
         User(1001, 0, (0, 4000, 2000))),
    ],
)
def test_resolve_user(pod_sc: dict[str, Any], ctr_sc: dict[str, Any], image_user: str, expected: User) -> None:
    pod = {**POD, "spec": {"securityContext": pod_sc}}
    assert resolve_user(pod, {"name": "c", "securityContext": ctr_sc}, image_user, PASSWD, GROUP) == expected


def test_resolve_user_errors() -> None:
    c = {"name": "c"}
    with pytest.raises(PermanentError, match="unable to find user ghost"):
        resolve_user(POD, c, "ghost", PASSWD, GROUP)
    with pytest.raises(PermanentError, match="unable to find user app"):
        resolve_user(POD, c, "app")  # no passwd text
    nonroot = {"name": "c", "securityContext": {"runAsNonRoot": True}}
    with pytest.raises(PermanentError, match=r"container has runAsNonRoot and image will run as root \(pod: \"p_default\(uid-1\)\", container: c\)"):
        resolve_user(POD, nonroot, "")
    with pytest.raises(PermanentError, match="non-numeric user \\(ghost\\)"):
        resolve_user(POD, nonroot, "ghost")
    with pytest.raises(PermanentError, match="runAsUser breaks non-root policy"):
        resolve_user(POD, {"name": "c", "securityContext": {"runAsNonRoot": True, "runAsUser": 0}}, "1000")
    assert resolve_user(POD, nonroot, "1000", PASSWD, GROUP).uid == 1000


SCHEMA_DIRS = [Path(p) for p in (os.environ.get("PODBAY_OCI_SCHEMA_DIR", ""),
                                  "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema") if p]


def test_validates_against_runtime_spec_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    schema_dir = next((d for d in SCHEMA_DIRS if (d / "config-schema.json").exists()), None)
    if schema_dir is None:
        pytest.skip("golang-github-opencontainers-specs-dev schema not installed")
    draft4 = referencing.jsonschema.DRAFT4
    registry = referencing.Registry().with_resources(
        (f.as_uri(), draft4.create_resource(json.loads(f.read_text()))) for f in schema_dir.glob("*.json"))
    schema = {"$ref": (schema_dir / "config-schema.json").as_uri()}
    spec = build_spec(plan({"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]},
                                                "seccompProfile": {"type": "RuntimeDefault"}}},
                           mounts=[MountSpec("/data", "/h", readonly=True)], pids_limit=100,
                           user=User(1, 2, (3,)), shm_path="/shm"))
    validator = jsonschema.Draft4Validator(schema, registry=registry)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(spec)]
    assert errors == []
    # and it does catch a broken spec
    assert list(validator.iter_errors({**spec, "ociVersion": 1}))


def test_caps_from_mask_follows_kernel_bit_numbers() -> None:
    from podbay.core.ocispec import caps_from_mask

    # This host's CapBnd: every capability up to CHECKPOINT_RESTORE except SYS_RESOURCE (bit 24).
    caps = caps_from_mask(0x000001FFFEFFFFFF)
    assert "SYS_RESOURCE" not in caps and "SYS_ADMIN" in caps and caps[0] == "CHOWN"
    assert caps_from_mask(1 << 21) == ("SYS_ADMIN",)
    assert caps_from_mask(0) == ()
