from __future__ import annotations

from typing import Any

import pytest

from podbay.core.command import (
    DEFAULT_PATH,
    container_env,
    expand,
    expand_subpath_expr,
    mapping_for,
    pod_hostname,
    resolve_argv,
    resolve_cwd,
    resolve_env,
)
from podbay.errors import NotSupported, PermanentError

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["cmd-arg"]}


@pytest.mark.parametrize(
    ("container", "image", "expected"),
    [
        ({"command": ["/bin/sh"], "args": ["-c", "x"]}, IMAGE, ["/bin/sh", "-c", "x"]),
        ({"command": ["/bin/true"]}, IMAGE, ["/bin/true"]),              # Cmd and Entrypoint ignored
        ({"args": ["a", "b"]}, IMAGE, ["/entry", "a", "b"]),            # Entrypoint + args
        ({}, IMAGE, ["/entry", "cmd-arg"]),                              # Entrypoint + Cmd
        ({}, {"Cmd": ["sh"]}, ["sh"]),
        ({"args": ["x"]}, {"Cmd": ["sh"]}, ["x"]),                       # no Entrypoint: args alone
        ({}, {"Entrypoint": [""], "Cmd": ["sh"]}, ["sh"]),               # cleared entrypoint
        ({"command": [], "args": []}, IMAGE, ["/entry", "cmd-arg"]),     # empty lists count as unset
    ],
)
def test_argv_matrix(container: dict[str, Any], image: dict[str, Any], expected: list[str]) -> None:
    assert resolve_argv(container, image, {}) == expected


def test_argv_empty_is_permanent_error() -> None:
    with pytest.raises(PermanentError, match="no command specified"):
        resolve_argv({}, {}, {})


def test_argv_expansion_uses_container_env_only() -> None:
    c = {"command": ["echo", "$(A)", "$$(A)", "$(MISSING)", "$$", "a$b", "$(A"], "args": ["$(A)-$(B)"]}
    assert resolve_argv(c, {}, {"A": "1", "B": "2"}) == [
        "echo", "1", "$(A)", "$(MISSING)", "$", "a$b", "$(A", "1-2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(VAR)", "value"),
        ("$$(VAR)", "$(VAR)"),
        ("$$$(VAR)", "$value"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("x$", "x$"),
        ("$(", "$("),
        ("$()", "$()"),
        ("pre-$(VAR)-post", "pre-value-post"),
        ("$(VAR)$(VAR)", "valuevalue"),
        ("ünï$(VAR)ü", "ünïvalueü"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, mapping_for({"VAR": "value"})) == expected


def test_cwd() -> None:
    assert resolve_cwd({}, {}) == "/"
    assert resolve_cwd({}, {"WorkingDir": "/app"}) == "/app"
    assert resolve_cwd({"workingDir": "/w"}, {"WorkingDir": "/app"}) == "/w"


POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns1", "uid": "u-1",
                 "labels": {"app": "x"}, "annotations": {"mysubpath": "mypath"}},
    "spec": {"nodeName": "node1", "serviceAccountName": "sa", "containers": []},
}


def _env(*vars: dict[str, Any], resources: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "c", "env": list(vars), "resources": resources or {}}


def _ref(path: str) -> dict[str, Any]:
    return {"valueFrom": {"fieldRef": {"fieldPath": path}}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("metadata.name", "web"),
        ("metadata.namespace", "ns1"),
        ("metadata.uid", "u-1"),
        ("metadata.labels['app']", "x"),
        ("metadata.labels['nope']", ""),
        ("metadata.annotations['mysubpath']", "mypath"),
        ("spec.nodeName", "node1"),
        ("spec.serviceAccountName", "sa"),
        ("status.podIP", "10.88.0.5"),
        ("status.podIPs", "10.88.0.5"),
        ("status.hostIP", "192.168.1.2"),
    ],
)
def test_field_refs(path: str, expected: str) -> None:
    env = container_env(POD, _env({"name": "V", **_ref(path)}), "10.88.0.5", "node1", "192.168.1.2")
    assert env == [("V", expected)]


@pytest.mark.parametrize(
    ("resource", "divisor", "expected"),
    [
        ("limits.cpu", None, "1"),          # 500m -> ceil(0.5) = 1
        ("limits.cpu", "1m", "500"),
        ("requests.cpu", "1m", "250"),
        ("limits.memory", None, "67108864"),
        ("limits.memory", "1Mi", "64"),
        ("requests.memory", "1Mi", "32"),
    ],
)
def test_resource_field_refs(resource: str, divisor: str | None, expected: str) -> None:
    ref: dict[str, Any] = {"resource": resource}
    if divisor:
        ref["divisor"] = divisor
    res = {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "32Mi"}}
    env = container_env(POD, _env({"name": "R", "valueFrom": {"resourceFieldRef": ref}}, resources=res), "", "")
    assert env == [("R", expected)]


def test_resource_limit_without_limit_uses_allocatable_or_refuses() -> None:
    c = _env({"name": "R", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}})
    assert container_env(POD, c, "", "", allocatable={"memory": "2Gi"}) == [("R", "2048")]
    with pytest.raises(NotSupported):
        container_env(POD, c, "", "")


def test_env_expansion_order_and_override() -> None:
    c = _env(
        {"name": "A", "value": "a"},
        {"name": "B", "value": "$(A)-b-$(C)"},      # C not defined yet: stays literal
        {"name": "C", "value": "c"},
        {"name": "A", "value": "A2"},               # later wins, keeps position
        {"name": "D", "value": "$$(A)"},
        {"name": "E"},
    )
    assert container_env(POD, c, "", "") == [("A", "A2"), ("B", "a-b-$(C)"), ("C", "c"), ("D", "$(A)"), ("E", "")]


def test_resolve_env_merges_image_env_hostname_and_path() -> None:
    c = _env({"name": "FOO", "value": "x"}, {"name": "IMG", "value": "over"})
    env = resolve_env(POD, c, ["IMG=1", "OTHER=2"], "10.0.0.1", "n")
    assert env == [f"PATH={DEFAULT_PATH}", "IMG=over", "OTHER=2", "HOSTNAME=web", "FOO=x"]


def test_resolve_env_keeps_image_path_and_no_expansion_from_image() -> None:
    c = _env({"name": "X", "value": "$(IMG)"})
    env = resolve_env(POD, c, ["PATH=/bin", "IMG=1"], "", "", hostname="h")
    assert env == ["PATH=/bin", "IMG=1", "HOSTNAME=h", "X=$(IMG)"]


def test_container_path_counts() -> None:
    env = resolve_env(POD, _env({"name": "PATH", "value": "/x"}), [], "", "")
    assert env == ["HOSTNAME=web", "PATH=/x"]


def test_config_map_and_secret_refs() -> None:
    c = _env({"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}})
    with pytest.raises(NotSupported, match="not supported by podbay yet"):
        container_env(POD, c, "", "")
    seen: list[tuple[str, str, str]] = []

    def lookup(kind: str, name: str, key: str) -> str | None:
        seen.append((kind, name, key))
        return "v" if key == "k" else None

    assert container_env(POD, c, "", "", lookup=lookup) == [("K", "v")]
    missing = _env({"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope"}}})
    with pytest.raises(PermanentError, match="couldn't find key nope in Secret ns1/s"):
        container_env(POD, missing, "", "", lookup=lookup)
    optional = _env({"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope", "optional": True}}})
    assert container_env(POD, optional, "", "", lookup=lookup) == []
    assert seen[0] == ("configmap", "cm", "k")


OBJECTS = {("configmap", "special-config"): {"b": "2", "a": "1", "bad=key": "x"},
           ("secret", "creds"): {"user": "me"}}


def objects(kind: str, name: str) -> dict[str, str] | None:
    return OBJECTS.get((kind, name))


def test_env_from_with_prefix_in_key_order_then_env_wins() -> None:
    c = {"name": "c", "envFrom": [{"configMapRef": {"name": "special-config"}, "prefix": "CM_"},
                                  {"secretRef": {"name": "creds"}}],
         "env": [{"name": "CM_a", "value": "over"}]}
    warned: list[tuple[str, str]] = []
    env = container_env(POD, c, "", "", objects=objects, warn=lambda r, m: warned.append((r, m)))
    assert env == [("CM_a", "over"), ("CM_b", "2"), ("user", "me")]
    assert warned == [("InvalidEnvironmentVariableNames", "Keys [CM_bad=key] from the EnvFrom configMap "
                       "ns1/special-config were skipped since they are considered invalid environment variable names.")]


def test_env_from_missing_object_fails_unless_optional() -> None:
    """Regression (issue 10): a missing ConfigMap read as "couldn't find key ... in ConfigMap"."""
    c = {"name": "c", "envFrom": [{"configMapRef": {"name": "nope"}}]}
    with pytest.raises(PermanentError, match='^configmap "nope" not found$'):
        container_env(POD, c, "", "", objects=objects)
    c = {"name": "c", "envFrom": [{"secretRef": {"name": "nope", "optional": True}}]}
    assert container_env(POD, c, "", "", objects=objects) == []
    ref = _env({"name": "K", "valueFrom": {"configMapKeyRef": {"name": "special-config-x", "key": "k"}}})
    with pytest.raises(PermanentError, match='^configmap "special-config-x" not found$'):
        container_env(POD, ref, "", "", lookup=lambda *_: None, objects=objects)


def test_unknown_field_ref_not_supported() -> None:
    with pytest.raises(NotSupported):
        container_env(POD, _env({"name": "V", **_ref("spec.bogus")}), "", "")


def test_hostname() -> None:
    assert pod_hostname(POD) == "web"
    assert pod_hostname({"metadata": {"name": "p"}, "spec": {"hostname": "h"}}) == "h"
    long = "a" * 62 + "-b"
    assert pod_hostname({"metadata": {"name": long}}) == "a" * 62


@pytest.mark.parametrize(
    ("expr", "env", "expected"),
    [
        ("$(POD_NAME)", {"POD_NAME": "p"}, "p"),
        ("$(ANNOTATION)/$(POD_NAME)", {"ANNOTATION": "mypath", "POD_NAME": "foo"}, "mypath/foo"),
        ("$$(X)/y", {}, "$(X)/y"),
        ("plain", {}, "plain"),
    ],
)
def test_subpath_expr(expr: str, env: dict[str, str], expected: str) -> None:
    assert expand_subpath_expr(expr, env) == expected


def test_subpath_expr_missing_and_empty_sorted() -> None:
    with pytest.raises(ValueError, match=r"^missing value for ANNOTATION, B$"):
        expand_subpath_expr("$(B)/$(ANNOTATION)/$(OK)", {"ANNOTATION": "", "OK": "1"})
