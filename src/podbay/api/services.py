"""core/v1 Service: defaulting, the registry's create/update preparation and validation (pure).

Mirrors, in the API server's words:
* ``SetDefaults_Service`` (pkg/apis/core/v1/defaults.go),
* ``NormalizeClusterIPs`` / ``patchAllocatedValues`` (pkg/registry/core/service/strategy.go, storage.go),
* ``ValidateService`` / ``ValidateServiceUpdate`` / ``ValidateServiceStatusUpdate``
  (pkg/apis/core/validation/validation.go).

Allocation of clusterIPs and nodePorts (which needs the cluster's ranges and the allocated set) is
``podbay.core.services.allocation``; validation here runs before it, as in the API server.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from podbay.api import names
from podbay.api.fielderror import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)
from podbay.api.validation import validate_labels, validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]
Errs = list[FieldError]

CLUSTER_IP = "ClusterIP"
NODE_PORT = "NodePort"
LOAD_BALANCER = "LoadBalancer"
EXTERNAL_NAME = "ExternalName"
SERVICE_TYPES = (CLUSTER_IP, EXTERNAL_NAME, LOAD_BALANCER, NODE_PORT)  # sets.List order (sorted)
NONE = "None"
PROTOCOLS = ("SCTP", "TCP", "UDP")
AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
DEFAULT_AFFINITY_SECONDS = 10800  # v1.DefaultClientIPServiceAffinitySeconds
MAX_AFFINITY_SECONDS = 86400  # core.MaxClientIPServiceAffinitySeconds
KUBELET_PORT = 10250
VALID_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _ports(spec: Obj) -> list[Obj]:
    return [p if isinstance(p, dict) else {} for p in spec.get("ports") or []]


def is_headless(svc: Obj) -> bool:
    """isHeadlessService: exactly ``clusterIPs: [None]`` (after normalization)."""
    ips = _d(svc.get("spec")).get("clusterIPs") or []
    return len(ips) == 1 and ips[0] == NONE


def externally_accessible(svc: Obj) -> bool:
    """apiservice.ExternallyAccessible: NodePort, LoadBalancer, or ClusterIP with externalIPs."""
    spec = _d(svc.get("spec"))
    t = spec.get("type")
    return t in (LOAD_BALANCER, NODE_PORT) or (t == CLUSTER_IP and bool(spec.get("externalIPs")))


def needs_health_check(svc: Obj) -> bool:
    """apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local."""
    spec = _d(svc.get("spec"))
    return spec.get("type") == LOAD_BALANCER and spec.get("externalTrafficPolicy") == "Local"


# ---------------------------------------------------------------------------------------------- defaults


def default_service(svc: Obj) -> Obj:
    """SetDefaults_Service on a copy."""
    svc = copy.deepcopy(svc)
    spec = svc.setdefault("spec", {})
    if not isinstance(spec, dict):
        return svc
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = _d(spec.get("sessionAffinityConfig"))
        if _d(cfg.get("clientIP")).get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": DEFAULT_AFFINITY_SECONDS}}
    if not spec.get("type"):
        spec["type"] = CLUSTER_IP
    for p in spec.get("ports") or []:
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, ""):
            p["targetPort"] = p.get("port")
    if externally_accessible(svc) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (NODE_PORT, LOAD_BALANCER, CLUSTER_IP):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == LOAD_BALANCER and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if spec["type"] == LOAD_BALANCER:
        for ing in _d(_d(svc.get("status")).get("loadBalancer")).get("ingress") or []:
            if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"
    return svc


# ---------------------------------------------------------------------------------------------- strategy


def normalize_cluster_ips(new: Obj, old: Obj | None) -> None:
    """NormalizeClusterIPs: keep the singular and plural fields in step (in place)."""
    spec = _d(new.get("spec"))
    if old is None:
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        return
    ospec = _d(old.get("spec"))
    if ospec.get("clusterIPs") and not spec.get("clusterIPs") and ospec.get("clusterIP") == spec.get("clusterIP"):
        spec["clusterIPs"] = list(ospec["clusterIPs"])
    if ospec.get("clusterIP") != spec.get("clusterIP"):
        same = list(ospec.get("clusterIPs") or []) == list(spec.get("clusterIPs") or [])
        if ospec.get("clusterIP") and not spec.get("clusterIP"):
            if same:
                spec.pop("clusterIPs", None)
        elif same:
            spec["clusterIPs"] = [spec.get("clusterIP")]


def needs_cluster_ip(svc: Obj | None) -> bool:
    return svc is not None and _d(svc.get("spec")).get("type") != EXTERNAL_NAME


def needs_node_port(svc: Obj | None) -> bool:
    if svc is None:
        return False
    spec = _d(svc.get("spec"))
    return spec.get("type") in (NODE_PORT, LOAD_BALANCER)


def patch_allocated_values(new: Obj, old: Obj) -> None:
    """patchAllocatedValues: an update that omits allocated values keeps them (in place)."""
    spec, ospec = _d(new.get("spec")), _d(old.get("spec"))
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not spec.get("clusterIP") and ospec.get("clusterIP"):
            spec["clusterIP"] = ospec["clusterIP"]
        if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
            spec["clusterIPs"] = list(ospec["clusterIPs"])
    if needs_node_port(old) and needs_node_port(new):
        used_old = {p.get("nodePort") for p in _ports(ospec) if p.get("nodePort")}
        used_new = {p.get("nodePort") for p in _ports(spec) if p.get("nodePort")}
        used = used_old & used_new
        by_name = {p.get("name") or "": p.get("nodePort") for p in _ports(ospec)}
        for p in _ports(spec):
            if not p.get("nodePort"):
                val = by_name.get(p.get("name") or "")
                if val and val not in used:
                    p["nodePort"] = val
    if needs_health_check(old) and needs_health_check(new) and not spec.get("healthCheckNodePort") \
            and ospec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = ospec["healthCheckNodePort"]


def prepare_for_create(svc: Obj) -> Obj:
    """Defaulted copy with the status reset and clusterIPs normalized (the create strategy)."""
    svc = default_service(svc)
    svc["status"] = {"loadBalancer": {}}
    normalize_cluster_ips(svc, None)
    return svc


def prepare_for_update(new: Obj, old: Obj) -> Obj:
    """Defaulted copy keeping the old status, with allocated values patched in."""
    new = default_service(new)
    new["status"] = copy.deepcopy(old.get("status") or {"loadBalancer": {}})
    normalize_cluster_ips(new, old)
    patch_allocated_values(new, old)
    return new


def drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """dropTypeDependentFields: when the service stops needing a field (a type change, or its last
    externalIP removed), clear it unless the user set it explicitly (so `kubectl patch -p
    '{"spec":{"type":"ClusterIP"}}'` and a re-apply without externalIPs just work)."""
    spec, ospec = _d(new.get("spec")), _d(old.get("spec"))
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        if spec.get("clusterIP") == ospec.get("clusterIP"):
            spec.pop("clusterIP", None)
        if list(spec.get("clusterIPs") or []) == list(ospec.get("clusterIPs") or []):
            spec.pop("clusterIPs", None)
        if list(spec.get("ipFamilies") or []) == list(ospec.get("ipFamilies") or []):
            spec.pop("ipFamilies", None)
        if spec.get("ipFamilyPolicy") == ospec.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if needs_node_port(old) and not needs_node_port(new):
        old_np = {p.get("name") or "": p.get("nodePort") for p in _ports(ospec)}
        for p in _ports(spec):
            if p.get("nodePort") and old_np.get(p.get("name") or "") == p.get("nodePort"):
                p.pop("nodePort", None)
    if needs_health_check(old) and not needs_health_check(new) and \
            spec.get("healthCheckNodePort") == ospec.get("healthCheckNodePort"):
        spec.pop("healthCheckNodePort", None)
    if ospec.get("type") == LOAD_BALANCER and spec.get("type") != LOAD_BALANCER:
        if spec.get("allocateLoadBalancerNodePorts") == ospec.get("allocateLoadBalancerNodePorts"):
            spec.pop("allocateLoadBalancerNodePorts", None)
        if spec.get("loadBalancerClass") == ospec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if not externally_accessible(new) and spec.get("externalTrafficPolicy") == ospec.get("externalTrafficPolicy"):
        spec.pop("externalTrafficPolicy", None)


# ---------------------------------------------------------------------------------------------- validation


def _valid_ip(value: Any, path: str) -> Errs:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return [invalid(path, value, VALID_IP_MSG)]
    return []


def _port_num_or_name(port: Any, path: str) -> Errs:
    """ValidatePortNumOrName for targetPort (an IntOrString)."""
    if isinstance(port, bool):
        return [invalid(path, port, "must be an integer or a string")]
    if isinstance(port, int):
        return [invalid(path, port, m) for m in names.is_valid_port_num(port)]
    if isinstance(port, str):
        if not port:
            return [required(path)]
        return [invalid(path, port, m) for m in names.is_valid_port_name(port)]
    return [required(path)]


def _validate_service_port(sp: Obj, require_name: bool, seen: set[str], path: str) -> Errs:
    errs: Errs = []
    name = sp.get("name") or ""
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs += [invalid(f"{path}.name", name, m) for m in names.is_dns1123_label(str(name))]
        if name in seen:
            errs.append(duplicate(f"{path}.name", name))
        else:
            seen.add(name)
    port = sp.get("port")
    if not isinstance(port, int) or isinstance(port, bool):
        errs.append(invalid(f"{path}.port", port if port is not None else 0, names.inclusive_range_error(1, 65535)))
    else:
        errs += [invalid(f"{path}.port", port, m) for m in names.is_valid_port_num(port)]
    proto = sp.get("protocol") or ""
    if not proto:
        errs.append(required(f"{path}.protocol"))
    elif proto not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", proto, PROTOCOLS))
    errs += _port_num_or_name(sp.get("targetPort"), f"{path}.targetPort")
    if sp.get("appProtocol") is not None:
        errs += [invalid(f"{path}.appProtocol", sp["appProtocol"], m)
                 for m in names.is_qualified_name(str(sp["appProtocol"]))]
    return errs


def _validate_affinity(spec: Obj) -> Errs:
    path = "spec.sessionAffinityConfig"
    why = "when session affinity type is ClientIP"
    cfg = spec.get("sessionAffinityConfig")
    if not isinstance(cfg, dict):
        return [required(path, why)]
    cip = cfg.get("clientIP")
    if not isinstance(cip, dict):
        return [required(f"{path}.clientIP", why)]
    t = cip.get("timeoutSeconds")
    if t is None:
        return [required(f"{path}.clientIP.timeoutSeconds", why)]
    if not isinstance(t, int) or isinstance(t, bool) or t <= 0 or t > MAX_AFFINITY_SECONDS:
        return [invalid(f"{path}.clientIP.timeoutSeconds", t,
                        f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}")]
    return []


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def validate_cluster_ips_related_fields(svc: Obj) -> Errs:
    """ValidateServiceClusterIPsRelatedFields."""
    spec = _d(svc.get("spec"))
    if spec.get("type") == EXTERNAL_NAME:
        return []
    errs: Errs = []
    path = "spec.clusterIPs"
    cip = spec.get("clusterIP") or ""
    cips = [str(x) for x in spec.get("clusterIPs") or []]
    if cip:
        if not cips:
            errs.append(required(path))
        elif cips[0] != cip:
            errs.append(invalid(path, cips, "first value must match `clusterIP`"))
    elif cips:
        errs.append(invalid(path, cips, "must be empty when `clusterIP` is not specified"))
    fams = list(spec.get("ipFamilies") or [])
    seen: set[str] = set()
    for i, f in enumerate(fams):
        if f not in IP_FAMILIES:
            errs.append(not_supported(f"spec.ipFamilies[{i}]", f, IP_FAMILIES))
        if f in seen:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", f))
        seen.add(f)
    pol = spec.get("ipFamilyPolicy")
    if pol is not None and pol not in IP_FAMILY_POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", pol, IP_FAMILY_POLICIES))
    bad = False
    for i, ip in enumerate(cips):
        if i == 0 and ip == NONE:
            if len(cips) > 1:
                bad = True
                errs.append(invalid(path, cips, "'None' must be the first and only value"))
            continue
        e = _valid_ip(ip, f"{path}[{i}]")
        bad = bad or bool(e)
        errs += e
    if len(cips) > 2:
        errs.append(invalid(path, cips, "may only hold up to 2 values"))
    if bad:
        return errs
    if len(cips) > 1 and len({_family(ip) for ip in cips}) != len(cips):
        errs.append(invalid(path, cips, "may specify no more than one IP for each IP family"))
    if not is_headless(svc) and cips and fams:
        for i, ip in enumerate(cips[: len(fams)]):
            if fams[i] == "IPv4" and _family(ip) == "IPv6":
                errs.append(invalid(f"{path}[{i}]", ip, f"expected an IPv4 value as indicated by `ipFamilies[{i}]`"))
            if fams[i] == "IPv6" and _family(ip) != "IPv6":
                errs.append(invalid(f"{path}[{i}]", ip, f"expected an IPv6 value as indicated by `ipFamilies[{i}]`"))
    return errs


def validate_service(svc: Obj) -> Errs:
    """ValidateService on a defaulted, normalized Service, in the API server's order."""
    meta = _d(svc.get("metadata"))
    errs = validate_object_meta(meta, name_check=names.is_dns1035_label)
    spec = _d(svc.get("spec"))
    stype = spec.get("type") or ""
    ports = _ports(spec)
    headless = is_headless(svc)
    if not ports and not headless and stype != EXTERNAL_NAME:
        errs.append(required("spec.ports"))
    if stype == LOAD_BALANCER and headless:
        errs.append(invalid("spec.clusterIPs[0]", NONE, "may not be set to 'None' for LoadBalancer services"))
    elif stype == NODE_PORT and headless:
        errs.append(invalid("spec.clusterIPs[0]", NONE, "may not be set to 'None' for NodePort services"))
    elif stype == EXTERNAL_NAME:
        if spec.get("clusterIPs"):
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if spec.get("ipFamilies"):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if cname:
            errs += [invalid("spec.externalName", cname, m) for m in names.is_dns1123_subdomain(cname)]
        else:
            errs.append(required("spec.externalName"))
    seen: set[str] = set()
    for i, p in enumerate(ports):
        errs += _validate_service_port(p, len(ports) > 1, seen, f"spec.ports[{i}]")
    if spec.get("selector") is not None:
        errs += validate_labels(spec.get("selector"), "spec.selector")
    aff = spec.get("sessionAffinity") or ""
    if not aff:
        errs.append(required("spec.sessionAffinity"))
    elif aff not in AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", aff, AFFINITIES))
    if aff == "ClientIP":
        errs += _validate_affinity(spec)
    elif aff == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    errs += validate_cluster_ips_related_fields(svc)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        e = _valid_ip(ip, f"spec.externalIPs[{i}]")
        errs += e
        if not e:
            errs += non_special_ip(str(ip), f"spec.externalIPs[{i}]")
    if not stype:
        errs.append(required("spec.type"))
    elif stype not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, SERVICE_TYPES))
    if stype == CLUSTER_IP:
        for i, p in enumerate(ports):
            if p.get("nodePort"):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    seen_np: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        if not p.get("nodePort"):
            continue
        key = (p.get("protocol"), p.get("nodePort"))
        if key in seen_np:
            errs.append(duplicate(f"spec.ports[{i}].nodePort", p.get("nodePort")))
        seen_np.add(key)
    seen_p: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        key = (p.get("protocol"), p.get("port"))
        if key in seen_p:
            errs.append(duplicate(f"spec.ports[{i}]", {"port": p.get("port"), "protocol": p.get("protocol")}))
        seen_p.add(key)
    # loadBalancerSourceRanges, loadBalancerClass, loadBalancerIP on a LoadBalancer: refused by the
    # support table (api/support.py); upstream's own errors for other types stay here.
    if spec.get("loadBalancerSourceRanges") and stype != LOAD_BALANCER:
        errs.append(forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"))
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != LOAD_BALANCER:
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    if stype == LOAD_BALANCER and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    if stype == LOAD_BALANCER:
        lbc = spec.get("loadBalancerClass")
        if lbc is not None:
            errs += [invalid("spec.loadBalancerClass", lbc, m) for m in names.is_qualified_name(str(lbc))]
    elif spec.get("loadBalancerClass") is not None:
        errs.append(forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"))
    errs += _validate_external_traffic_policy(svc)
    itp = spec.get("internalTrafficPolicy")
    if itp is None:
        if stype in (NODE_PORT, LOAD_BALANCER, CLUSTER_IP):
            errs.append(required("spec.internalTrafficPolicy"))
    elif itp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    td = spec.get("trafficDistribution")
    if td is not None and td not in ("PreferClose", "PreferSameZone", "PreferSameNode"):
        errs.append(not_supported("spec.trafficDistribution", td, ["PreferClose", "PreferSameNode", "PreferSameZone"]))
    return errs


def non_special_ip(ip: str, path: str) -> Errs:
    """ValidateNonSpecialIP: not unspecified, loopback, link-local or link-local multicast."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return [invalid(path, ip, "must be a valid IP address")]
    errs: Errs = []
    if a.is_unspecified:
        errs.append(invalid(path, ip, f"may not be unspecified ({ip})"))
    if a.is_loopback:
        errs.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if a.is_link_local:
        errs.append(invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    link_local_mc = ipaddress.ip_network("224.0.0.0/24") if a.version == 4 else ipaddress.ip_network("ff02::/16")
    if a in link_local_mc:
        errs.append(invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errs


def _validate_external_traffic_policy(svc: Obj) -> Errs:
    spec = _d(svc.get("spec"))
    errs: Errs = []
    etp = spec.get("externalTrafficPolicy") or ""
    if not externally_accessible(svc):
        if etp:
            errs.append(invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"))
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    hc = spec.get("healthCheckNodePort") or 0
    if not needs_health_check(svc):
        if hc:
            errs.append(invalid("spec.healthCheckNodePort", hc,
                                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    elif hc:
        errs += [invalid("spec.healthCheckNodePort", hc, m) for m in names.is_valid_port_num(int(hc))]
    # A missing healthCheckNodePort is allocated (alloc.go) before this check runs upstream.
    return errs


def _upgrade_downgrade_cluster_ips(old: Obj, new: Obj) -> Errs:
    ospec, spec = _d(old.get("spec")), _d(new.get("spec"))
    if EXTERNAL_NAME in (spec.get("type"), ospec.get("type")):
        return []
    if is_headless(old) and is_headless(new):
        return []
    oips, nips = list(ospec.get("clusterIPs") or []), list(spec.get("clusterIPs") or [])
    errs: Errs = []
    if len(oips) == len(nips):
        for i, ip in enumerate(oips):
            if ip != nips[i]:
                errs.append(invalid(f"spec.clusterIPs[{i}]", nips, "may not change once set"))
    elif len(oips) > len(nips):
        if not nips:
            errs.append(invalid("spec.clusterIPs[0]", nips, "primary clusterIP can not be unset"))
        if oips and nips and nips[0] != oips[0]:
            errs.append(invalid("spec.clusterIPs[0]", nips, "may not change once set"))
        if len(nips) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(invalid("spec.ipFamilyPolicy", spec.get("ipFamilyPolicy"),
                                "must be set to 'SingleStack' when releasing the secondary clusterIP"))
    elif oips and nips[0] != oips[0]:
        errs.append(invalid("spec.clusterIPs[0]", nips, "may not change once set"))
    return errs


def _upgrade_downgrade_families(old: Obj, new: Obj) -> Errs:
    ospec, spec = _d(old.get("spec")), _d(new.get("spec"))
    if EXTERNAL_NAME in (spec.get("type"), ospec.get("type")):
        return []
    if is_headless(old) or is_headless(new):
        return []
    of, nf = list(ospec.get("ipFamilies") or []), list(spec.get("ipFamilies") or [])
    errs: Errs = []
    if len(of) == len(nf):
        if of != nf:
            errs.append(invalid("spec.ipFamilies[0]", nf, "may not change once set"))
    elif len(of) > len(nf):
        if not spec.get("clusterIPs"):
            errs.append(invalid("spec.ipFamilies[0]", nf, "primary ipFamily can not be unset"))
        if nf and nf[0] != of[0]:
            errs.append(invalid("spec.ipFamilies[0]", spec.get("clusterIPs") or [], "may not change once set"))
        if len(nf) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(invalid("spec.ipFamilyPolicy", spec.get("ipFamilyPolicy"),
                                "must be set to 'SingleStack' when releasing the secondary ipFamily"))
    elif of and nf and nf[0] != of[0]:
        errs.append(invalid("spec.ipFamilies[0]", spec.get("clusterIPs") or [], "may not change once set"))
    return errs


def validate_service_update(new: Obj, old: Obj) -> Errs:
    """ValidateServiceUpdate: clusterIPs/ipFamilies/loadBalancerClass/healthCheckNodePort immutability,
    then ValidateService."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += _upgrade_downgrade_cluster_ips(old, new)
    errs += _upgrade_downgrade_families(old, new)
    ospec, spec = _d(old.get("spec")), _d(new.get("spec"))
    if ospec.get("type") == LOAD_BALANCER and spec.get("type") == LOAD_BALANCER and \
            ospec.get("loadBalancerClass") != spec.get("loadBalancerClass"):
        errs.append(invalid("spec.loadBalancerClass", spec.get("loadBalancerClass"), "may not change once set"))
    if needs_health_check(old) and needs_health_check(new) and \
            ospec.get("healthCheckNodePort") != spec.get("healthCheckNodePort"):
        errs.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errs + validate_service(new)


def validate_service_status_update(new: Obj, old: Obj) -> Errs:
    """ValidateServiceStatusUpdate: metadata immutability and ValidateLoadBalancerStatus."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    spec = _d(new.get("spec"))
    ingress = _d(_d(new.get("status")).get("loadBalancer")).get("ingress") or []
    for i, ing in enumerate(ingress):
        ing = _d(ing)
        path = f"status.loadBalancer.ingress[{i}]"
        if ing.get("ip"):
            errs += _valid_ip(ing["ip"], f"{path}.ip")
        mode = ing.get("ipMode")
        if mode is not None:
            if mode not in ("Proxy", "VIP"):
                errs.append(not_supported(f"{path}.ipMode", mode, ["Proxy", "VIP"]))
            elif not ing.get("ip"):
                errs.append(forbidden(f"{path}.ipMode", "may not be specified when `ip` is not"))
        elif ing.get("ip"):
            errs.append(required(f"{path}.ipMode", "must be specified when `ip` is set"))
        if ing.get("hostname"):
            host = str(ing["hostname"])
            errs += [invalid(f"{path}.hostname", host, m) for m in names.is_dns1123_subdomain(host)]
            try:
                ipaddress.ip_address(host)
                errs.append(invalid(f"{path}.hostname", host, "must be a DNS name, not an IP address"))
            except ValueError:
                pass
    if ingress and spec.get("type") != LOAD_BALANCER:
        errs.append(forbidden("status.loadBalancer.ingress", "may only be used when `spec.type` is 'LoadBalancer'"))
    return errs
