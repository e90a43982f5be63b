"""The agent's bounded stop and its hardening options (issue 11 items 1, 2, 10)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podbay.errors import PermanentError
from podbay.server.daemon import config_from_options

SRC = Path(__file__).resolve().parents[3] / "src"

BLOCKED = """
import asyncio, sys, time
from podbay.server.daemon import run_bounded

async def main():
    asyncio.get_running_loop().run_in_executor(None, time.sleep, {block})   # a container stop in a thread
    await asyncio.sleep(0.1)

run_bounded(main(), 0.5)
print("returned")
"""


def run_script(block: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-c", BLOCKED.format(block=block)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(SRC)})
    return time.monotonic() - t0, res


def test_stop_does_not_wait_for_blocking_work_past_the_grace() -> None:
    """asyncio.run joins its executor without a limit: a 30 s thread held the stop for 30 s."""
    took, res = run_script(30)
    assert res.returncode == 0, res.stderr
    assert took < 10
    assert "returned" not in res.stdout   # exited as after a crash: the next start repairs
    assert "blocking operations unfinished" in res.stderr


def test_stop_returns_normally_when_threads_finish() -> None:
    took, res = run_script(0.2)
    assert res.returncode == 0 and "returned" in res.stdout, res.stderr


def test_hardening_options() -> None:
    cfg = config_from_options({"root": "/var/lib/pb", "allowed_host_path": ["/srv/a"]})
    assert cfg.seccomp_root == Path("/var/lib/pb/seccomp") and cfg.allowed_host_paths == ("/srv/a",)
    assert config_from_options({"seccomp_profile_root": "/etc/pb/seccomp"}).seccomp_root == Path("/etc/pb/seccomp")
    with pytest.raises(PermanentError, match="--seccomp-profile-root must be an absolute path"):
        config_from_options({"seccomp_profile_root": "rel"})
    with pytest.raises(PermanentError, match="--allowed-host-path must be an absolute path"):
        config_from_options({"allowed_host_path": ["srv"]})
