"""The Kubernetes volume conformance tests (SEMANTICS §7.1–§7.4, §6.1) replayed against a real agent.

There is no agnhost image offline, so ``agnhost mounttest`` is reproduced in busybox sh by
``mounttest()`` below: same action order, same output lines, so the assertions are upstream's exact
strings. Pods of one group are created together and checked per case, which keeps the module fast
(upstream's 20 s ``--file_content_in_loop`` reads run side by side instead of one after another).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from e2e_harness import Agent

from podbay.client.http import ApiClient, ApiError

pytestmark = pytest.mark.root

NS = "default"
IMAGE = "busybox:1.35"
CONTENT = "mount-tester new file"
TERMINAL = ("Succeeded", "Failed")


# --- agnhost mounttest in sh ---------------------------------------------------------------------

def _go_perm(p: str) -> str:
    """`os.Stat(p).Mode().Perm().String()`: only the 0777 bits, so s/t become x and S/T become -."""
    return f"-$(stat -L -c %A {p} | cut -c2-10 | sed -e 's/[st]/x/g' -e 's/[ST]/-/g')"


def mounttest(*, fs_type: str = "", new_file: tuple[str, str] | None = None, file_mode: str = "",
              file_perm: str = "", file_owner: str = "", file_content: str = "",
              file_content_in_loop: str = "", retry_time: int = 20, ls_mode: str = "") -> list[str]:
    """``mounttest`` flags -> a busybox command printing what agnhost prints, in agnhost's order.

    ``ls_mode`` is ours (not agnhost): prints ``ls mode of "P": <stat %A> <stat %a>`` so the raw
    special bits (sticky, setgid) are checked too.
    """
    s = ["umask 0", "rc=0"]
    if fs_type:
        p = fs_type
        s.append(f'if t=$(stat -f -c %T {p}); then if [ "$t" = tmpfs ]; '
                 f'then echo \'mount type of "{p}": tmpfs\'; '
                 f'else echo "mount type of \\"{p}\\": $((0x$(stat -f -c %t {p})))"; fi; else rc=1; fi')
    if new_file:
        mode, f = new_file
        s.append(f"if echo '{CONTENT}' > {f} && chmod {mode} {f} && c=$(cat {f}); "
                 f'then echo "content of file \\"{f}\\": $c"; else rc=1; fi')
    if file_mode:
        p = file_mode
        s.append(f"m=$((0x$(stat -L -c %f {p}))) || rc=1; k=; [ -d {p} ] && k=d; "
                 "[ $((m & 2048)) -ne 0 ] && k=${k}u; [ $((m & 1024)) -ne 0 ] && k=${k}g; "
                 "[ $((m & 512)) -ne 0 ] && k=${k}t; [ -z \"$k\" ] && k=-; "
                 f'echo "mode of file \\"{p}\\": $k$(stat -L -c %A {p} | cut -c2-10 | '
                 "sed -e 's/[st]/x/g' -e 's/[ST]/-/g')\"")
    if file_perm:
        p = file_perm
        s.append(f'stat -L {p} >/dev/null || rc=1; echo "perms of file \\"{p}\\": {_go_perm(p)}"')
    if file_owner:
        p = file_owner
        s.append(f'echo "owner UID of \\"{p}\\": $(stat -L -c %u {p})"; '
                 f'echo "owner GID of \\"{p}\\": $(stat -L -c %g {p})"')
    if file_content:
        p = file_content
        s.append(f'if c=$(cat {p}); then echo "content of file \\"{p}\\": $c"; else rc=1; fi')
    if file_content_in_loop:
        p = file_content_in_loop
        s.append(f"end=$(( $(date +%s) + {retry_time} )); while [ $(date +%s) -lt $end ]; do "
                 f'if c=$(cat {p}); then rc=0; echo "content of file \\"{p}\\": $c"; '
                 f'[ "$c" = \'{CONTENT}\' ] && break; else rc=1; echo "Error reading file {p}, retrying"; fi; '
                 "sleep 2; done")
    if ls_mode:
        s.append(f'echo "ls mode of \\"{ls_mode}\\": $(stat -L -c \'%A %a\' {ls_mode})"')
    s.append("exit $rc")
    return ["sh", "-c", "\n".join(s)]


# --- helpers -------------------------------------------------------------------------------------

def api(agent: Agent) -> ApiClient:
    return ApiClient(str(agent.socket))


def uid() -> str:
    return str(uuid.uuid4())


def pod_body(name: str, containers: list[dict[str, Any]], volumes: list[dict[str, Any]],
             annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers, "volumes": volumes, **spec}}


def apply(agent: Agent, *bodies: dict[str, Any]) -> None:
    agent.pb("apply", "-f", "-", input="\n---\n".join(json.dumps(b) for b in bodies))


def delete(agent: Agent, *names: str, graceful: bool = False) -> None:
    if names:
        agent.pb("delete", "pod", *names, *([] if graceful else ["--now"]), "--wait", timeout=120)


def container_state(pod: dict[str, Any], idx: int = 0) -> dict[str, Any]:
    cs = pod.get("status", {}).get("containerStatuses") or []
    return dict(cs[idx]) if len(cs) > idx else {}


def waiting(pod: dict[str, Any], idx: int = 0) -> dict[str, Any]:
    return dict((container_state(pod, idx).get("state") or {}).get("waiting") or {})


@dataclass
class Outcome:
    pod: dict[str, Any] = field(default_factory=dict)
    logs: str = ""

    @property
    def phase(self) -> str:
        return str(self.pod.get("status", {}).get("phase", ""))

    def check(self, expected: list[str]) -> None:
        """``TestContainerOutput``: phase Succeeded (Failed fails the test), each line a substring of the log."""
        assert self.phase == "Succeeded", f"phase {self.phase!r}, logs:\n{self.logs}\n" \
            f"status: {json.dumps(self.pod.get('status'), indent=1)}"
        missing = [e for e in expected if e not in self.logs]
        assert not missing, f"missing {missing} in logs:\n{self.logs}"


@contextlib.contextmanager
def batch(agent: Agent, pods: dict[str, dict[str, Any]], timeout: float = 90) -> Iterator[dict[str, Outcome]]:
    """Create every pod at once, wait until all are terminal, yield key -> Outcome; delete them after."""
    names = {key: body["metadata"]["name"] for key, body in pods.items()}
    try:
        apply(agent, *pods.values())
        client = api(agent)
        deadline = time.monotonic() + timeout
        live: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            items = client.get(f"/api/v1/namespaces/{NS}/pods").get("items", [])
            live = {p["metadata"]["name"]: p for p in items if p["metadata"]["name"] in names.values()}
            if len(live) == len(names) and all(p.get("status", {}).get("phase") in TERMINAL for p in live.values()):
                break
            time.sleep(0.3)
        out = {}
        for key, name in names.items():
            pod = live.get(name, {})
            ctr = pods[key]["spec"]["containers"][0]["name"]
            logs = agent.pb("logs", name, "-c", ctr, check=False).stdout
            out[key] = Outcome(pod, logs)
        yield out
    finally:
        delete(agent, *names.values())


# --- §7.1 emptyDir modes, §1.6 fsGroup -----------------------------------------------------------

VOL = "/test-volume"
FILE = "/test-volume/test-file"
PERM = {"0644": "-rw-r--r--", "0666": "-rw-rw-rw-", "0777": "-rwxrwxrwx", "0660": "-rw-rw----"}
TMPFS_LINE = 'mount type of "/test-volume": tmpfs'


@dataclass(frozen=True)
class EmptyDirCase:
    args: dict[str, Any]
    expected: list[str]
    medium: str = ""
    run_as: int | None = None
    fs_group: int | None = None
    sub_path: str = ""


def _mode_case(user: str, mode: str, medium: str) -> EmptyDirCase:
    exp = [f'perms of file "{FILE}": {PERM[mode]}', f'content of file "{FILE}": {CONTENT}']
    return EmptyDirCase({"fs_type": VOL, "new_file": (mode, FILE), "file_perm": FILE},
                        exp + ([TMPFS_LINE] if medium == "tmpfs" else []),
                        medium="Memory" if medium == "tmpfs" else "", run_as=1001 if user == "non-root" else None)


EMPTYDIR_CASES: dict[str, EmptyDirCase] = {
    f"({user},{mode},{medium})": _mode_case(user, mode, medium)
    for user in ("root", "non-root") for mode in ("0644", "0666", "0777") for medium in ("tmpfs", "default")
}
EMPTYDIR_CASES.update({
    # #13 / #14, plus the raw bits: tmpfs root is tmpfs's own 1777, the disk dir is chmod'ed to 0777.
    "volume-mode-tmpfs": EmptyDirCase({"fs_type": VOL, "file_perm": VOL, "ls_mode": VOL},
                                      [f'perms of file "{VOL}": -rwxrwxrwx', TMPFS_LINE,
                                       f'ls mode of "{VOL}": drwxrwxrwt 1777'], medium="Memory"),
    "volume-mode-default": EmptyDirCase({"fs_type": VOL, "file_perm": VOL, "ls_mode": VOL},
                                        [f'perms of file "{VOL}": -rwxrwxrwx',
                                         f'ls mode of "{VOL}": drwxrwxrwx 777']),
    # fsGroup: setgid root owned by gid 123 (§1.6); upstream "volume on ... correct mode using FSGroup".
    "fsgroup-volume-mode-tmpfs": EmptyDirCase(
        {"fs_type": VOL, "file_mode": VOL, "file_perm": VOL, "file_owner": VOL, "ls_mode": VOL},
        [f'perms of file "{VOL}": -rwxrwxrwx', f'mode of file "{VOL}": dgtrwxrwxrwx',
         f'owner UID of "{VOL}": 0', f'owner GID of "{VOL}": 123', f'ls mode of "{VOL}": drwxrwsrwt 3777',
         TMPFS_LINE], medium="Memory", fs_group=123),
    "fsgroup-volume-mode-default": EmptyDirCase(
        {"fs_type": VOL, "file_mode": VOL, "file_perm": VOL, "file_owner": VOL, "ls_mode": VOL},
        [f'perms of file "{VOL}": -rwxrwxrwx', f'mode of file "{VOL}": dgrwxrwxrwx',
         f'owner UID of "{VOL}": 0', f'owner GID of "{VOL}": 123', f'ls mode of "{VOL}": drwxrwsrwx 2777'],
        fs_group=123),
    # upstream "nonexistent volume subPath should have the correct mode and owner using FSGroup"
    "fsgroup-subpath-tmpfs": EmptyDirCase(
        {"fs_type": VOL, "file_perm": VOL, "file_owner": VOL, "file_mode": VOL},
        [f'perms of file "{VOL}": -rwxrwxrwx', f'owner UID of "{VOL}": 0', f'owner GID of "{VOL}": 123',
         f'mode of file "{VOL}": dgtrwxrwxrwx'], medium="Memory", fs_group=123, sub_path="test-sub"),
})
for _user in ("root", "non-root"):
    for _medium in ("tmpfs", "default"):
        # upstream "new files should be created with FSGroup ownership when container is <user>"
        EMPTYDIR_CASES[f"fsgroup-new-file-{_user}-{_medium}"] = EmptyDirCase(
            {"fs_type": VOL, "new_file": ("0660", FILE), "file_perm": FILE, "file_owner": FILE},
            [f'perms of file "{FILE}": -rw-rw----', f'content of file "{FILE}": {CONTENT}',
             f'owner UID of "{FILE}": {1001 if _user == "non-root" else 0}', f'owner GID of "{FILE}": 123']
            + ([TMPFS_LINE] if _medium == "tmpfs" else []),
            medium="Memory" if _medium == "tmpfs" else "", run_as=1001 if _user == "non-root" else None,
            fs_group=123)


def emptydir_pod(case: EmptyDirCase) -> dict[str, Any]:
    """``testPodWithVolume``: pod-<uuid>, container test-container, emptyDir test-volume at /test-volume."""
    sc: dict[str, Any] = {"seLinuxOptions": {"level": "s0"}}
    if case.run_as is not None:
        sc["runAsUser"] = case.run_as
    if case.fs_group is not None:
        sc["fsGroup"] = case.fs_group
    mount: dict[str, Any] = {"name": "test-volume", "mountPath": VOL}
    if case.sub_path:
        mount["subPath"] = case.sub_path
    ctr = {"name": "test-container", "image": IMAGE, "command": mounttest(**case.args), "volumeMounts": [mount]}
    return pod_body(f"pod-{uid()}", [ctr], [{"name": "test-volume", "emptyDir": {"medium": case.medium}}],
                    restartPolicy="Never", securityContext=sc, terminationGracePeriodSeconds=1)


@pytest.fixture(scope="module")
def emptydir_outcomes(agent: Agent) -> Iterator[dict[str, Outcome]]:
    with batch(agent, {k: emptydir_pod(c) for k, c in EMPTYDIR_CASES.items()}) as out:
        yield out


@pytest.mark.parametrize("case", list(EMPTYDIR_CASES))
def test_emptydir_mode(emptydir_outcomes: dict[str, Outcome], case: str) -> None:
    emptydir_outcomes[case].check(EMPTYDIR_CASES[case].expected)


def test_emptydir_shared_between_containers(agent: Agent) -> None:
    """#15: a Never pod stays Running with one container exited 0; the other reads what it wrote."""
    name = f"pod-sharedvolume-{uid()}"
    main = {"name": "busybox-main-container", "image": IMAGE, "command": ["/bin/sh", "-c", "sleep 100000"],
            "volumeMounts": [{"name": "shared-data", "mountPath": "/usr/share/volumeshare"}]}
    sub = {"name": "busybox-sub-container", "image": IMAGE,
           "command": ["/bin/sh", "-c", "echo Hello from the busy-box sub-container > /pod-data/shareddata.txt"],
           "volumeMounts": [{"name": "shared-data", "mountPath": "/pod-data"}]}
    apply(agent, pod_body(name, [main, sub], [{"name": "shared-data", "emptyDir": {}}],
                          restartPolicy="Never", terminationGracePeriodSeconds=0))
    try:
        pod = agent.wait_for(name, lambda p: p["status"].get("phase") == "Running"
                             and "terminated" in container_state(p, 1).get("state", {}))
        assert "running" in container_state(pod, 0)["state"]
        assert container_state(pod, 1)["state"]["terminated"]["exitCode"] == 0
        out = agent.pb("exec", name, "-c", "busybox-main-container", "--",
                       "cat", "/usr/share/volumeshare/shareddata.txt").stdout
        assert out.strip() == "Hello from the busy-box sub-container"
        assert agent.pod(name)["status"]["phase"] == "Running"
    finally:
        delete(agent, name)


# --- §7.3 subPath into atomic-writer volumes -----------------------------------------------------

SUBPATH_CASES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    # key: (type, volume source, subPath, mountPath); expected content follows from the type
    "secret": ("secret", {"secret": {"secretName": "my-secret"}}, "secret-key", VOL),
    "configmap": ("configmap", {"configMap": {"name": "my-configmap"}}, "configmap-key", VOL),
    "configmap-existing-file": ("configmap", {"configMap": {"name": "my-configmap"}}, "configmap-key",
                                "/etc/resolv.conf"),
    "downward": ("downwardapi", {"downwardAPI": {"items": [
        {"path": "downward/podname", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}]}},
        "downward/podname", VOL),
    "projected": ("projected", {"projected": {"sources": [{"configMap": {
        "name": "my-configmap", "items": [{"key": "configmap-key", "path": "projected/configmap-key"}]}}]}},
        "projected/configmap-key", VOL),
}


def subpath_pod(key: str) -> dict[str, Any]:
    """``SubpathTestPod`` after ``removeUnusedContainers``: one reader of the subPath mount."""
    kind, source, sub_path, mount_path = SUBPATH_CASES[key]
    suffix = uuid.uuid4().hex[:4]
    ctr = {"name": f"test-container-subpath-{kind}-{suffix}", "image": IMAGE,
           "command": mounttest(file_content_in_loop=mount_path, retry_time=20),
           "volumeMounts": [{"name": "test-volume", "mountPath": mount_path, "subPath": sub_path}]}
    return pod_body(f"pod-subpath-test-{kind}-{suffix}", [ctr],
                    [{"name": "test-volume", **source}, {"name": "liveness-probe-volume", "emptyDir": {}}],
                    restartPolicy="Never", terminationGracePeriodSeconds=1,
                    securityContext={"seLinuxOptions": {"level": "s0:c0,c1"}})


@pytest.fixture(scope="module")
def subpath_outcomes(agent: Agent) -> Iterator[tuple[dict[str, dict[str, Any]], dict[str, Outcome]]]:
    client = api(agent)
    objects: list[tuple[str, dict[str, Any]]] = [
        ("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-secret"},
                     "data": {"secret-key": base64.b64encode(b"secret-value").decode()}}),
        ("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "my-configmap"},
                        "data": {"configmap-key": "configmap-value"}}),
    ]
    try:
        for res, body in objects:
            client.post(f"/api/v1/namespaces/{NS}/{res}", body)
        pods = {k: subpath_pod(k) for k in SUBPATH_CASES}
        with batch(agent, pods, timeout=60) as out:
            yield pods, out
    finally:
        for res, body in objects:
            with contextlib.suppress(ApiError):
                client.delete(f"/api/v1/namespaces/{NS}/{res}/{body['metadata']['name']}")


@pytest.mark.parametrize("case", list(SUBPATH_CASES))
def test_subpath_atomic_writer(subpath_outcomes: tuple[dict[str, dict[str, Any]], dict[str, Outcome]],
                               case: str) -> None:
    pods, outcomes = subpath_outcomes
    kind = SUBPATH_CASES[case][0]
    expected = {"secret": "secret-value", "configmap": "configmap-value", "projected": "configmap-value",
                "downwardapi": pods[case]["metadata"]["name"]}[kind]
    outcomes[case].check([expected])
    mount_path = SUBPATH_CASES[case][3]
    # Stable for the whole loop: every read printed the value (none failed, none differed).
    reads = [ln for ln in outcomes[case].logs.splitlines() if ln.startswith("content of file")
             or ln.startswith("Error reading")]
    assert len(reads) >= 5 and set(reads) == {f'content of file "{mount_path}": {expected}'}, reads


# --- §7.4 subPathExpr ----------------------------------------------------------------------------

def var_expansion_pod(name: str, env: list[dict[str, Any]], mounts: list[dict[str, Any]], command: str,
                      annotations: dict[str, str] | None = None) -> dict[str, Any]:
    ctr = {"name": "dapi-container", "image": IMAGE, "command": ["sh", "-c", command], "env": env,
           "volumeMounts": mounts}
    return pod_body(name, [ctr], [{"name": "workdir1", "emptyDir": {}}], annotations=annotations,
                    restartPolicy="Never", terminationGracePeriodSeconds=1)


def test_subpathexpr_substitutes_pod_name(agent: Agent) -> None:
    """#23: the runtime creates <volume>/<podname> before the container starts."""
    name = f"var-expansion-{uid()}"
    body = var_expansion_pod(
        name, [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        [{"name": "workdir1", "mountPath": "/logscontainer", "subPathExpr": "$(POD_NAME)"},
         {"name": "workdir1", "mountPath": "/testcontainer"}],
        f"test -d /testcontainer/{name};echo $?")
    with batch(agent, {"p": body}) as out:
        out["p"].check(["0"])
        assert out["p"].logs.strip() == "0"


@pytest.mark.parametrize("value", ["..", "/tmp"], ids=["backticks", "absolute"])
def test_subpathexpr_bad_value_is_a_config_error(agent: Agent, value: str) -> None:
    """#24 / #25: the expanded value is checked at the node -> Waiting CreateContainerConfigError."""
    name = f"var-expansion-{uid()}"
    apply(agent, var_expansion_pod(
        name, [{"name": "POD_NAME", "value": value}],
        [{"name": "workdir1", "mountPath": "/logscontainer", "subPathExpr": "$(POD_NAME)"},
         {"name": "workdir1", "mountPath": "/testcontainer"}], "sleep 3600"))
    try:
        pod = agent.wait_for(name, lambda p: waiting(p).get("reason") == "CreateContainerConfigError")
        msg = str(waiting(pod).get("message", ""))
        assert "subpath" in msg.lower(), msg
        # Kubernetes' own words (SEMANTICS §4.4 step 2); upstream only checks the reason.
        assert msg == {"..": "unable to provision SubPath `..`: must not contain '..'",
                       "/tmp": "error SubPath `/tmp` must not be an absolute path"}[value]
        assert pod["status"]["phase"] == "Pending"
    finally:
        delete(agent, name)


ANNOTATION_ENV: list[dict[str, Any]] = [{"name": "POD_NAME", "value": "foo"},
                  {"name": "ANNOTATION", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['mysubpath']"}}}]
ANNOTATION_MOUNTS: list[dict[str, Any]] = [{"name": "workdir1", "mountPath": "/subpath_mount", "subPathExpr": "$(ANNOTATION)/$(POD_NAME)"},
                     {"name": "workdir1", "mountPath": "/volume_mount"}]


def _running(p: dict[str, Any]) -> bool:
    return p["status"].get("phase") == "Running" and "running" in container_state(p).get("state", {})


def test_subpathexpr_from_annotation_writes_through_both_mounts(agent: Agent) -> None:
    """#26: subPathExpr from a downward-API annotation; an annotation update leaves the pod Running."""
    name = f"var-expansion-{uid()}"
    body = var_expansion_pod(name, ANNOTATION_ENV, ANNOTATION_MOUNTS, "tail -f /dev/null",
                             annotations={"mysubpath": "mypath"})
    apply(agent, body)
    deleted = False
    try:
        agent.wait_for(name, _running)
        agent.pb("exec", name, "--", "touch", "/volume_mount/mypath/foo/test.log")
        agent.pb("exec", name, "--", "test", "-f", "/subpath_mount/test.log")
        body["metadata"]["annotations"] = {"mysubpath": "mynewpath"}
        apply(agent, body)
        agent.wait_for(name, lambda p: p["metadata"].get("annotations", {}).get("mysubpath") == "mynewpath")
        time.sleep(1)
        pod = agent.pod(name)
        assert _running(pod) and container_state(pod)["restartCount"] == 0
        delete(agent, name, graceful=True)   # upstream: a graceful delete must succeed
        deleted = True
        assert agent.pb("get", "pod", name, check=False).returncode != 0
    finally:
        if not deleted:
            delete(agent, name)


def test_subpathexpr_missing_annotation_then_fixed(agent: Agent) -> None:
    """#27 (shortened): an empty variable blocks the start; adding the annotation lets it start."""
    name = f"var-expansion-{uid()}"
    body = var_expansion_pod(name, ANNOTATION_ENV, ANNOTATION_MOUNTS, "tail -f /dev/null",
                             annotations={"notmysubpath": "mypath"})
    apply(agent, body)
    try:
        pod = agent.wait_for(name, lambda p: waiting(p).get("reason") == "CreateContainerConfigError")
        assert "missing value for ANNOTATION" in str(waiting(pod).get("message", "")), waiting(pod)
        time.sleep(3)   # upstream waits 2 min; it must stay not Running
        assert not _running(agent.pod(name))
        body["metadata"]["annotations"] = {"notmysubpath": "mypath", "mysubpath": "mypath"}
        apply(agent, body)
        agent.wait_for(name, _running, timeout=30)
    finally:
        delete(agent, name)


# --- §6.1 / §7.5 #32: restart counter in a Memory emptyDir ---------------------------------------

RESTART_SCRIPT = """
f=/restart-count/restartCount
count=$(echo 'hello' >> $f ; wc -l $f | awk {'print $1'})
if [ $count -eq 1 ]; then
\texit 1
fi
if [ $count -eq 2 ]; then
\texit 0
fi
while true; do sleep 1; done
"""
RESTART_CASES: dict[str, tuple[str, str, str, int, bool]] = {
    # container name: (restartPolicy, phase, state, restartCount, ready)
    "terminate-cmd-rpa": ("Always", "Running", "running", 2, True),
    "terminate-cmd-rpof": ("OnFailure", "Succeeded", "terminated", 1, False),
    "terminate-cmd-rpn": ("Never", "Failed", "terminated", 0, False),
}


@pytest.mark.parametrize("ctr", list(RESTART_CASES))
def test_restart_counter_in_memory_emptydir(agent: Agent, ctr: str) -> None:
    policy, phase, state, count, ready = RESTART_CASES[ctr]
    name = uid()
    apply(agent, pod_body(
        name, [{"name": ctr, "image": IMAGE, "command": ["sh", "-c", RESTART_SCRIPT],
                "volumeMounts": [{"name": "restart-count", "mountPath": "/restart-count"}]}],
        [{"name": "restart-count", "emptyDir": {"medium": "Memory"}}],
        restartPolicy=policy, terminationGracePeriodSeconds=1))
    try:
        pod = agent.wait_for(name, lambda p: container_state(p).get("restartCount") == count
                             and p["status"].get("phase") == phase
                             and state in container_state(p).get("state", {}), timeout=40)
        cs = container_state(pod)
        assert cs["ready"] is ready
        if policy == "Always":   # the third start runs forever: no further restarts
            time.sleep(2)
            again = agent.pod(name)
            assert container_state(again)["restartCount"] == 2 and again["status"]["phase"] == "Running"
    finally:
        delete(agent, name)
