"""The objects a cluster has from its first second (pure builders):

* ``default/kubernetes``: ClusterIP .1, port ``https`` 443 -> the API listener; no selector, its
  Endpoints and EndpointSlice (both named ``kubernetes``) are written by the API server itself;
* ``kube-system/kube-dns``: ClusterIP .10, ports ``dns`` 53/UDP and ``dns-tcp`` 53/TCP, label
  ``k8s-app: kube-dns``; selectorless here: its endpoint is the agent's own DNS listener;
* the ServiceLB status of LoadBalancer Services (k3s: the node's addresses, ``ipMode: VIP``).

The slices podbay writes for the first two name ``podbay-agent`` as their manager, so the
EndpointSlice controller (which manages only its own) leaves them alone.
"""

from __future__ import annotations

from typing import Any

from podbay.core.services.allocation import ServiceNetwork

Obj = dict[str, Any]
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
AGENT_MANAGER = "podbay-agent"


def kubernetes_service(net: ServiceNetwork, api_port: int = 6443) -> Obj:
    ip = net.kubernetes_ip
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": api_port}]}}


def kube_dns_service(net: ServiceNetwork) -> Obj:
    ip = net.dns_ip
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                    "kubernetes.io/name": "CoreDNS"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                     "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                               {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}


def endpoint_slice(svc: Obj, name: str, address: str, ports: list[Obj]) -> Obj:
    md = svc["metadata"]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": md["namespace"],
                         "labels": {"kubernetes.io/service-name": md["name"], MANAGED_BY: AGENT_MANAGER}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [address], "conditions": {"ready": True, "serving": True,
                                                                  "terminating": False}}]}


def endpoints(svc: Obj, address: str, ports: list[Obj]) -> Obj:
    md = svc["metadata"]
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": md["name"], "namespace": md["namespace"],
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": address}], "ports": ports}]}


def kubernetes_endpoints(net: ServiceNetwork, address: str, port: int) -> tuple[Obj, Obj]:
    """(EndpointSlice, Endpoints) of `kubernetes` -> the API listener pods can reach (the host's
    address on the pod bridge)."""
    svc = kubernetes_service(net, port)
    p = [{"name": "https", "port": port, "protocol": "TCP"}]
    return endpoint_slice(svc, "kubernetes", address, p), endpoints(svc, address, p)


def kube_dns_endpoints(net: ServiceNetwork, address: str) -> tuple[Obj, Obj]:
    svc = kube_dns_service(net)
    p = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    return endpoint_slice(svc, "kube-dns", address, p), endpoints(svc, address, p)


def load_balancer_status(svc: Obj, ingress_ips: list[str]) -> Obj | None:
    """ServiceLB: a LoadBalancer Service's status.loadBalancer.ingress = this host's addresses
    (ipMode VIP); None when it already says so or the Service is not a LoadBalancer."""
    spec = svc.get("spec") or {}
    if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass"):
        want: list[Obj] = []
    else:
        want = [{"ip": ip, "ipMode": "VIP"} for ip in ingress_ips]
    have = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if have == want:
        return None
    return {**(svc.get("status") or {}), "loadBalancer": {"ingress": want} if want else {}}
