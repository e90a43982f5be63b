"""Service defaulting, strategy preparation and validation, checked against the API server's messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podbay.api import services as s
from podbay.api import support


def svc(spec: dict[str, Any], name: str = "web", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default", **meta},
            "spec": spec}


def errors(obj: dict[str, Any]) -> list[str]:
    svc = s.prepare_for_create(obj)   # validation, then the support table, as the registry does
    return [str(e) for e in support.admit("Service", svc, None, s.validate_service(svc))]


# -- defaults ------------------------------------------------------------------------------------------


def test_defaults_for_a_plain_service() -> None:
    out = s.default_service(svc({"selector": {"app": "x"}, "ports": [{"port": 80}]}))["spec"]
    assert out["type"] == "ClusterIP"
    assert out["sessionAffinity"] == "None"
    assert out["internalTrafficPolicy"] == "Cluster"
    assert out["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "externalTrafficPolicy" not in out and "allocateLoadBalancerNodePorts" not in out


@pytest.mark.parametrize(("spec", "key", "want"), [
    ({"type": "NodePort", "ports": [{"port": 80}]}, "externalTrafficPolicy", "Cluster"),
    ({"type": "LoadBalancer", "ports": [{"port": 80}]}, "allocateLoadBalancerNodePorts", True),
    ({"type": "ClusterIP", "externalIPs": ["192.0.2.1"], "ports": [{"port": 80}]}, "externalTrafficPolicy", "Cluster"),
    ({"sessionAffinity": "ClientIP", "ports": [{"port": 80}]}, "sessionAffinityConfig",
     {"clientIP": {"timeoutSeconds": 10800}}),
    ({"type": "ExternalName", "externalName": "a.example"}, "internalTrafficPolicy", None),
])
def test_type_dependent_defaults(spec: dict[str, Any], key: str, want: Any) -> None:
    assert s.default_service(svc(spec))["spec"].get(key) == want


def test_named_target_port_is_kept() -> None:
    out = s.default_service(svc({"ports": [{"port": 80, "targetPort": "http"}]}))
    assert out["spec"]["ports"][0]["targetPort"] == "http"


def test_affinity_none_drops_config() -> None:
    out = s.default_service(svc({"sessionAffinity": "None", "sessionAffinityConfig": {"clientIP": {}},
                                 "ports": [{"port": 1}]}))
    assert "sessionAffinityConfig" not in out["spec"]


# -- validation (ValidateService) ----------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "want"), [
    ({"ports": []}, "spec.ports: Required value"),
    ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name: Required value"),
    ({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}, 'spec.ports[1].name: Duplicate value: "a"'),
    ({"ports": [{"port": 0}]}, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ({"ports": [{"port": 80, "protocol": "ICMP"}]},
     'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
    ({"ports": [{"port": 80, "targetPort": "Http_1"}]},
     'spec.ports[0].targetPort: Invalid value: "Http_1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'),
    ({"type": "Foo", "ports": [{"port": 80}]},
     'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'),
    ({"ports": [{"port": 80, "nodePort": 30001}]},
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    ({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]},
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"),
    ({"type": "ExternalName"}, "spec.externalName: Required value"),
    ({"type": "ExternalName", "externalName": "Bad_Name"},
     'spec.externalName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case '
     "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
     "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ({"type": "ExternalName", "externalName": "a.example", "clusterIP": "10.96.0.9"},
     "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
    ({"sessionAffinity": "Sticky", "ports": [{"port": 80}]},
     'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
      "ports": [{"port": 80}]},
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"),
    ({"clusterIP": "10.96.0.300", "ports": [{"port": 80}]},
     'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
    ({"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.6"], "ports": [{"port": 80}]},
     'spec.clusterIPs: Invalid value: []string{"10.96.0.6"}: first value must match `clusterIP`'),
    ({"externalTrafficPolicy": "Local", "ports": [{"port": 80}]},
     'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'),
    ({"type": "NodePort", "externalTrafficPolicy": "Nearest", "ports": [{"port": 80}]},
     'spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"'),
    ({"internalTrafficPolicy": "Zone", "ports": [{"port": 80}]},
     'spec.internalTrafficPolicy: Unsupported value: "Zone": supported values: "Cluster", "Local"'),
    ({"ports": [{"port": 80}, {"port": 80, "name": "b"}]}, "spec.ports[0].name: Required value"),
    ({"type": "NodePort", "ports": [{"name": "a", "port": 80, "nodePort": 30001},
                                    {"name": "b", "port": 81, "nodePort": 30001}]},
     "spec.ports[1].nodePort: Duplicate value: 30001"),
    ({"selector": {"app": "bad value!"}, "ports": [{"port": 80}]},
     "spec.selector[app]: Invalid value: \"bad value!\": a valid label must be an empty string or consist of "
     "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
     "'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"
     "[A-Za-z0-9])?')"),
    ({"allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]},
     "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"),
    ({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"], "ports": [{"port": 80}]},
     "spec.loadBalancerSourceRanges: Forbidden: not supported by podbay"),
])
def test_validation_messages(spec: dict[str, Any], want: str) -> None:
    assert want in errors(svc(spec))


@pytest.mark.parametrize("spec", [
    {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    {"clusterIP": "None", "selector": {"app": "db"}},
    {"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]},
    {"type": "LoadBalancer", "ports": [{"port": 80}], "externalTrafficPolicy": "Local"},
    {"type": "ExternalName", "externalName": "db.example.com."},
    {"sessionAffinity": "ClientIP", "ports": [{"port": 80}]},
    {"ports": [{"name": "tcp", "port": 53, "protocol": "TCP"}, {"name": "udp", "port": 53, "protocol": "UDP"}]},
    {"publishNotReadyAddresses": True, "clusterIP": "None", "ports": [{"port": 80}]},
])
def test_valid_services(spec: dict[str, Any]) -> None:
    assert errors(svc(spec)) == []


def test_service_names_are_dns1035_labels() -> None:
    msgs = errors(svc({"ports": [{"port": 80}]}, name="1web"))
    assert msgs == ['metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric '
                    "characters or '-', start with an alphabetic character, and end with an alphanumeric character "
                    "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]


# -- update rules ---------------------------------------------------------------------------------------


def stored(spec: dict[str, Any]) -> dict[str, Any]:
    obj = s.prepare_for_create(svc(spec))
    obj["spec"].update({"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ipFamilies": ["IPv4"],
                        "ipFamilyPolicy": "SingleStack"})
    for i, p in enumerate(obj["spec"]["ports"]):
        if obj["spec"]["type"] in ("NodePort", "LoadBalancer"):
            p["nodePort"] = 30010 + i
    return obj


def test_update_keeps_allocated_values_a_client_omits() -> None:
    old = stored({"type": "NodePort", "ports": [{"port": 80}]})
    new = s.prepare_for_update(svc({"type": "NodePort", "ports": [{"port": 80}]}), old)
    assert new["spec"]["clusterIP"] == "10.96.0.20" and new["spec"]["clusterIPs"] == ["10.96.0.20"]
    assert new["spec"]["ports"][0]["nodePort"] == 30010
    assert s.validate_service_update(new, old) == []


def test_cluster_ip_is_immutable() -> None:
    old = stored({"ports": [{"port": 80}]})
    upd = copy.deepcopy(old)
    upd["spec"]["clusterIP"] = "10.96.0.21"
    new = s.prepare_for_update(upd, old)
    msgs = [str(e) for e in s.validate_service_update(new, old)]
    assert 'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.21"}: may not change once set' in msgs


def test_type_change_to_external_name_drops_cluster_ip() -> None:
    old = stored({"type": "NodePort", "ports": [{"port": 80}]})
    upd = copy.deepcopy(old)
    upd["spec"].update({"type": "ExternalName", "externalName": "x.example"})
    new = s.prepare_for_update(upd, old)
    s.drop_type_dependent_fields(new, old)
    assert "clusterIP" not in new["spec"] and "nodePort" not in new["spec"]["ports"][0]
    assert "ipFamilies" not in new["spec"] and "externalTrafficPolicy" not in new["spec"]
    assert s.validate_service_update(new, old) == []


def test_removing_the_last_external_ip_drops_the_defaulted_traffic_policy() -> None:
    """A re-apply without externalIPs (same type) must not leave externalTrafficPolicy behind."""
    old = stored({"ports": [{"port": 80}], "externalIPs": ["1.2.3.4"]})
    assert old["spec"]["externalTrafficPolicy"] == "Cluster"
    upd = copy.deepcopy(old)
    del upd["spec"]["externalIPs"]
    new = s.prepare_for_update(upd, old)
    s.drop_type_dependent_fields(new, old)
    assert "externalTrafficPolicy" not in new["spec"]
    assert s.validate_service_update(new, old) == []


def test_status_update_validates_ingress() -> None:
    old = stored({"type": "LoadBalancer", "ports": [{"port": 80}]})
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "10.1.2.3"}]}}
    assert [str(e) for e in s.validate_service_status_update(new, old)] == [
        "status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` is set"]
    new["status"]["loadBalancer"]["ingress"][0]["ipMode"] = "VIP"
    assert s.validate_service_status_update(new, old) == []
