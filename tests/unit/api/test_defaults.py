from podbay.api.defaults import default_pod, image_tag


def _pod() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "volumes": [
                {"name": "a"},
                {"name": "h", "hostPath": {"path": "/tmp"}},
                {"name": "c", "configMap": {"name": "x"}},
            ],
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:1.35",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
                    "livenessProbe": {"httpGet": {"port": 80}},
                },
                {"name": "d", "image": "busybox:latest"},
                {"name": "e", "image": "busybox@sha256:" + "a" * 64},
                {"name": "f", "image": "localhost:5000/busybox"},
            ],
        },
    }


def test_defaults_do_not_mutate_input() -> None:
    pod = _pod()
    before = repr(pod)
    default_pod(pod)
    assert repr(pod) == before


def test_pod_level_defaults() -> None:
    d = default_pod(_pod())
    spec = d["spec"]
    assert d["metadata"]["namespace"] == "default"
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["volumes"][0] == {"name": "a", "emptyDir": {}}
    assert spec["volumes"][1]["hostPath"] == {"path": "/tmp", "type": ""}
    assert spec["volumes"][2]["configMap"]["defaultMode"] == 0o644


def test_explicit_values_are_kept() -> None:
    pod = _pod()
    pod["metadata"]["namespace"] = "ns1"
    pod["spec"].update(restartPolicy="Never", terminationGracePeriodSeconds=0)
    d = default_pod(pod)
    assert d["metadata"]["namespace"] == "ns1"
    assert d["spec"]["restartPolicy"] == "Never"
    assert d["spec"]["terminationGracePeriodSeconds"] == 0


def test_container_defaults() -> None:
    spec = default_pod(_pod())["spec"]
    c, d, e, f = spec["containers"]
    init = spec["initContainers"][0]
    for ctr in (c, d, e, f, init):
        assert ctr["terminationMessagePath"] == "/dev/termination-log"
        assert ctr["terminationMessagePolicy"] == "File"
        assert "resources" in ctr
    assert [x["imagePullPolicy"] for x in (c, d, e, f, init)] == [
        "IfNotPresent",
        "Always",
        "IfNotPresent",
        "Always",
        "Always",
    ]
    assert c["ports"][0]["protocol"] == "TCP"
    # explicit request kept, missing request copied from the limit
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert d["resources"] == {}
    probe = c["livenessProbe"]
    assert (
        probe["timeoutSeconds"],
        probe["periodSeconds"],
        probe["successThreshold"],
        probe["failureThreshold"],
    ) == (1, 10, 1, 3)
    assert probe["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}


def test_image_tag() -> None:
    assert image_tag("busybox") == ("latest", "")
    assert image_tag("busybox:1.35") == ("1.35", "")
    assert image_tag("reg:5000/ns/img") == ("latest", "")
    assert image_tag("img@sha256:abc") == ("", "sha256:abc")
    assert image_tag("img:1@sha256:abc") == ("1", "sha256:abc")


def test_projected_downward_api_field_ref_api_version_is_defaulted() -> None:
    """Regression (issue 10): a valid projected downwardAPI volume was rejected (apiVersion missing)."""
    from podbay.api.validation import validate_pod

    pod = default_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}], "volumes": [{
                           "name": "info", "projected": {"sources": [{"downwardAPI": {"items": [
                               {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}}]}})
    item = pod["spec"]["volumes"][0]["projected"]["sources"][0]["downwardAPI"]["items"][0]
    assert item["fieldRef"]["apiVersion"] == "v1"
    assert validate_pod(pod) == []
