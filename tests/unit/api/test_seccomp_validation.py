"""seccompProfile fields and the deprecated seccomp annotations in API validation (issue 11 item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api.defaults import default_pod
from podbay.api.validation import validate_pod


def pod(ctr_sc: dict[str, Any] | None = None, pod_sc: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "c", "image": "busybox:1.35"}
    if ctr_sc is not None:
        c["securityContext"] = ctr_sc
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": "p", "namespace": "default", "annotations": annotations or {}},
                            "spec": {"containers": [c]}}
    if pod_sc is not None:
        body["spec"]["securityContext"] = pod_sc
    return default_pod(body)


def errors(p: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate_pod(p)]


@pytest.mark.parametrize("sp", [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
                                {"type": "Localhost", "localhostProfile": "profiles/audit.json"}])
def test_valid_profiles(sp: dict[str, str]) -> None:
    assert errors(pod({"seccompProfile": sp})) == []
    assert errors(pod(pod_sc={"seccompProfile": sp})) == []


@pytest.mark.parametrize("sp,expected", [
    ({"type": "Localhost"},
     "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: "
     "must be set when seccomp type is Localhost"),
    ({"type": "Localhost", "localhostProfile": "/etc/x.json"},
     'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x.json": '
     "must be a relative path"),
    ({"type": "Localhost", "localhostProfile": "../../etc/x.json"},
     'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../../etc/x.json": '
     "must not contain '..'"),
    ({"type": "RuntimeDefault", "localhostProfile": "x.json"},
     'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "x.json": '
     "can only be set when seccomp type is Localhost"),
    ({"type": "Strict"},
     'spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Strict": '
     'supported values: "Localhost", "RuntimeDefault", "Unconfined"'),
    ({"localhostProfile": "x.json"},
     "spec.containers[0].securityContext.seccompProfile.type: Required value: "
     "type is required when seccompProfile is set"),
])
def test_invalid_container_profiles(sp: dict[str, str], expected: str) -> None:
    assert expected in errors(pod({"seccompProfile": sp}))


def test_invalid_pod_profile() -> None:
    assert errors(pod(pod_sc={"seccompProfile": {"type": "Localhost"}})) == [
        "spec.securityContext.seccompProfile.localhostProfile: Required value: "
        "must be set when seccomp type is Localhost"]


@pytest.mark.parametrize("key", ["seccomp.security.alpha.kubernetes.io/pod",
                                 "container.seccomp.security.alpha.kubernetes.io/c"])
def test_annotations(key: str) -> None:
    for ok in ("runtime/default", "docker/default", "unconfined", "localhost/profiles/a.json"):
        assert errors(pod(annotations={key: ok})) == []
    assert errors(pod(annotations={key: "strict"})) == [
        f'metadata.annotations[{key}]: Invalid value: "strict": must be a valid seccomp profile']
    assert errors(pod(annotations={key: "localhost/../x"})) == [
        f"metadata.annotations[{key}]: Invalid value: \"../x\": must not contain '..'"]
