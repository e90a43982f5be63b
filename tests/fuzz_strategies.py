"""Hypothesis strategies for fuzzing the API (issue 11): manifests generated from the v1 schemas
(``podbay.api.schema``) with mutations, and raw requests with bad parameters, bodies and headers.

One generator, shared by the in-process unit fuzz (tests/unit/server/test_api_fuzz.py), the live-agent
fuzz (tests/e2e/test_e2e_fuzz.py) and the fuzz bench (bench/fuzz.py). Bodies are bytes: some mutations
(20,000-deep nesting, integers Python's json refuses to print, lone surrogates, invalid UTF-8) have
no Python value that ``json.dumps`` would write, so they are spliced in as raw JSON text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from podbay.api import schema

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)


def from_schema(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a schema node, with a chance of any JSON value instead (the mutation)."""
    resolved = schema.resolve(node)
    types = schema.types(node) - {"null"}
    if depth > 5:
        return JSON
    if "properties" in resolved:
        props = resolved["properties"]
        names = sorted(props)
        return st.lists(st.sampled_from(names), max_size=4, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({k: from_schema(props[k], depth + 1) for k in keys}))
    if "array" in types:
        item = schema.items(node) or {}
        return st.lists(from_schema(item, depth + 1), max_size=2)
    if "object" in types:
        extra = resolved.get("additionalProperties")
        return st.dictionaries(st.text(min_size=1, max_size=8),
                               from_schema(extra, depth + 1) if isinstance(extra, dict) else JSON, max_size=2)
    if "string" in types:
        return st.text(max_size=12)
    if "integer" in types:
        return st.integers(min_value=-5, max_value=100000)
    if "boolean" in types:
        return st.booleans()
    return JSON


def mutated(definition: str) -> st.SearchStrategy[Any]:
    base = from_schema({"$ref": f"#/$defs/{definition}"})
    return st.one_of(base, base.flatmap(lambda obj: _mutate(obj)), JSON)


def _mutate(obj: Any) -> st.SearchStrategy[Any]:
    if not isinstance(obj, dict) or not obj:
        return JSON
    keys = sorted(obj)
    return st.tuples(st.sampled_from(keys), JSON).map(lambda kv: {**obj, kv[0]: kv[1]})


KINDS = [("pods", "io.k8s.api.core.v1.Pod"), ("configmaps", "io.k8s.api.core.v1.ConfigMap"),
         ("secrets", "io.k8s.api.core.v1.Secret"), ("persistentvolumeclaims",
                                                    "io.k8s.api.core.v1.PersistentVolumeClaim")]
CASES = st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k[0]), mutated(k[1])))
PARAM_NAMES = ["watch", "timeoutSeconds", "resourceVersion", "limit", "continue", "labelSelector",
               "fieldSelector", "dryRun", "fieldValidation", "gracePeriodSeconds", "propagationPolicy",
               "includeObject", "resourceVersionMatch", "sendInitialEvents", "allowWatchBookmarks",
               "orphanDependents", "fieldManager", "force", "pretty", "tailLines", "limitBytes",
               "sinceSeconds", "sinceTime", "follow", "previous", "timestamps", "container", "command",
               "stdin", "stdout", "stderr", "tty", "ports"]
PARAMS = st.dictionaries(st.sampled_from(PARAM_NAMES[:15]), st.text(max_size=10), max_size=4)
HEADERS = st.fixed_dictionaries({}, optional={
    "Accept": st.sampled_from(["application/json", "*/*", "text/html", "application/yaml",
                               "application/json;as=Table;g=meta.k8s.io;v=v1", "application/vnd.kubernetes.protobuf",
                               "application/json;as=Bogus", ";;;", "application/json;q=nan"]),
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/yaml",
                                     "application/vnd.kubernetes.protobuf", "application/merge-patch+json", ""])})

# --- raw JSON text: what json.dumps cannot write -----------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A value written verbatim into the encoded body."""

    text: str


HOSTILE_RAW = [Raw("[" * 20000 + "]" * 20000), Raw('{"a":' * 5000 + "1" + "}" * 5000),
               Raw("9" * 5000), Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"),
               Raw('"\\ud800"'), Raw('"a\\udfffb"'), Raw('"\\u0000"'), Raw('{"a":1,"a":2}')]
HOSTILE_VALUES: list[Any] = [2**63, -(2**63) - 1, 2**70, -1, -(2**31), 1e308, -0.0, 0.5, "1e300000",
                             "9999999999999999999999999Ei", "-1", "nan", "", " ", "\x00", "a" * 300,
                             "x" * 70000, {}, [], None, True, "true", 3.14, {"x": -1}, [[[[[]]]]],
                             {"unknownField": 1}]
HOSTILE = st.sampled_from(HOSTILE_VALUES) | st.sampled_from(HOSTILE_RAW) | JSON
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
_RAW_MARK = re.compile(r'"\\u0000RAW(\d+)\\u0000"')


def encode(obj: Any) -> bytes:
    """JSON bytes of obj, with every Raw spliced in as written (json.dumps' ensure_ascii writes lone
    surrogates as \\udXXX escapes, which is what a hostile client sends)."""
    raws: list[str] = []

    def walk(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(obj))
    return _RAW_MARK.sub(lambda m: raws[int(m.group(1))], text).encode()


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], rest, value)}
    copy = list(obj)
    copy[head] = _replace(copy[head], rest, value)
    return copy


def _deep_mutation(obj: Any) -> st.SearchStrategy[Any]:
    """Replace a value anywhere in obj (wrong type, huge/negative number, raw hostile JSON, a lone
    surrogate), or add an unknown field to any object in it."""
    paths = _paths(obj)
    dict_paths = [p for p in paths if isinstance(_get(obj, p), dict)]
    replace = st.tuples(st.sampled_from(paths), HOSTILE | SURROGATE.map(lambda c: f"x{c}y")).map(
        lambda pv: _replace(obj, pv[0], pv[1]))
    if not dict_paths:
        return replace
    unknown = st.tuples(st.sampled_from(dict_paths), st.sampled_from(["bogusField", "x-y", "", "\ud800"]),
                        HOSTILE).map(lambda pkv: _replace(obj, pkv[0], {**_get(obj, pkv[0]), pkv[1]: pkv[2]}))
    return replace | unknown


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        obj = obj[p]
    return obj


NAME = st.from_regex(r"\Afz-[a-z0-9]{1,12}\Z")
_TEMPLATE = {"metadata": {"labels": {"app": "fz"}},
             "spec": {"terminationGracePeriodSeconds": 0, "restartPolicy": "Always",
                      "containers": [{"name": "c", "image": "fuzz.invalid/none:0", "command": ["sleep", "1"]}]}}
# Valid objects of the kinds that matter most: mutating them reaches validation, the strategies and the
# workers, where a value generated from the schema alone rarely gets. Pods run the local busybox.
SEEDS: dict[str, dict[str, Any]] = {
    "Pod": {"spec": {"terminationGracePeriodSeconds": 0, "restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
                                     "env": [{"name": "A", "value": "b"}],
                                     "resources": {"limits": {"memory": "64Mi", "cpu": "100m"}},
                                     "volumeMounts": [{"name": "e", "mountPath": "/e"},
                                                      {"name": "p", "mountPath": "/p"}]}],
                     "volumes": [{"name": "e", "emptyDir": {"sizeLimit": "1Mi"}},
                                 {"name": "p", "projected": {"sources": [
                                     {"downwardAPI": {"items": [{"path": "n", "fieldRef": {
                                         "fieldPath": "metadata.name"}}]}}]}}]}},
    "ConfigMap": {"data": {"a": "b"}, "binaryData": {"c": "ZA=="}},
    "Secret": {"type": "Opaque", "data": {"a": "Yg=="}, "stringData": {"c": "d"}},
    "Service": {"spec": {"selector": {"app": "fz"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}},
    "Deployment": {"spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fz"}}, "template": _TEMPLATE}},
    "Job": {"spec": {"completions": 1, "template": {**_TEMPLATE, "spec": {**_TEMPLATE["spec"],
                                                                          "restartPolicy": "Never"}}}},
}
MAX_REPLICAS = 3   # a valid request for more would be obeyed: the fuzz never asks for a crowd


def bounded(obj: Any) -> Any:
    """obj with spec.replicas/parallelism/completions of at most MAX_REPLICAS (when they are integers)."""
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if not isinstance(spec, dict):
        return obj
    capped = {k: MAX_REPLICAS for k in ("replicas", "parallelism", "completions")
              if isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool) and spec[k] > MAX_REPLICAS}
    return {**obj, "spec": {**spec, **capped}} if capped else obj


def manifest(api_version: str, kind: str, definition: str) -> st.SearchStrategy[Any]:
    """A manifest of kind: the usual skeleton (apiVersion, kind, a valid fresh name) around values
    generated from its schema definition, then 0-3 deep mutations; or a plainly mutated one."""
    body = from_schema({"$ref": f"#/$defs/{definition}"}).filter(lambda b: isinstance(b, dict))
    shaped = st.tuples(body, NAME).map(lambda bn: {**bn[0], "apiVersion": api_version, "kind": kind,
                                                    "metadata": {**_dict(bn[0].get("metadata")), "name": bn[1]}})

    def mutate_n(obj: Any, n: int) -> st.SearchStrategy[Any]:
        return st.just(obj) if n == 0 else _deep_mutation(obj).flatmap(lambda o: mutate_n(o, n - 1))

    options = [shaped, st.tuples(shaped, st.integers(1, 3)).flatmap(lambda on: mutate_n(*on)), mutated(definition)]
    if kind in SEEDS:
        seeded = NAME.map(lambda n: {"apiVersion": api_version, "kind": kind, "metadata": {"name": n}, **SEEDS[kind]})
        options += [seeded, st.tuples(seeded, st.integers(1, 3)).flatmap(lambda on: mutate_n(*on))] * 2
    return st.one_of(*options).map(bounded)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


# --- raw requests ----------------------------------------------------------------------------------

PARAM_VALUES = st.sampled_from(["", "true", "false", "1", "0", "-1", "nan", "inf", "1e3", "abc", "0x10",
                                "99999999999999999999", "9223372036854775807", "-9223372036854775808",
                                "All", "Server", "Strict", "Warn", "Ignore", "Foreground", "Orphan", "Bogus",
                                "NotOlderThan", "Exact", "a=b", "a in (", "metadata.name=x", "!!", "%",
                                "\ud800", "\x00", "x" * 5000, "2026-01-01T00:00:00Z", "c", "true,true"]) \
    | st.text(max_size=10)
RAW_PARAMS = st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=4)
ACCEPTS = ["application/json", "*/*", "text/html", "application/yaml", "application/json;as=Table;g=meta.k8s.io;v=v1",
           "application/json;as=Table;v=v1beta1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf",
           "application/vnd.kubernetes.protobuf;stream=watch", "application/json;as=Bogus", ";;;",
           "application/json;q=nan", "application/json;stream=watch", "application/json;as=PartialObjectMetadata;"
           "g=meta.k8s.io;v=v1", "\x7f", "a/b/c"]
CONTENT_TYPES = ["application/json", "text/plain", "application/yaml", "application/vnd.kubernetes.protobuf",
                 "application/merge-patch+json", "application/strategic-merge-patch+json",
                 "application/json-patch+json", "application/apply-patch+yaml", "multipart/form-data",
                 "application/x-www-form-urlencoded", "", ";", "application/json; charset=latin1"]
UPGRADES = [("websocket", "v5.channel.k8s.io"), ("websocket", "bogus.protocol"), ("websocket", ""),
            ("SPDY/3.1", "bogus"), ("SPDY/3.1", "v4.channel.k8s.io"), ("h2c", ""), ("bogus", "x")]
RAW_HEADERS = st.fixed_dictionaries({}, optional={
    "Accept": st.sampled_from(ACCEPTS), "Content-Type": st.sampled_from(CONTENT_TYPES),
    "Content-Encoding": st.sampled_from(["gzip", "bogus"]),
    "Upgrade": st.sampled_from(UPGRADES).map(lambda u: u[0]),
    "X-Stream-Protocol-Version": st.sampled_from(["bogus", "v4.channel.k8s.io", "portforward.k8s.io"]),
    "Sec-WebSocket-Protocol": st.sampled_from(["bogus.protocol", "v5.channel.k8s.io", "", "base64.x"]),
    "Impersonate-User": st.sampled_from(["nobody", ""])})
_PROTO_MAGIC = b"k8s\x00"
RAW_BODIES = st.one_of(
    st.none(), st.binary(max_size=40), JSON.map(lambda v: encode(v)),
    st.sampled_from([b"{", b"[", b"not json", b"\xff\xfe\xfd", b"{\"kind\":", b"null", b"\"str\"", b"3",
                     _PROTO_MAGIC, _PROTO_MAGIC + b"\x0a\x02v1\x12", _PROTO_MAGIC + b"\x0a\xff\xff\xff\xff\x0f",
                     b"---\n- a\n- b\n", b"a: b: c", b"!!python/object:os.system ls", b"[" * 20000,
                     b'{"a":' * 3000, encode(Raw("9" * 5000)), b'{"metadata":{"name":"\\ud800"}}']),
    st.sampled_from(HOSTILE_RAW).map(lambda r: r.text.encode()),
    st.integers(min_value=3 * 1024 * 1024 - 10, max_value=3 * 1024 * 1024 + 10).map(lambda n: b" " * n))
