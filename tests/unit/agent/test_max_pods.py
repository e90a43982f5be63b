"""--max-pods (kubelet --max-pods): the Node's pods capacity, checked against the pod subnet."""

from __future__ import annotations

from unittest import mock

import pytest

from podbay.agent import node
from podbay.api import node as nodeapi
from podbay.errors import PermanentError
from podbay.server.daemon import config_from_options


def test_default_is_the_kubelets_110() -> None:
    assert config_from_options({}).max_pods == 110


def test_max_pods_within_the_subnet() -> None:
    assert config_from_options({"max_pods": 600, "subnet": "10.9.0.0/21"}).max_pods == 600


@pytest.mark.parametrize(("n", "subnet", "why"), [
    (0, "10.9.0.0/21", "at least 1"),
    (600, "10.9.9.0/24", "the pod subnet 10.9.9.0/24 has room for 253 pods"),
    (70000, "", "the pod subnet 10.88.0.0/16 has room for 65533 pods"),
])
def test_max_pods_refused(n: int, subnet: str, why: str) -> None:
    opts: dict[str, object] = {"max_pods": n}
    if subnet:
        opts["subnet"] = subnet
    with pytest.raises(PermanentError, match=why):
        config_from_options(opts)


def test_the_node_reports_it_as_pods_capacity_and_allocatable(tmp_path: object) -> None:
    with mock.patch.object(node, "_runtime_version", return_value="crun://1.8"):
        facts = node.host_facts("n1", tmp_path, "192.0.2.1", 1 << 30, "/usr/bin/crun", 600)  # type: ignore[arg-type]
    status = nodeapi.node_status(facts, 0.0)
    assert status["capacity"]["pods"] == "600" and status["allocatable"]["pods"] == "600"
