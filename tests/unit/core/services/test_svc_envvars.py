"""Service environment variables (kubelet envvars.FromServices / getServiceEnvVarMap)."""

from __future__ import annotations

from typing import Any

from podbay.core import command
from podbay.core.services.envvars import enable_service_links, service_env

KUBE = {"metadata": {"namespace": "default", "name": "kubernetes"},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}
REDIS = {"metadata": {"namespace": "shop", "name": "redis-leader"},
         "spec": {"clusterIP": "10.96.7.8", "ports": [{"port": 6379, "protocol": "TCP"}]}}
HEADLESS = {"metadata": {"namespace": "shop", "name": "db"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}
OTHER_NS = {"metadata": {"namespace": "other", "name": "x"}, "spec": {"clusterIP": "10.96.1.1", "ports": [{"port": 1}]}}


def test_redis_leader_variables() -> None:
    env = service_env("shop", True, [KUBE, REDIS, HEADLESS, OTHER_NS])
    assert {k: v for k, v in env.items() if k.startswith("REDIS_LEADER")} == {
        "REDIS_LEADER_SERVICE_HOST": "10.96.7.8",
        "REDIS_LEADER_SERVICE_PORT": "6379",
        "REDIS_LEADER_PORT": "tcp://10.96.7.8:6379",
        "REDIS_LEADER_PORT_6379_TCP": "tcp://10.96.7.8:6379",
        "REDIS_LEADER_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_LEADER_PORT_6379_TCP_PORT": "6379",
        "REDIS_LEADER_PORT_6379_TCP_ADDR": "10.96.7.8",
    }
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert not any(k.startswith(("DB_", "X_")) for k in env)


def test_service_links_disabled_keeps_the_master_service() -> None:
    env = service_env("shop", False, [KUBE, REDIS])
    assert set(env) == {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS",
                        "KUBERNETES_PORT", "KUBERNETES_PORT_443_TCP", "KUBERNETES_PORT_443_TCP_PROTO",
                        "KUBERNETES_PORT_443_TCP_PORT", "KUBERNETES_PORT_443_TCP_ADDR"}
    assert enable_service_links({"spec": {}}) is True
    assert enable_service_links({"spec": {"enableServiceLinks": False}}) is False


def test_first_port_and_udp() -> None:
    svc: dict[str, Any] = {"metadata": {"namespace": "a", "name": "dns"},
                           "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                                         {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}}
    env = service_env("a", True, [svc])
    assert env["DNS_PORT"] == "udp://10.96.0.10:53" and env["DNS_SERVICE_PORT_DNS_TCP"] == "53"
    assert env["DNS_PORT_53_TCP_PROTO"] == "tcp"


def test_container_env_wins_and_can_reference_service_vars() -> None:
    svc_env = service_env("shop", True, [REDIS])
    pod = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {}}
    ctr = {"name": "c", "env": [{"name": "REDIS_LEADER_SERVICE_PORT", "value": "1"},
                                {"name": "ADDR", "value": "$(REDIS_LEADER_SERVICE_HOST):6379"}]}
    env = command.resolve_env(pod, ctr, ["REDIS_LEADER_PORT=image"], "10.88.0.2", "n", service_env=svc_env)
    d = dict(e.split("=", 1) for e in env)
    assert d["REDIS_LEADER_SERVICE_PORT"] == "1"
    assert d["ADDR"] == "10.96.7.8:6379"
    assert d["REDIS_LEADER_PORT"] == "tcp://10.96.7.8:6379"
