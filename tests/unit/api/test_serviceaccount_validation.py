"""Pods with ServiceAccount fields: token projections are validated and defaulted, names checked."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podbay.api import serviceaccount as admission
from podbay.api.defaults import default_pod
from podbay.api.validation import validate_pod


def pod(sources: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"serviceAccountName": "default", **spec,
                     "containers": [{"name": "c", "image": "busybox:1.35",
                                     "volumeMounts": [{"name": "t", "mountPath": "/t"}]}],
                     "volumes": [{"name": "t", "projected": {"sources": sources}}]}}


def errors(p: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate_pod(default_pod(p))]


def test_token_projection_is_accepted_and_defaulted() -> None:
    p = pod([{"serviceAccountToken": {"path": "token", "audience": "vault"}}])
    assert errors(p) == []
    sat = default_pod(p)["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert sat == {"path": "token", "audience": "vault", "expirationSeconds": 3600}


@pytest.mark.parametrize(("sat", "msg"), [
    ({"path": "t", "expirationSeconds": 599},
     "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 599: may not "
     "specify a duration less than 10 minutes"),
    ({"path": "t", "expirationSeconds": (1 << 32) + 1},
     "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 4294967297: may "
     "not specify a duration larger than 2^32 seconds"),
    ({}, "spec.volumes[0].projected.path: Required value"),
    ({"path": "../x"}, "spec.volumes[0].projected.path: Invalid value: \"../x\": must not contain '..'"),
    ({"path": "/abs"}, "spec.volumes[0].projected.path: Invalid value: \"/abs\": must be a relative path"),
])
def test_token_projection_errors(sat: dict[str, Any], msg: str) -> None:
    assert msg in errors(pod([{"serviceAccountToken": sat}]))


def test_token_projection_without_a_service_account_name_is_forbidden() -> None:
    p = pod([{"serviceAccountToken": {"path": "token"}}])
    del p["spec"]["serviceAccountName"]
    assert ("spec.volumes[0].projected.sources[0].serviceAccountToken: Forbidden: must not be specified when "
            "serviceAccountName is not set") in errors(p)


def test_service_account_name_must_be_a_subdomain() -> None:
    p = pod([{"configMap": {"name": "x"}}], serviceAccountName="Bad_Name")
    assert any(e.startswith('spec.serviceAccountName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
               for e in errors(p))


def test_the_admitted_pod_validates() -> None:
    base = pod([{"configMap": {"name": "x"}}])
    del base["spec"]["serviceAccountName"]
    out = admission.admit(default_pod(base), {"metadata": {"name": "default"}}, "abcde")
    assert validate_pod(out) == []
    assert out["spec"]["volumes"][-1]["name"] == "kube-api-access-abcde"


def test_admission_keeps_an_existing_kube_api_access_volume() -> None:
    once = admission.admit(default_pod(pod([{"configMap": {"name": "x"}}])), {}, "aaaaa")
    twice = admission.admit(copy.deepcopy(once), {}, "bbbbb")
    assert twice == once


def test_deprecated_service_account_field_is_honoured() -> None:
    p = pod([{"configMap": {"name": "x"}}])
    del p["spec"]["serviceAccountName"]
    p["spec"]["serviceAccount"] = "legacy"
    out = admission.admit(p, {}, "x")
    assert out["spec"]["serviceAccountName"] == out["spec"]["serviceAccount"] == "legacy"
