"""Content negotiation (Accept / Content-Type) and the API's URL layout."""

from __future__ import annotations

import pytest

from podbay.api.negotiate import body_format, negotiate, parse_accept
from podbay.api.paths import Route, parse
from podbay.errors import NotAcceptable, UnsupportedMediaType

KUBECTL_GET = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
               "application/json")
KUBECTL_DISCOVERY = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def test_kubectl_get_asks_for_a_table() -> None:
    r = negotiate(KUBECTL_GET, target="list")
    assert (r.form, r.version) == ("table", "v1")
    assert r.content_type == "application/json;as=Table;g=meta.k8s.io;v=v1"
    assert negotiate(KUBECTL_GET, target="watch").form == "table"
    assert negotiate(KUBECTL_GET, target="discovery").form == "json"   # Table is not a discovery answer


def test_aggregated_discovery_v2_then_v2beta1() -> None:
    r = negotiate(KUBECTL_DISCOVERY, target="discovery")
    assert (r.form, r.version) == ("discovery", "v2")
    assert r.content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    old = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    assert negotiate(old, target="discovery").version == "v2beta1"


def test_partial_object_metadata() -> None:
    lst = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    assert negotiate(lst, target="list").form == "partial_list"
    assert negotiate(lst, target="object").form == "json"   # the List form does not fit one object
    one = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
    assert negotiate(one, target="object").form == "partial"


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/*", "application/json, */*",
                                    "application/vnd.kubernetes.protobuf, */*"])
def test_json_is_the_default(accept: str | None) -> None:
    assert negotiate(accept, target="object").form == "json"


def test_yaml_and_q_values() -> None:
    assert negotiate("application/yaml", target="object").form == "yaml"
    assert negotiate("application/yaml;q=0.5, application/json", target="object").form == "json"
    assert [m.type for m in parse_accept("a/b;q=0.1, c/d, e/f;q=0")] == ["c/d", "a/b"]


@pytest.mark.parametrize("accept", ["application/vnd.kubernetes.protobuf", "text/html",
                                    "application/json;as=Bogus;g=meta.k8s.io;v=v1",
                                    "application/json;as=Table;g=meta.k8s.io;v=v9"])
def test_nothing_servable_is_406(accept: str) -> None:
    with pytest.raises(NotAcceptable, match="only the following media types are accepted"):
        negotiate(accept, target="object")


def test_yaml_is_not_a_watch_stream() -> None:
    with pytest.raises(NotAcceptable):
        negotiate("application/yaml", target="watch")


def test_body_formats() -> None:
    assert body_format("application/json; charset=utf-8") == "application/json"
    assert body_format("application/vnd.kubernetes.protobuf") == "application/vnd.kubernetes.protobuf"
    assert body_format(None) == "application/json"
    with pytest.raises(UnsupportedMediaType, match="the body of the request was in an unknown format"):
        body_format("text/plain")
    assert body_format("application/merge-patch+json", patch=True) == "application/merge-patch+json"
    with pytest.raises(UnsupportedMediaType):
        body_format("application/json", patch=True)


@pytest.mark.parametrize(("path", "route"), [
    ("/api", Route("api")),
    ("/apis/", Route("apis")),
    ("/api/v1/", Route("groupversion", "", "v1")),
    ("/apis/coordination.k8s.io", Route("group", "coordination.k8s.io")),
    ("/apis/coordination.k8s.io/v1", Route("groupversion", "coordination.k8s.io", "v1")),
    ("/api/v1/pods", Route("resource", "", "v1", None, "pods")),
    ("/api/v1/namespaces", Route("resource", "", "v1", None, "namespaces")),
    ("/api/v1/namespaces/default", Route("resource", "", "v1", None, "namespaces", "default")),
    ("/api/v1/namespaces/team/finalize", Route("resource", "", "v1", None, "namespaces", "team", "finalize")),
    ("/api/v1/namespaces/team/status", Route("resource", "", "v1", None, "namespaces", "team", "status")),
    ("/api/v1/namespaces/default/pods", Route("resource", "", "v1", "default", "pods")),
    ("/api/v1/namespaces/default/pods/web/log", Route("resource", "", "v1", "default", "pods", "web", "log")),
    ("/api/v1/nodes/n1/status", Route("resource", "", "v1", None, "nodes", "n1", "status")),
    ("/api/v1/watch/namespaces/default/pods", Route("resource", "", "v1", "default", "pods", watch=True)),
    ("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1",
     Route("resource", "coordination.k8s.io", "v1", "kube-node-lease", "leases", "n1")),
    ("/api/v1/namespaces/a%2Fb/pods", Route("resource", "", "v1", "a/b", "pods")),
])
def test_paths(path: str, route: Route) -> None:
    assert parse(path) == route


@pytest.mark.parametrize("path", ["/", "/version", "/api/v1/namespaces/default/pods/a/b/c",
                                  "/api/v1/watch", "/api/v1/pods//x"])
def test_not_api_paths(path: str) -> None:
    assert parse(path) is None
