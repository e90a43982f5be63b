"""Fakes of the API-side ports: stored objects, pods and their status, events, the probe transport."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from podbay.core.probes import GrpcTarget, HttpTarget, ProbeOutcome, TcpTarget
from podbay.ports import StatusUpdate

Obj = dict[str, Any]


class FakeObjects:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}

    def put(self, obj: Obj) -> None:
        md = obj["metadata"]
        self.objects[(obj["kind"], md.get("namespace", "default"), md["name"])] = obj

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        obj = self.objects.get((kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def version(self, kind: str, namespace: str, name: str) -> str | None:
        obj = self.objects.get((kind, namespace, name))
        return None if obj is None else str(obj["metadata"].get("resourceVersion") or id(obj))


class MemoryPods:
    """PodSource and StatusWriter in memory; ``history`` keeps every status written (per uid)."""

    def __init__(self) -> None:
        self.pods: dict[str, Obj] = {}
        self.history: dict[str, list[Obj]] = {}
        self.deleted: list[str] = []

    def add(self, pod: Obj) -> None:
        self.pods[pod["metadata"]["uid"]] = copy.deepcopy(pod)

    def get_pod(self, uid: str) -> Obj | None:
        pod = self.pods.get(uid)
        return copy.deepcopy(pod) if pod is not None else None

    def list_pods(self) -> list[Obj]:
        return [copy.deepcopy(p) for p in self.pods.values()]

    def update_status(self, uid: str, status_of: Callable[[Obj], StatusUpdate | None]) -> Obj | None:
        pod = self.pods.get(uid)
        if pod is None:
            return None
        update = status_of(copy.deepcopy(pod))
        if update is None:
            return pod
        if json.dumps(update.status, sort_keys=True) == json.dumps(pod.get("status") or {}, sort_keys=True):
            return pod
        pod["status"] = copy.deepcopy(update.status)
        if update.annotations:
            pod["metadata"].setdefault("annotations", {}).update(update.annotations)
        self.history.setdefault(uid, []).append(copy.deepcopy(update.status))
        return pod

    def finish_deletion(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        self.pods.pop(uid, None)
        self.deleted.append(uid)


class FakeEvents:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str, str]] = []   # (pod name, type, reason, message, fieldPath)
        self.forgotten: list[str] = []                             # uids of pods whose events went

    def record(self, pod: Mapping[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
        self.events.append((pod["metadata"]["name"], type_, reason, message, field_path))

    def forget(self, pod: Mapping[str, Any]) -> None:
        self.forgotten.append(pod["metadata"]["uid"])   # kept in ``events``: tests read them afterwards

    def reasons(self, pod: str | None = None) -> list[str]:
        return [e[2] for e in self.events if pod is None or e[0] == pod]

    def messages(self, reason: str) -> list[str]:
        return [e[3] for e in self.events if e[2] == reason]


Responder = Callable[..., "ProbeOutcome | Awaitable[ProbeOutcome]"]


class FakeTransport:
    """Scripted answers by port: a callable (target, timeout) -> ProbeOutcome, or a fixed outcome."""

    def __init__(self) -> None:
        self.http: dict[int, Any] = {}
        self.tcp_ports: dict[int, Any] = {}
        self.grpc_ports: dict[int, Any] = {}
        self.requests: list[tuple[str, Any]] = []

    async def _answer(self, table: dict[int, Any], port: int, *args: Any) -> ProbeOutcome:
        answer = table.get(port)
        if answer is None:
            return ProbeOutcome("failure", f"dial tcp :{port}: connect: connection refused")
        if callable(answer):
            out = answer(*args)
            if isinstance(out, Awaitable):
                out = await out
            return out  # type: ignore[no-any-return]
        return answer  # type: ignore[no-any-return]

    async def http_get(self, target: HttpTarget, timeout: float | None, *, check_status: bool = True) -> ProbeOutcome:
        self.requests.append(("http", target))
        out = await self._answer(self.http, target.port, target, timeout)
        if not check_status and out.result in ("failure", "warning") and out.output.startswith("HTTP probe failed"):
            return ProbeOutcome("success")
        return out

    async def tcp(self, target: TcpTarget, timeout: float) -> ProbeOutcome:
        self.requests.append(("tcp", target))
        return await self._answer(self.tcp_ports, target.port, target, timeout)

    async def grpc(self, target: GrpcTarget, timeout: float) -> ProbeOutcome:
        self.requests.append(("grpc", target))
        return await self._answer(self.grpc_ports, target.port, target, timeout)


class MemoryRecords:
    """ContainerRecords in memory (the store's containers table)."""

    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}

    def containers(self, pod_uid: str) -> list[Any]:
        return sorted((r for r in self.rows.values() if r.pod_uid == pod_uid), key=lambda r: (r.name, r.attempt))

    def all_containers(self) -> list[Any]:
        return list(self.rows.values())

    def put_container(self, rec: Any) -> None:
        self.rows[rec.id] = rec

    def delete_container(self, cid: str) -> None:
        self.rows.pop(cid, None)

    def delete_pod_containers(self, pod_uid: str) -> None:
        for cid in [c for c, r in self.rows.items() if r.pod_uid == pod_uid]:
            del self.rows[cid]
