"""Skipping a projected-volume refresh whose inputs did not change (versions of what it read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podbay.agent import projections
from podbay.agent.projections import (
    REFRESH_BACKSTOP,
    InputRecorder,
    RefreshInputs,
    _Recording,
    inputs_unchanged,
)
from podbay.agent.sandbox import HostVolumes
from podbay.testing.api import FakeObjects


def cm(name: str, rv: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "d", "resourceVersion": rv},
            "data": data or {"k": "v"}}


def pod(rv: str = "10", volumes: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None,
        ip: str = "10.0.0.5") -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u1", "resourceVersion": rv, "labels": labels or {}},
            "spec": {"containers": [{"name": "c"}],
                     "volumes": volumes if volumes is not None else [{"name": "cfg", "configMap": {"name": "a"}}]},
            "status": {"podIP": ip, "phase": "Running", "conditions": [{"type": "Ready", "status": rv}]}}


DOWNWARD = [{"name": "info", "projected": {"sources": [{"downwardAPI": {"items": [
    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}},
            {"name": "ip", "downwardAPI": {"items": [{"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}]
API_ACCESS = [{"name": "kube-api-access", "projected": {"sources": [
    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}]


def test_recording_notes_the_version_of_each_read_and_absence() -> None:
    objs = FakeObjects()
    objs.put(cm("a", "5"))
    rec = _Recording(objs)
    assert rec.get("ConfigMap", "d", "a") is not None
    assert rec.get("ConfigMap", "d", "missing") is None
    assert rec.seen == {("ConfigMap", "d", "a"): "5", ("ConfigMap", "d", "missing"): None}


def test_inputs_unchanged_until_an_object_the_pod_a_token_or_the_backstop_moves() -> None:
    objs = FakeObjects()
    objs.put(cm("a", "5"))
    tokens = {"current": "t1"}

    def token(_p: dict[str, Any], _aud: str, _secs: int) -> str:
        return tokens["current"]

    last = RefreshInputs((), {("ConfigMap", "d", "a"): "5", ("ConfigMap", "d", "opt"): None},
                         {("", 3607): "t1"}, at=100.0)
    assert inputs_unchanged(last, objs, pod(), token, 101.0)
    assert not inputs_unchanged(last, objs, pod(), token, 100.0 + REFRESH_BACKSTOP)
    # A status write (a new resourceVersion) changes nothing a configMap volume shows.
    assert inputs_unchanged(last, objs, pod(rv="11", labels={"a": "b"}, ip="10.0.0.9"), token, 101.0)
    objs.put(cm("opt", "7"))                                                 # an optional object appears
    assert not inputs_unchanged(last, objs, pod(), token, 101.0)
    del objs.objects[("ConfigMap", "d", "opt")]
    objs.put(cm("a", "6", {"k": "new"}))                                    # the object changed
    assert not inputs_unchanged(last, objs, pod(), token, 101.0)
    objs.put(cm("a", "5"))
    assert inputs_unchanged(last, objs, pod(), token, 101.0)
    tokens["current"] = "t2"                                                 # renewed
    assert not inputs_unchanged(last, objs, pod(), token, 101.0)


def test_host_volumes_refresh_needed_follows_the_last_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_refresh_all(objects: Any, _alloc: int, p: dict[str, Any], _dir: Path, _tok: Any = None,
                         _failed: Any = None) -> list[str]:
        calls.append(p["metadata"]["resourceVersion"])
        objects.get("ConfigMap", "d", "a")          # what the real one reads for this pod
        return []

    monkeypatch.setattr(projections, "refresh_all", fake_refresh_all)
    objs = FakeObjects()
    objs.put(cm("a", "5"))
    vols = HostVolumes(objs, tmp_path, 1 << 30)
    pod_dir = tmp_path / "pods" / "u1"
    pod_dir.mkdir(parents=True)
    assert not vols.refresh_needed(pod(volumes=[{"name": "e", "emptyDir": {}}]), pod_dir)   # nothing to project
    assert vols.refresh_needed(pod(), pod_dir)                                             # never set up here
    vols.refresh(pod(), pod_dir)
    assert calls == ["10"]
    assert not vols.refresh_needed(pod(), pod_dir)
    objs.put(cm("a", "6"))
    assert vols.refresh_needed(pod(), pod_dir)
    vols.refresh(pod(), pod_dir)
    assert not vols.refresh_needed(pod(), pod_dir)
    vols.teardown(pod_dir)
    assert vols.refresh_needed(pod(), pod_dir)                                             # forgotten with the pod


def test_downward_api_inputs_are_the_pods_mutable_fields_only() -> None:
    objs = FakeObjects()
    seen = InputRecorder(objs, None)
    last = seen.inputs(pod(volumes=DOWNWARD, labels={"app": "x"}), 100.0)
    assert inputs_unchanged(last, objs, pod(rv="12", volumes=DOWNWARD, labels={"app": "x"}), None, 101.0)
    assert not inputs_unchanged(last, objs, pod(volumes=DOWNWARD, labels={"app": "y"}), None, 101.0)
    assert not inputs_unchanged(last, objs, pod(volumes=DOWNWARD, labels={"app": "x"}, ip="10.0.0.6"), None, 101.0)
    # kube-api-access shows the namespace only: labels and IPs changing need no refresh.
    last = seen.inputs(pod(volumes=API_ACCESS, labels={"app": "x"}, ip=""), 100.0)
    assert inputs_unchanged(last, objs, pod(volumes=API_ACCESS, labels={"app": "y"}, ip="10.0.0.6"), None, 101.0)
    live = pod(volumes=DOWNWARD, labels={"app": "x"})
    last = seen.inputs(live, 100.0)
    live["metadata"]["labels"]["app"] = "changed in place"      # the inputs are a copy, not a view
    assert not inputs_unchanged(last, objs, live, None, 101.0)


def test_a_refresh_that_failed_for_a_volume_is_tried_again_at_every_sync(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A token that could not be issued (the ServiceAccount is gone) leaves nothing recorded: no skip."""
    def failing_refresh_all(objects: Any, _alloc: int, _p: dict[str, Any], _dir: Path, _tok: Any = None,
                            failed: list[str] | None = None) -> list[str]:
        assert failed is not None
        failed.append("kube-api-access")
        return []

    monkeypatch.setattr(projections, "refresh_all", failing_refresh_all)
    vols = HostVolumes(FakeObjects(), tmp_path, 1 << 30)
    pod_dir = tmp_path / "pods" / "u1"
    pod_dir.mkdir(parents=True)
    vols.refresh(pod(), pod_dir)
    assert vols.refresh_needed(pod(), pod_dir)
