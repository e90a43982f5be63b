"""Services, Endpoints and EndpointSlices in the registry (pkg/registry/core/service, endpoint;
pkg/registry/discovery/endpointslice): defaulting, validation, and for Services the allocation of
clusterIPs and nodePorts from the agent's ranges, after validation, against every other stored
Service (so a dry run shows what would be allocated and a failed write allocates nothing)."""

from __future__ import annotations

import random
from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api import endpoints as eapi
from podbay.api import services as sapi
from podbay.api.fielderror import FieldError
from podbay.core.services.allocation import AllocationFailed, ServiceNetwork, allocate
from podbay.core.services.servicerest import ServiceAllocationError
from podbay.store.repository import Repository

Obj = dict[str, Any]


class ServiceStrategy(Strategy):
    has_status = True

    def __init__(self, repo: Repository, net: ServiceNetwork, rand: random.Random | None = None) -> None:
        self.repo = repo
        self.net = net
        self.rand = rand or random.SystemRandom()

    def _others(self, obj: Obj) -> list[Obj]:
        md = obj.get("metadata") or {}
        return [s.obj for s in self.repo.list("Service")
                if (s.namespace, s.name) != (md.get("namespace"), md.get("name"))]

    def _allocate(self, new: Obj, old: Obj | None) -> list[FieldError]:
        try:
            out = allocate(new, old, self._others(new), self.net, self.rand)
        except AllocationFailed as exc:
            if exc.causes:
                return list(exc.causes)
            raise ServiceAllocationError(f"Internal error occurred: {exc}") from None
        new["spec"] = out["spec"]   # the registry stores this very dict
        return []

    def prepare_create(self, obj: Obj) -> Obj:
        return sapi.prepare_for_create(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return sapi.validate_service(obj) or self._allocate(obj, None)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        svc = sapi.prepare_for_update(new, old)
        sapi.drop_type_dependent_fields(svc, old)
        return svc

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return sapi.validate_service_update(new, old) or self._allocate(new, old)

    def prepare_status_update(self, new: Obj, old: Obj) -> Obj:
        out = super().prepare_status_update(new, old)
        return {**out, "status": sapi.default_service(out).get("status") or {}}

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return sapi.validate_service_status_update(new, old)


class EndpointsStrategy(Strategy):
    def prepare_create(self, obj: Obj) -> Obj:
        return eapi.default_endpoints(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return eapi.validate_endpoints(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        return eapi.default_endpoints(new)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return eapi.validate_endpoints_update(new, old)


class EndpointSliceStrategy(Strategy):
    def prepare_create(self, obj: Obj) -> Obj:
        return eapi.default_endpoint_slice(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return eapi.validate_endpoint_slice(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        return eapi.default_endpoint_slice(new)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return eapi.validate_endpoint_slice_update(new, old)
