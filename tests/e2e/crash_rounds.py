"""SIGKILL the agent at random points of an apply and of a delete, restart it, and check the outcome
(issue 11 crash acceptance). Shared by tests/e2e/test_e2e_crash.py and bench/crash.py.

One round: apply a 2-container pod (emptyDir + Memory emptyDir), SIGKILL the agent 0-400 ms later,
restart it and time the first API answer, wait for both containers running and check none was ever
restarted; then delete with grace 0, SIGKILL 0-300 ms later, restart, time the API again, wait until
the pod is gone and check that nothing of it is left: mounts, pinned netns, cgroups, conmon processes,
symlinks, bundles, run-dir entries, CNI results/intents and IPAM reservations, zombie children.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_harness import Agent, conmon_pids, defunct_children, pod_manifest

API_DEADLINE = 2.0      # the API must answer within this after a restart
SETTLE = 8.0            # background GC and teardown may still run: leaks are checked until then


@dataclass
class Outcome:
    round: int
    apply_kill_ms: int
    delete_kill_ms: int
    api_after_apply_kill_s: float = 0.0
    api_after_delete_kill_s: float = 0.0
    restarted: list[str] = field(default_factory=list)   # containers restarted (or failed) after the kill
    leaks: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not (self.restarted or self.leaks or self.error) and \
            max(self.api_after_apply_kill_s, self.api_after_delete_kill_s) < API_DEADLINE


def _restart_and_time_api(agent: Agent) -> float:
    t0 = time.monotonic()
    agent.start()
    while agent.pb("get", "pods", check=False, timeout=10).returncode != 0:
        if time.monotonic() - t0 > 30:
            raise AssertionError("the API did not answer within 30 s of the restart")
        time.sleep(0.02)
    return time.monotonic() - t0


def _get(agent: Agent, name: str) -> dict[str, Any] | None:
    res = agent.pb("get", "pod", name, "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None


def _wait_running(agent: Agent, name: str, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    pod: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        pod = _get(agent, name)
        cs = (pod or {}).get("status", {}).get("containerStatuses") or []
        if len(cs) == 2 and all("running" in c["state"] for c in cs):
            return pod or {}
        if any(c.get("restartCount") or c.get("lastState", {}).get("terminated") for c in cs):
            return pod or {}
        time.sleep(0.1)
    raise AssertionError(f"pod {name} not running: {json.dumps((pod or {}).get('status'))[:1500]}")


def _wait_gone(agent: Agent, name: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = agent.pb("get", "pod", name, check=False)
        if res.returncode != 0 and "NotFound" in res.stderr + res.stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"pod {name} still there {timeout} s after its delete")


def restarted_containers(pod: dict[str, Any]) -> list[str]:
    out = []
    for c in pod.get("status", {}).get("containerStatuses") or []:
        term = c.get("lastState", {}).get("terminated") or c.get("state", {}).get("terminated")
        if c.get("restartCount") or term or "running" not in c.get("state", {}):
            out.append(f"{c['name']}: restartCount={c.get('restartCount')} state={json.dumps(c.get('state'))} "
                       f"last={json.dumps(c.get('lastState'))}")
    return out




def _entries(d: Path) -> list[str]:
    try:
        return sorted(p.name for p in d.iterdir())
    except FileNotFoundError:
        return []


def leaks(agent: Agent, uids: set[str]) -> list[str]:
    """Everything of the deleted pods (uids) or of any container still on the host."""
    from podbay.sys.mount import mounts

    root, run = str(agent.root.resolve()), str(agent.run_dir)
    found: list[str] = []
    for m in mounts():
        if (m.mount_point.startswith(root + "/") or m.mount_point.startswith(run + "/")) and \
                m.mount_point != root:
            found.append(f"mount {m.mount_point}")
    for uid in uids:
        for h in Path("/sys/fs/cgroup").iterdir():
            if (h / "podbay" / f"pod{uid}").is_dir():
                found.append(f"cgroup {h.name}/podbay/pod{uid}")
    found += [f"conmon pid {p}" for p in conmon_pids(agent.root)]
    for name, d in (("ns", agent.run_dir / "ns"), ("attach", agent.run_dir / "attach"),
                    ("exits", agent.run_dir / "exits"), ("containers", agent.root / "containers"),
                    ("pods", agent.root / "pods"), ("cni results", agent.root / "cni" / "results"),
                    ("cni intents", agent.root / "cni" / "intents")):
        found += [f"{name}/{e}" for e in _entries(d)]
    for rt in _entries(agent.run_dir / "runtime"):
        found += [f"runtime/{rt}/{e}" for e in _entries(agent.run_dir / "runtime" / rt)]
    for net in _entries(agent.root / "cni" / "ipam"):
        found += [f"ipam {net}/{ip}" for ip in _entries(agent.root / "cni" / "ipam" / net)
                  if ip[0].isdigit()]
    for top in (agent.run_dir, agent.root):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "images"]
            for n in dirnames + filenames:
                p = Path(dirpath) / n
                if p.is_symlink() and not p.exists():
                    found.append(f"dangling symlink {p}")
    if agent.proc is not None:
        found += [f"zombie child {z}" for z in defunct_children(agent.proc.pid)]
    return found


def _settled_leaks(agent: Agent, uids: set[str]) -> list[str]:
    deadline = time.monotonic() + SETTLE
    while True:
        found = leaks(agent, uids)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


POD = [{"name": "a", "image": "busybox:1.35", "command": ["sleep", "3600"],
        "volumeMounts": [{"name": "disk", "mountPath": "/disk"}, {"name": "mem", "mountPath": "/mem"}]},
       {"name": "b", "image": "busybox:1.35", "command": ["sh", "-c", "sleep 3600"],
        "volumeMounts": [{"name": "disk", "mountPath": "/disk"}]}]
VOLUMES = [{"name": "disk", "emptyDir": {}}, {"name": "mem", "emptyDir": {"medium": "Memory"}}]


def crash_round(agent: Agent, n: int, rng: random.Random) -> Outcome:
    out = Outcome(n, rng.randrange(0, 400), rng.randrange(0, 300))
    name = f"crash{n}"
    uids: set[str] = set()
    try:
        agent.pb("apply", "-f", "-", input=pod_manifest(name, POD, VOLUMES, terminationGracePeriodSeconds=0))
        time.sleep(out.apply_kill_ms / 1000)
        agent.kill(signal.SIGKILL)
        out.api_after_apply_kill_s = _restart_and_time_api(agent)
        pod = _wait_running(agent, name)
        uids.add(pod["metadata"]["uid"])
        out.restarted = restarted_containers(pod)
        agent.pb("delete", "pod", name, "--grace-period", "0", "--wait=false")
        time.sleep(out.delete_kill_ms / 1000)
        agent.kill(signal.SIGKILL)
        out.api_after_delete_kill_s = _restart_and_time_api(agent)
        _wait_gone(agent, name)
        out.leaks = _settled_leaks(agent, uids)
    except (AssertionError, RuntimeError) as exc:
        out.error = str(exc)[:2000]
        if agent.proc is None:
            try:
                agent.start()
            except RuntimeError:
                pass
        agent.pb("delete", "pod", name, "--grace-period", "0", "--wait", check=False, timeout=60)
    return out


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    api = sorted(x for o in outcomes for x in (o.api_after_apply_kill_s, o.api_after_delete_kill_s) if x)
    return {
        "rounds": len(outcomes),
        "sigkills": 2 * len(outcomes),
        "ok": sum(o.ok for o in outcomes),
        "restarted_a_running_container": sum(bool(o.restarted) for o in outcomes),
        "leaked": sum(bool(o.leaks) for o in outcomes),
        "api_over_2s": sum(max(o.api_after_apply_kill_s, o.api_after_delete_kill_s) >= API_DEADLINE
                           for o in outcomes),
        "errors": sum(bool(o.error) for o in outcomes),
        "api_answer_s_median": api[len(api) // 2] if api else None,
        "api_answer_s_max": api[-1] if api else None,
    }
