"""The create/delete soak (issue 10 acceptance), shared by tests/e2e/test_e2e_soak.py and bench/soak.py.

Each cycle creates a pod of two containers (one exits on SIGTERM, one ignores it as PID 1 and is
killed after the grace) with an emptyDir, a Memory emptyDir, a configMap and a secret volume, then
deletes it in one of four ways: graceful once Running, forced (grace 0) once Running, graceful while
it is still starting, forced while starting (0-300 ms after the create). After every cycle the
pod must be gone; the agent's RSS is sampled. At the end nothing of any pod may be left: mounts,
pinned netns, cgroups, conmon processes, agent children, run-dir and state-dir entries, CNI
results and IPAM reservations, dangling symlinks, rows of the store (pods, events, container
attempts), log files; and the watch history must stay within its byte bound.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crash_rounds import leaks
from e2e_harness import Agent, defunct_children

from podbay.client.http import ApiClient, ApiError

MODES = ("graceful", "forced", "graceful-while-starting", "forced-while-starting")
RSS_WINDOW = 25          # samples around a cycle count, medians (the heap breathes by a few 100 KB)

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "soak-config"},
          "data": {"app.conf": "mode=soak\n", "level": "debug"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "soak-secret"},
          "data": {"token": "c29hay10b2tlbg=="}}


def soak_pod(name: str) -> dict[str, Any]:
    mounts = [{"name": "disk", "mountPath": "/disk"}, {"name": "mem", "mountPath": "/mem"},
              {"name": "cfg", "mountPath": "/etc/soak"}, {"name": "sec", "mountPath": "/run/soak", "readOnly": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "soak"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [
                         {"name": "a", "image": "busybox:1.35", "volumeMounts": mounts,
                          "command": ["sh", "-c", "echo x > /disk/a; echo y > /mem/a; cat /etc/soak/level /run/soak/token; "
                                                  "trap 'exit 0' TERM; sleep 3600 & wait"]},
                         {"name": "b", "image": "busybox:1.35", "command": ["sleep", "3600"],
                          "volumeMounts": [{"name": "disk", "mountPath": "/disk"}]}],
                     "volumes": [{"name": "disk", "emptyDir": {}},
                                 {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                                 {"name": "cfg", "configMap": {"name": "soak-config"}},
                                 {"name": "sec", "secret": {"secretName": "soak-secret"}}]}}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> set[int]:
    kids: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids.update(int(k) for k in (task / "children").read_text().split())
    except OSError:
        pass
    return kids


def store_rows(root: Path) -> dict[str, int]:
    """Rows in the agent's store (read-only, beside the running agent)."""
    db = sqlite3.connect(f"file:{root / 'state.db'}?mode=ro", uri=True, timeout=10)
    try:
        out = {f"objects {k}": n for k, n in db.execute("SELECT kind, count(*) FROM objects GROUP BY kind")}
        out["container attempts"] = db.execute("SELECT count(*) FROM containers").fetchone()[0]
        return out
    finally:
        db.close()


LAYOUT_DIRS = {"logs", "pods", "containers", "volumes"}   # created on first use, kept empty


def state_files(root: Path) -> set[str]:
    """Files and directories under the state root, without images and the store itself."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != "images"]
            filenames = [f for f in filenames if not f.startswith("state.db")]
        rel = os.path.relpath(dirpath, root)
        out.update(os.path.normpath(os.path.join(rel, n)) for n in dirnames + filenames)
    # The container log root itself comes and goes with the first and last container (what is in it
    # is checked as "log dir" entries): its presence is no leak.
    out.discard("logs")
    return out


@dataclass
class SoakResult:
    cycles: int = 0
    seconds: float = 0.0
    modes: dict[str, int] = field(default_factory=dict)
    cycle_s_median: float = 0.0
    cycle_s_max: float = 0.0
    rss_start: int = 0
    rss_at_half: int = 0
    rss_end: int = 0
    rss_max: int = 0
    rss_growth_last_half: int = 0
    rss_growth_per_cycle_last_half: float = 0.0
    agent_cpu_s: float = 0.0
    watch_history_half: dict[str, int] = field(default_factory=dict)
    watch_history_end: dict[str, int] = field(default_factory=dict)
    rows_end: dict[str, int] = field(default_factory=dict)
    files_start: int = 0
    files_end: int = 0
    children_start: int = 0
    children_end: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.errors and self.rss_growth_last_half < 1024 * 1024


class Soak:
    def __init__(self, agent: Agent, rng: random.Random, log: Callable[[str], None] = print) -> None:
        self.agent = agent
        self.rng = rng
        self.log = log
        self.api = ApiClient(str(agent.socket), timeout=60)
        self.uids: set[str] = set()

    # -- the API, in process (a CLI process per call would dominate the cycle) ---------------------
    def _pods(self, name: str = "") -> str:
        return "/api/v1/namespaces/default/pods" + (f"/{name}" if name else "")

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get(self._pods(name))
        except ApiError as exc:
            if exc.status.get("code") == 404:
                return None
            raise

    def _wait(self, name: str, pred: Callable[[dict[str, Any] | None], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        pod: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            pod = self._get(name)
            if pred(pod):
                return
            time.sleep(0.05)
        raise AssertionError(f"{name}: not {what} within {timeout} s: {(pod or {}).get('status')}")

    @staticmethod
    def _running(pod: dict[str, Any] | None) -> bool:
        cs = ((pod or {}).get("status") or {}).get("containerStatuses") or []
        return len(cs) == 2 and all("running" in (c.get("state") or {}) for c in cs)

    def setup(self) -> None:
        for obj, plural in ((CONFIG, "configmaps"), (SECRET, "secrets")):
            self.api.post(f"/api/v1/namespaces/default/{plural}", obj)

    def cycle(self, i: int) -> str:
        mode = MODES[i % len(MODES)]
        name = f"soak{i}"
        created = self.api.post(self._pods(), soak_pod(name))
        self.uids.add(created["metadata"]["uid"])
        if mode.endswith("while-starting"):
            time.sleep(self.rng.randrange(0, 300) / 1000)
        else:
            self._wait(name, self._running, 60, "running")
        query = {"gracePeriodSeconds": "0"} if mode.startswith("forced") else None
        self.api.delete(self._pods(name), query)
        self._wait(name, lambda p: p is None, 60, "gone")
        return mode

    def history(self) -> dict[str, int]:
        return dict(self.api.get("/stats/summary").get("podbay", {}).get("watchHistory") or {})

    def run(self, cycles: int) -> SoakResult:
        res = SoakResult()
        assert self.agent.proc is not None
        pid = self.agent.proc.pid
        self.setup()
        self.cycle(-1 % len(MODES))           # one warm-up cycle: caches, first imports
        files_start = state_files(self.agent.root)
        res.files_start = len(files_start)
        res.children_start = len(children(pid))
        rss: list[int] = []
        times: list[float] = []
        t0 = time.monotonic()
        cpu0 = cpu_seconds(pid)
        for i in range(cycles):
            c0 = time.monotonic()
            try:
                mode = self.cycle(i)
                res.modes[mode] = res.modes.get(mode, 0) + 1
            except (AssertionError, ApiError, OSError) as exc:
                res.errors.append(f"cycle {i}: {exc}"[:1500])
                with_grace0 = {"gracePeriodSeconds": "0"}
                try:
                    self.api.delete(self._pods(f"soak{i}"), with_grace0)
                    self._wait(f"soak{i}", lambda p: p is None, 60, "gone")
                except (AssertionError, ApiError, OSError):
                    pass
                if len(res.errors) > 20:
                    break
            times.append(time.monotonic() - c0)
            rss.append(rss_bytes(pid))
            if i + 1 == cycles // 2:
                res.watch_history_half = self.history()
            if (i + 1) % 50 == 0:
                self.log(f"cycle {i + 1}/{cycles}: rss {rss[-1] / 2**20:.1f} MiB, "
                         f"median cycle {statistics.median(times[-50:]):.2f} s, errors {len(res.errors)}")
        res.cycles = len(times)
        res.seconds = round(time.monotonic() - t0, 1)
        res.agent_cpu_s = round(cpu_seconds(pid) - cpu0, 1)
        res.watch_history_end = self.history()
        if rss:
            half = len(rss) // 2
            res.rss_start, res.rss_end, res.rss_max = rss[0], _median(rss[-RSS_WINDOW:]), max(rss)
            res.rss_at_half = _median(rss[max(0, half - RSS_WINDOW // 2):half + RSS_WINDOW // 2 + 1])
            res.rss_growth_last_half = res.rss_end - res.rss_at_half
            res.rss_growth_per_cycle_last_half = round(res.rss_growth_last_half / max(1, len(rss) - half), 1)
            res.cycle_s_median = round(statistics.median(times), 3)
            res.cycle_s_max = round(max(times), 3)
        res.leaks = self.leaks(res, files_start)
        return res

    def leaks(self, res: SoakResult, files_start: set[str]) -> list[str]:
        """Leaks after the last cycle, waiting a few seconds for background teardown to finish."""
        assert self.agent.proc is not None
        pid = self.agent.proc.pid
        deadline = time.monotonic() + 10
        while True:
            found = leaks(self.agent, self.uids)
            rows = store_rows(self.agent.root)
            res.rows_end = rows
            found += [f"store {k}: {n}" for k, n in rows.items()
                      if n and k not in ("objects ConfigMap", "objects Secret", "objects Namespace",
                                         "objects ServiceAccount", "objects Node", "objects Lease",
                                         "objects Service", "objects Endpoints", "objects EndpointSlice",
                                         "objects StorageClass")]   # the agent's own (podbay-local)
            logs = sorted(p.name for p in (self.agent.root / "logs").iterdir()) \
                if (self.agent.root / "logs").is_dir() else []
            found += [f"log dir {n}" for n in logs]
            files = state_files(self.agent.root)
            res.files_end = len(files)
            # The state root's own layout (logs/ appears with the first container) is not a leak.
            new = [f for f in sorted(files - files_start)
                   if not (f in LAYOUT_DIRS and not any((self.agent.root / f).iterdir()))]
            found += [f"new file {f}" for f in new[:20]]
            kids = children(pid)
            res.children_end = len(kids)
            if len(kids) > res.children_start:
                found.append(f"agent children {len(kids)} > {res.children_start} at start")
            found += [f"zombie child {z}" for z in defunct_children(pid)]
            if not found or time.monotonic() > deadline:
                return sorted(set(found))
            time.sleep(0.5)


def _median(xs: list[int]) -> int:
    return int(statistics.median(xs)) if xs else 0
