"""EndpointSlice (discovery.k8s.io/v1) and v1 Endpoints: defaulting and validation (pure), in the API
server's words (pkg/apis/discovery/validation ``ValidateEndpointSlice``; pkg/apis/core/validation
``ValidateEndpoints``; the v1 ``SetDefaults_EndpointPort`` of both groups).

Users write these for Services without a selector (an external database, the Conformance tests'
hand-made slices); the controllers' own writes pass the same checks.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from podbay.api import names
from podbay.api.fielderror import FieldError, duplicate, invalid, not_supported, required, too_many
from podbay.api.services import non_special_ip
from podbay.api.validation import validate_labels, validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]
Errs = list[FieldError]
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PROTOCOLS = ("SCTP", "TCP", "UDP")
MAX_ADDRESSES = 100
MAX_PORTS = 20000
MAX_ENDPOINTS = 1000
MAX_TOPOLOGY_LABELS = 16


def default_endpoint_slice(sl: Obj) -> Obj:
    sl = copy.deepcopy(sl)
    for p in sl.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("name", "")
            if not p.get("protocol"):
                p["protocol"] = "TCP"
    return sl


def default_endpoints(ep: Obj) -> Obj:
    ep = copy.deepcopy(ep)
    for ss in ep.get("subsets") or []:
        for p in (ss or {}).get("ports") or []:
            if isinstance(p, dict) and not p.get("protocol"):
                p["protocol"] = "TCP"
    return ep


def _label_errs(value: str, path: str) -> Errs:
    return [invalid(path, value, m) for m in names.is_dns1123_label(value)]


def _ipv4(value: Any, path: str) -> Errs:
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        return [invalid(path, value, "must be a valid IPv4 address")]
    return non_special_ip(str(value), path)


def _ipv6(value: Any, path: str) -> Errs:
    try:
        ipaddress.IPv6Address(str(value))
    except ValueError:
        return [invalid(path, value, "must be a valid IPv6 address")]
    return non_special_ip(str(value), path)


def _fqdn(value: Any, path: str) -> Errs:
    v = str(value)
    if not v:
        return [required(path)]
    if v.endswith("."):
        v = v[:-1]
    errs = [invalid(path, value, m) for m in names.is_dns1123_subdomain(v)]
    if not errs and "." not in v:
        errs.append(invalid(path, value, "should be a domain with at least two segments separated by dots"))
    return errs


def validate_endpoint_slice(sl: Obj, old: Obj | None = None) -> Errs:
    errs = validate_object_meta(sl.get("metadata"))
    at = sl.get("addressType") or ""
    if not at:
        errs.append(required("addressType"))
    elif at not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", at, ADDRESS_TYPES))
    eps = sl.get("endpoints") or []
    if len(eps) > MAX_ENDPOINTS:
        errs.append(too_many("endpoints", len(eps), MAX_ENDPOINTS))
    else:
        for i, ep in enumerate(eps):
            ep = ep if isinstance(ep, dict) else {}
            path = f"endpoints[{i}]"
            addrs = ep.get("addresses") or []
            if not addrs:
                errs.append(required(f"{path}.addresses", "must contain at least 1 address"))
            elif len(addrs) > MAX_ADDRESSES:
                errs.append(too_many(f"{path}.addresses", len(addrs), MAX_ADDRESSES))
            check = {"IPv4": _ipv4, "IPv6": _ipv6, "FQDN": _fqdn}.get(at)
            if check is not None:
                for j, a in enumerate(addrs):
                    errs += check(a, f"{path}.addresses[{j}]")
            if ep.get("nodeName") is not None:
                node = str(ep["nodeName"])
                errs += [invalid(f"{path}.nodeName", node, m) for m in names.is_dns1123_subdomain(node)]
            topo = ep.get("deprecatedTopology") or {}
            if len(topo) > MAX_TOPOLOGY_LABELS:
                errs.append(too_many(f"{path}.deprecatedTopology", len(topo), MAX_TOPOLOGY_LABELS))
            errs += validate_labels(topo, f"{path}.deprecatedTopology")
            if ep.get("hostname") is not None:
                errs += _label_errs(str(ep["hostname"]), f"{path}.hostname")
    ports = sl.get("ports") or []
    if len(ports) > MAX_PORTS:
        errs.append(too_many("ports", len(ports), MAX_PORTS))
        return errs
    seen: set[str] = set()
    for i, p in enumerate(ports):
        p = p if isinstance(p, dict) else {}
        path = f"ports[{i}]"
        pname = str(p.get("name") or "")
        if pname:
            errs += _label_errs(pname, f"{path}.name")
        if pname in seen:
            errs.append(duplicate(f"{path}.name", pname))
        else:
            seen.add(pname)
        proto = p.get("protocol")
        if not proto:
            errs.append(required(f"{path}.protocol"))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", proto, PROTOCOLS))
        if p.get("appProtocol") is not None:
            errs += [invalid(f"{path}.appProtocol", p["appProtocol"], m)
                     for m in names.is_qualified_name(str(p["appProtocol"]))]
    return errs


def validate_endpoint_slice_update(new: Obj, old: Obj) -> Errs:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    if new.get("addressType") != old.get("addressType"):
        errs.append(invalid("addressType", new.get("addressType"), "field is immutable"))
    return errs + validate_endpoint_slice(new, old)


def _validate_address(a: Obj, path: str) -> Errs:
    ip = str(a.get("ip") or "")
    try:
        ipaddress.ip_address(ip)
        errs: Errs = []
    except ValueError:
        errs = [invalid(f"{path}.ip", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    if a.get("hostname"):
        errs += _label_errs(str(a["hostname"]), f"{path}.hostname")
    if a.get("nodeName") is not None:
        node = str(a["nodeName"])
        errs += [invalid(f"{path}.nodeName", node, m) for m in names.is_dns1123_subdomain(node)]
    if not errs:
        errs += non_special_ip(ip, f"{path}.ip")
    return errs


def validate_endpoints(ep: Obj) -> Errs:
    errs = validate_object_meta(ep.get("metadata"))
    for i, ss in enumerate(ep.get("subsets") or []):
        ss = ss if isinstance(ss, dict) else {}
        path = f"subsets[{i}]"
        if not ss.get("addresses") and not ss.get("notReadyAddresses"):
            errs.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(ss.get(key) or []):
                errs += _validate_address(a if isinstance(a, dict) else {}, f"{path}.{key}[{j}]")
        ports = ss.get("ports") or []
        for j, p in enumerate(ports):
            p = p if isinstance(p, dict) else {}
            pp = f"{path}.ports[{j}]"
            if len(ports) > 1 and not p.get("name"):
                errs.append(required(f"{pp}.name"))
            elif p.get("name"):
                errs += _label_errs(str(p["name"]), f"{pp}.name")
            num = p.get("port")
            if not isinstance(num, int) or isinstance(num, bool):
                errs.append(invalid(f"{pp}.port", num if num is not None else 0, names.inclusive_range_error(1, 65535)))
            else:
                errs += [invalid(f"{pp}.port", num, m) for m in names.is_valid_port_num(num)]
            proto = p.get("protocol")
            if not proto:
                errs.append(required(f"{pp}.protocol"))
            elif proto not in PROTOCOLS:
                errs.append(not_supported(f"{pp}.protocol", proto, PROTOCOLS))
            if p.get("appProtocol") is not None:
                errs += [invalid(f"{pp}.appProtocol", p["appProtocol"], m)
                         for m in names.is_qualified_name(str(p["appProtocol"]))]
    return errs


def validate_endpoints_update(new: Obj, old: Obj) -> Errs:
    return validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_endpoints(new)
