"""EndpointSlice and Endpoints validation messages."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api import endpoints as e


def sl(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"metadata": {"name": "ext-1", "namespace": "default"}, "addressType": "IPv4",
                            "endpoints": [{"addresses": ["10.1.2.3"]}], "ports": [{"name": "http", "port": 80}]}
    base.update(kw)
    return e.default_endpoint_slice(base)


@pytest.mark.parametrize(("obj", "want"), [
    (sl(addressType=""), "addressType: Required value"),
    (sl(addressType="IPX"), 'addressType: Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"'),
    (sl(endpoints=[{"addresses": []}]), "endpoints[0].addresses: Required value: must contain at least 1 address"),
    (sl(endpoints=[{"addresses": ["1.2.3"]}]), 'endpoints[0].addresses[0]: Invalid value: "1.2.3": must be a valid IPv4 address'),
    (sl(endpoints=[{"addresses": ["127.0.0.1"]}]),
     'endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'),
    (sl(endpoints=[{"addresses": ["10.0.0.1"], "hostname": "Web_0"}]), 'endpoints[0].hostname: Invalid value: "Web_0"'),
    (sl(ports=[{"name": "a", "port": 1}, {"name": "a", "port": 2}]), 'ports[1].name: Duplicate value: "a"'),
    (sl(ports=[{"name": "a", "protocol": "ICMP"}]), 'ports[0].protocol: Unsupported value: "ICMP"'),
    (sl(endpoints=[{"addresses": ["10.0.0.1"]}] * 1001), "endpoints: Too many: 1001: must have at most 1000 items"),
])
def test_endpoint_slice_errors(obj: dict[str, Any], want: str) -> None:
    assert any(str(x).startswith(want) for x in e.validate_endpoint_slice(obj)), [str(x) for x in e.validate_endpoint_slice(obj)]


def test_valid_slices_and_immutable_address_type() -> None:
    assert e.validate_endpoint_slice(sl()) == []
    assert e.validate_endpoint_slice(sl(addressType="FQDN", endpoints=[{"addresses": ["db.example.com"]}])) == []
    assert sl()["ports"][0]["protocol"] == "TCP"
    new = sl(addressType="IPv6", endpoints=[{"addresses": ["2001:db8::1"]}])
    assert "addressType: Invalid value: \"IPv6\": field is immutable" in [str(x) for x in
                                                                          e.validate_endpoint_slice_update(new, sl())]


def ep(subsets: list[dict[str, Any]]) -> dict[str, Any]:
    return e.default_endpoints({"metadata": {"name": "ext", "namespace": "default"}, "subsets": subsets})


@pytest.mark.parametrize(("obj", "want"), [
    (ep([{"ports": [{"port": 80}]}]), "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"),
    (ep([{"addresses": [{"ip": "nope"}]}]), 'subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address'),
    (ep([{"addresses": [{"ip": "169.254.1.1"}]}]),
     'subsets[0].addresses[0].ip: Invalid value: "169.254.1.1": may not be in the link-local range'),
    (ep([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}, {"port": 81, "name": "b"}]}]),
     "subsets[0].ports[0].name: Required value"),
    (ep([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 70000}]}]),
     "subsets[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"),
])
def test_endpoints_errors(obj: dict[str, Any], want: str) -> None:
    assert any(str(x).startswith(want) for x in e.validate_endpoints(obj)), [str(x) for x in e.validate_endpoints(obj)]


def test_valid_endpoints() -> None:
    good = ep([{"addresses": [{"ip": "10.0.0.1", "hostname": "a"}], "notReadyAddresses": [{"ip": "10.0.0.2"}],
                "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}])
    assert e.validate_endpoints(good) == []
    assert e.validate_endpoints_update(good, good) == []
