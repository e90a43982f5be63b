"""Issue 11 (hardening) through the CLI and a real agent: escapes, seccomp, secrets on disk, exec and
process hygiene, start-up GC. Each test fails on the code before the fix (see the docstrings)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import IMAGE_TAR, Agent, _missing, conmon_pids, defunct_children, pod_manifest

pytestmark = pytest.mark.root


def running(pod: dict[str, Any]) -> bool:
    cs = pod.get("status", {}).get("containerStatuses") or []
    return pod.get("status", {}).get("phase") == "Running" and bool(cs) and all("running" in c["state"] for c in cs)


def status_of(pod: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in pod.get("status", {}).get("containerStatuses") or [] if c["name"] == name]
    if not found:
        raise KeyError(name)   # not reported yet: wait_for keeps polling
    return found[0]




def zombies_of(agent: Agent, settle: float = 3.0) -> list[int]:
    """Defunct children of the agent once the reaper had `settle` seconds (its backstop runs each second)."""
    assert agent.proc is not None
    deadline = time.monotonic() + settle
    while True:
        z = defunct_children(agent.proc.pid)
        if not z or time.monotonic() > deadline:
            return z
        time.sleep(0.1)


def dangling_symlinks(*roots: Path) -> list[str]:
    out = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                if p.is_symlink() and not p.exists():
                    out.append(str(p))
    return out


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Agent, Path, Path]]:
    """A second agent with --allowed-host-path and --seccomp-profile-root."""
    why = _missing()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("hardened")
    allowed, profiles = base / "allowed", base / "seccomp"
    allowed.mkdir()
    profiles.mkdir()
    a = Agent(base)
    a.root.mkdir(parents=True)
    a.pb("image", "load", str(IMAGE_TAR))
    a.extra_args = ["--allowed-host-path", str(allowed), "--seccomp-profile-root", str(profiles)]
    a.start()
    try:
        yield a, allowed, profiles
    finally:
        a.cleanup()


# --- item 1 ------------------------------------------------------------------------------------------


def test_a_symlink_swapped_into_an_allowed_prefix_is_never_followed(hardened: tuple[Agent, Path, Path]) -> None:
    """Container `attacker` mounts the allowed prefix and replaces `sub` with a symlink to `/`; when
    `victim` (which mounts `sub`) restarts, the runtime used to bind the host's root."""
    agent, allowed, _ = hardened
    (allowed / "sub").mkdir()
    attacker = {"name": "attacker", "image": "busybox:1.35",
                "command": ["sh", "-c", "while [ ! -e /all/sub/started ]; do sleep 0.05; done; "
                                        "rm -rf /all/sub && ln -s / /all/sub && touch /all/swapped; sleep 3600"],
                "volumeMounts": [{"name": "all", "mountPath": "/all"}]}
    victim = {"name": "victim", "image": "busybox:1.35",
              # Writes only where it should be: an escaped victim reports and writes nothing on the host.
              "command": ["sh", "-c", "if [ -e /sub/etc/debian_version ]; then echo ESCAPED; sleep 3600; fi; "
                                      "touch /sub/started; sleep 1; exit 1"],
              "volumeMounts": [{"name": "sub", "mountPath": "/sub"}]}
    volumes = [{"name": "all", "hostPath": {"path": str(allowed), "type": "Directory"}},
               {"name": "sub", "hostPath": {"path": str(allowed / "sub"), "type": "DirectoryOrCreate"}}]
    agent.pb("apply", "-f", "-", input=pod_manifest("escape", [attacker, victim], volumes))

    def refused(p: dict[str, Any]) -> bool:
        return status_of(p, "victim")["state"].get("waiting", {}).get("reason") == "CreateContainerConfigError"

    pod = agent.wait_for("escape", refused, timeout=30)
    assert (allowed / "swapped").exists() and (allowed / "sub").is_symlink()
    waiting = status_of(pod, "victim")["state"]["waiting"]
    assert waiting["message"] == (f'MountVolume.SetUp failed for volume "sub" : hostPath {allowed / "sub"} '
                                  f"is not under an allowed prefix: ['{allowed}']")
    for previous in ((), ("--previous",)):
        assert "ESCAPED" not in agent.pb("logs", "escape", "-c", "victim", *previous, check=False).stdout
    described = agent.pb("describe", "pod", "escape").stdout
    assert "not under an allowed prefix" in described
    agent.pb("delete", "pod", "escape", "--now", "--wait")
    assert os.listdir(agent.root / "pods") == []                 # pins unmounted, host data untouched
    assert (allowed / "swapped").exists()


# --- item 2 ------------------------------------------------------------------------------------------


SECCOMP_PROBE = ["sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; unshare -m true 2>&1; "
                             "echo unshare=$?"]


def build_probe(tmp: Path) -> Path | None:
    """tests/data/seccomp_probe.c, libc-free and static, in its own dir (None without gcc)."""
    gcc = shutil.which("gcc")
    if not gcc:
        return None
    out = tmp / "probe"
    out.mkdir()
    subprocess.run([gcc, "-nostdlib", "-static", "-O1", "-fno-builtin", "-fno-stack-protector", "-fno-pie",
                    "-no-pie", "-o", str(out / "probe"), str(Path(__file__).parents[1] / "data" / "seccomp_probe.c")],
                   check=True, capture_output=True)
    return out


def test_seccomp_default_unconfined_and_runtime_default(agent: Agent, tmp_path: Path) -> None:
    """RuntimeDefault used to be approximated by a deny-list (unknown syscalls allowed); the
    Kubernetes default (Unconfined) stays."""
    probe = build_probe(tmp_path)
    if probe is None:
        pytest.skip("needs gcc for the syscall probe")
    mounts = [{"name": "probe", "mountPath": "/probe", "readOnly": True}]
    plain = {"name": "plain", "image": "busybox:1.35", "command": ["sleep", "3600"], "volumeMounts": mounts}
    confined = {"name": "confined", "image": "busybox:1.35", "command": ["sleep", "3600"], "volumeMounts": mounts,
                "securityContext": {"allowPrivilegeEscalation": False}}
    body = json.loads(pod_manifest("seccomp", [plain, confined],
                                   [{"name": "probe", "hostPath": {"path": str(probe), "type": "Directory"}}]))
    body["spec"]["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    plain["securityContext"] = {"seccompProfile": {"type": "Unconfined"}}
    body["spec"]["containers"][0] = plain
    agent.pb("apply", "-f", "-", input=json.dumps(body))
    agent.wait_for("seccomp", running)
    out = agent.pb("exec", "seccomp", "-c", "confined", "--", *SECCOMP_PROBE, check=False).stdout
    assert "Seccomp:\t2" in out and "NoNewPrivs:\t1" in out, out
    assert "Operation not permitted" in out and "unshare=1" in out, out
    out = agent.pb("exec", "seccomp", "-c", "confined", "--", "/probe/probe").stdout
    assert out.split() == ["io_uring_setup=-38", "add_key=-1", "clone3=-38", "personality=-38", "getppid_ok=1"]
    out = agent.pb("exec", "seccomp", "-c", "plain", "--", *SECCOMP_PROBE, check=False).stdout
    assert "Seccomp:\t0" in out and "NoNewPrivs:\t0" in out, out
    out = agent.pb("exec", "seccomp", "-c", "plain", "--", "/probe/probe").stdout
    assert "io_uring_setup=-38" not in out and "personality=0" in out, out
    agent.pb("delete", "pod", "seccomp", "--now", "--wait")


def test_localhost_seccomp_profiles_come_from_the_profile_root(hardened: tuple[Agent, Path, Path]) -> None:
    agent, _, profiles = hardened
    (profiles / "team").mkdir()
    (profiles / "team" / "no-mkdir.json").write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    (profiles / "link.json").symlink_to("/etc/hostname")
    ctr = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
           "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "team/no-mkdir.json"}}}
    agent.pb("apply", "-f", "-", input=pod_manifest("localhost", [ctr]))
    agent.wait_for("localhost", running)
    out = agent.pb("exec", "localhost", "--", "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1",
                   check=False).stdout
    assert "Seccomp:\t2" in out and "Operation not permitted" in out, out
    agent.pb("delete", "pod", "localhost", "--now", "--wait")

    for name, why in (("missing.json", "no such file or directory"), ("link.json", "too many levels of symbolic")):
        ctr["securityContext"] = {"seccompProfile": {"type": "Localhost", "localhostProfile": name}}
        agent.pb("apply", "-f", "-", input=pod_manifest("nolocal", [ctr]))
        pod = agent.wait_for("nolocal", lambda p: status_of(p, "c")["state"].get("waiting", {}).get("reason")
                             == "CreateContainerError")
        msg = status_of(pod, "c")["state"]["waiting"]["message"]
        assert msg.startswith(f'cannot load seccomp profile "{profiles / name}"') and why in msg, msg
        agent.pb("delete", "pod", "nolocal", "--now", "--wait")

    ctr["securityContext"] = {"seccompProfile": {"type": "Localhost", "localhostProfile": "../../etc/x.json"}}
    res = agent.pb("apply", "-f", "-", input=pod_manifest("escape-profile", [ctr]), check=False)
    assert res.returncode != 0
    assert ("spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "
            "\"../../etc/x.json\": must not contain '..'") in res.stderr


# --- item 3 ------------------------------------------------------------------------------------------


def test_a_secret_from_env_is_only_in_root_only_files(agent: Agent) -> None:
    """The env of a container is in its config.json, which used to be 0644 in a 0755 dir."""
    value = f"TopSecret-{secrets.token_hex(8)}"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
              "data": {"token": base64.b64encode(value.encode()).decode()}}
    agent.pb("apply", "-f", "-", input=json.dumps(secret))
    ctr = {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
           "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]}
    agent.pb("apply", "-f", "-", input=pod_manifest("secret-env", [ctr]))
    agent.wait_for("secret-env", running)
    try:
        holders = []
        for top in (agent.root, agent.run_dir):
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = [d for d in dirnames if d not in ("images", "rootfs", "merged")]
                for name in filenames:
                    p = Path(dirpath) / name
                    try:
                        if p.is_symlink() or not p.is_file() or value.encode() not in p.read_bytes():
                            continue
                    except OSError:
                        continue
                    holders.append(p)
                    assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, f"{p} is {oct(p.stat().st_mode)}"
        assert any(p.name == "config.json" for p in holders), holders
        for db in agent.root.glob("state.db*"):
            assert stat.S_IMODE(db.stat().st_mode) == 0o600, db
        assert stat.S_IMODE((agent.root / "containers").stat().st_mode) == 0o700
    finally:
        agent.pb("delete", "pod", "secret-env", "--now", "--wait")
        agent.pb("delete", "secret", "creds")


# --- items 10, 11, 12 --------------------------------------------------------------------------------


def test_exec_of_a_missing_binary_leaves_no_zombie_and_delete_is_prompt(agent: Agent) -> None:
    """A zombie `crun` (re-parented to the agent, never reaped) used to stay in the container's PID
    namespace: the container could not exit, a grace-0 delete took 12 s and left its conmon behind."""
    agent.pb("apply", "-f", "-", input=pod_manifest(
        "exec-missing", [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}]))
    agent.wait_for("exec-missing", running)
    res = agent.pb("exec", "exec-missing", "--", "/no/such/binary", check=False, timeout=20)
    assert res.returncode != 0 and "not found" in res.stderr
    assert zombies_of(agent) == []
    before = set(conmon_pids(agent.root))
    t0 = time.monotonic()
    agent.pb("delete", "pod", "exec-missing", "--grace-period", "0", "--wait")
    assert time.monotonic() - t0 < 5
    time.sleep(0.5)
    assert not (set(conmon_pids(agent.root)) & before)


def test_no_defunct_children_and_no_dangling_symlinks_after_cycles(agent: Agent) -> None:
    """Defunct conmon/crun children accumulated (10 at once); conmon's attach links stayed, one per container."""
    two = [{"name": "a", "image": "busybox:1.35", "command": ["sleep", "3600"]},
           {"name": "b", "image": "busybox:1.35", "command": ["sh", "-c", "sleep 3600"]}]
    for i in range(3):
        agent.pb("apply", "-f", "-", input=pod_manifest(f"cycle{i}", two))
        agent.wait_for(f"cycle{i}", running)
        agent.pb("exec", f"cycle{i}", "-c", "a", "--", "true")
        agent.pb("exec", f"cycle{i}", "-c", "b", "--", "/missing", check=False)
        agent.pb("delete", "pod", f"cycle{i}", "--grace-period", "0", "--wait")
    assert zombies_of(agent) == []
    assert dangling_symlinks(agent.run_dir, agent.root / "containers") == []
    assert list((agent.run_dir / "attach").iterdir()) == []
    assert list((agent.root / "containers").iterdir()) == []


def test_agent_stop_is_bounded_while_a_container_stops(agent: Agent) -> None:
    """SIGTERM during a 60 s graceful stop: the agent used to wait for the stopping thread (the whole
    grace period); now it exits within its bound, the container keeps running, the next agent goes on."""
    stubborn = {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "trap '' TERM; sleep 3600"]}
    body = json.loads(pod_manifest("stop-bounded", [stubborn]))
    body["spec"]["terminationGracePeriodSeconds"] = 60
    agent.pb("apply", "-f", "-", input=json.dumps(body))
    agent.wait_for("stop-bounded", running)
    agent.pb("delete", "pod", "stop-bounded", "--wait=false")
    time.sleep(1)
    assert agent.proc is not None
    t0 = time.monotonic()
    agent.proc.send_signal(signal.SIGTERM)
    try:
        agent.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        agent.proc.kill()
        agent.proc.wait()
        pytest.fail("the agent did not stop within 15 s of SIGTERM")
    finally:
        agent.proc = None
    assert time.monotonic() - t0 < 10
    assert conmon_pids(agent.root), "stopping the agent must not stop the pods"
    agent.start()
    t0 = time.monotonic()
    agent.pb("delete", "pod", "stop-bounded", "--now", "--wait")
    assert time.monotonic() - t0 < 15


# --- item 14 -----------------------------------------------------------------------------------------


def test_startup_gc_never_holds_up_the_api(agent: Agent) -> None:
    """Orphaned bundles without exit files: GC waited 10 s for each before the API served."""
    agent.kill(signal.SIGKILL)
    orphans = [agent.root / "containers" / secrets.token_hex(32) for _ in range(3)]
    for o in orphans:
        (o / "userdata").mkdir(parents=True)
        (o / "config.json").write_text("{}")
    t0 = time.monotonic()
    agent.start()
    while agent.pb("get", "pods", check=False).returncode != 0:
        assert time.monotonic() - t0 < 10
        time.sleep(0.05)
    answered = time.monotonic() - t0
    assert answered < 2.0, f"API answered {answered:.2f} s after the restart"
    deadline = time.monotonic() + 5
    while any(o.exists() for o in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(o.exists() for o in orphans)
