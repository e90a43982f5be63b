"""The session-wide real agent for the end-to-end tests (see e2e_harness.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from e2e_harness import IMAGE_TAR, REPO, Agent, _missing
from kube import Kube


@pytest.fixture(scope="session")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    why = _missing()
    if why:
        pytest.skip(why)
    if not IMAGE_TAR.exists():
        subprocess.run([sys.executable, "-m", "podbay.images.testimage", str(IMAGE_TAR)], check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    a = Agent(tmp_path_factory.mktemp("e2e"))
    a.root.mkdir(parents=True)
    a.pb("image", "load", str(IMAGE_TAR))
    a.start()
    try:
        yield a
    finally:
        a.cleanup()


@pytest.fixture(scope="session")
def kube(agent: Agent) -> Iterator[Kube]:
    """kubectl / Python client access to the session agent (see kube.py)."""
    with Kube(agent.socket, agent.base, env=agent.env) as k:
        yield k
