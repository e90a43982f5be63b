from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubelet_harness import Kubelet


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    k = Kubelet(tmp_path)
    try:
        yield k
    finally:
        await k.close()
