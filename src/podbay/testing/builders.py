"""Pods for tests: defaulted as the API server would, with a uid and a start time."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from podbay.api.defaults import default_pod

_uids = itertools.count(1)


def container(name: str = "app", image: str = "busybox:1.35", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


def pod(name: str = "web", containers: list[dict[str, Any]] | None = None, *, namespace: str = "default",
        init: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "namespace": namespace},
                            "spec": {"containers": copy.deepcopy(containers or [container()]), **spec}}
    if init:
        body["spec"]["initContainers"] = copy.deepcopy(init)
    out = default_pod(body)
    out["metadata"]["uid"] = f"uid-{name}-{next(_uids)}"
    out["metadata"]["creationTimestamp"] = "2023-11-14T22:13:20Z"
    out["status"] = {"phase": "Pending"}
    return out
