"""What the benches share: running a command (its failure ends the bench) and timing it, and the
podman configuration both sides' pods get (the same ulimits as podbay's defaults)."""

from __future__ import annotations

import signal
import subprocess
import time

PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
"""


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600
        ) -> subprocess.CompletedProcess[str]:
    """Run a bench step; a failure (or a step hung for ``timeout`` seconds) ends the bench."""
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {res.stderr.strip()[-800:]}")
    return res


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    run(argv, env)
    return time.perf_counter() - t0


def remove_bridge(bridge: str) -> None:
    """What an agent on ``bridge`` leaves on the host once it is stopped: the bridge and its Services
    table (``podbay agent --cleanup`` does the same)."""
    subprocess.run(["ip", "link", "del", bridge], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", f"podbay-{bridge}"], capture_output=True)


def stop_on_signals() -> None:
    """SIGTERM/SIGINT end the bench through its cleanup (a background job ignores SIGINT by default)."""
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
