"""runtime.go "Container Runtime blackbox test ... on terminated container" (PROBES.md §9.4), busybox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_harness import Agent

pytestmark = pytest.mark.root

CASES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    # name: (shell, extra container fields, expected phase, expected message)
    "tm-file": ("/bin/echo -n DONE > /dev/termination-log", {"securityContext": {"runAsUser": 0}},
                "Succeeded", "DONE"),
    "tm-nonroot-custom": ("/bin/echo -n DONE > /dev/termination-custom-log",
                          {"terminationMessagePath": "/dev/termination-custom-log",
                           "securityContext": {"runAsUser": 10000}}, "Succeeded", "DONE"),
    "tm-fallback-fail": ("/bin/echo -n DONE; /bin/false", {"terminationMessagePolicy": "FallbackToLogsOnError"},
                         "Failed", "DONE"),
    "tm-fallback-ok": ("/bin/echo -n DONE; /bin/true", {"terminationMessagePolicy": "FallbackToLogsOnError"},
                       "Succeeded", ""),
    "tm-fallback-file": ("/bin/echo -n OK > /dev/termination-log; /bin/echo DONE; /bin/true",
                         {"terminationMessagePolicy": "FallbackToLogsOnError"}, "Succeeded", "OK"),
}


@pytest.fixture(scope="module")
def finished(agent: Agent) -> dict[str, dict[str, Any]]:
    for name, (cmd, extra, _, _) in CASES.items():
        c = {"name": "termination-message-container", "image": "busybox:1.35",
             "command": ["/bin/sh", "-c", cmd], **extra}
        agent.pb("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [c], "restartPolicy": "Never", "terminationGracePeriodSeconds": 1}}))
    out = {name: agent.wait_for(name, lambda p: p["status"]["phase"] in ("Succeeded", "Failed"), timeout=60)
           for name in CASES}
    yield out
    agent.pb("delete", "pod", *CASES, "--grace-period", "0", "--wait")


@pytest.mark.parametrize("name", list(CASES))
def test_termination_message(finished: dict[str, dict[str, Any]], name: str) -> None:
    _, _, phase, message = CASES[name]
    pod = finished[name]
    assert pod["status"]["phase"] == phase
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term.get("message", "") == message
