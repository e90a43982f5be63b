"""FieldsV1 encoding, path strings and Go's renderings of values."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podbay.api.patch import fieldsv1 as fp
from podbay.api.patch.gofmt import go_float_v, go_json, go_quote, go_v


def test_fields_v1_order_and_dot() -> None:
    s = frozenset({
        fp.make_path("spec", "containers", fp.key([("name", "app")])),
        fp.make_path("spec", "containers", fp.key([("name", "app")]), "image"),
        fp.make_path("spec", "containers", fp.key([("name", "app")]), "ports",
                     fp.key([("protocol", "TCP"), ("containerPort", 80)])),
        fp.make_path("metadata", "labels"), fp.make_path("metadata", "labels", "b"),
        fp.make_path("metadata", "finalizers", fp.value("a<b")),
        fp.make_path("spec", "args", fp.index(1)), fp.make_path("spec", "args", fp.index(0)),
    })
    out = fp.to_fields_v1(s)
    assert json.dumps(out, separators=(",", ":")) == (
        '{"f:metadata":{"f:finalizers":{"v:\\"a\\\\u003cb\\"":{}},"f:labels":{"f:b":{},".":{}}},'
        '"f:spec":{"f:args":{"i:0":{},"i:1":{}},"f:containers":{"k:{\\"name\\":\\"app\\"}":{'
        '"f:image":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{}},'
        '".":{}}}}}')
    assert fp.from_fields_v1(json.loads(json.dumps(out))) == s


def test_path_strings_as_conflicts_print_them() -> None:
    p = fp.make_path("spec", "containers", fp.key([("name", "app")]), "ports",
                     fp.key([("containerPort", 80), ("protocol", "TCP")]))
    assert fp.path_string(p) == '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]'
    assert fp.path_string(fp.make_path("m", "f", fp.value("x"))) == '.m.f[="x"]'
    assert fp.path_string(fp.make_path("a", fp.index(3))) == ".a[3]"


def test_value_order_across_types() -> None:
    vals = [None, {"a": 1}, [1], True, False, "b", "a", 2, 1.5, 1]
    ordered = sorted(vals, key=functools.cmp_to_key(fp.compare_values))
    assert ordered == [1, 1.5, 2, "a", "b", False, True, [1], {"a": 1}, None]
    assert fp.Value(1) == fp.Value(1.0) and fp.Value(True) != fp.Value(1)


def test_unknown_path_element_kinds_are_dropped() -> None:
    assert fp.from_fields_v1({"f:a": {}, "z:b": {}}) == frozenset({fp.make_path("a")})


@pytest.mark.parametrize(("v", "text"), [
    ({"b": [1, "x"], "a": None}, "map[a:<nil> b:[1 x]]"), (True, "true"), (1e6, "1e+06"),
    (123456.0, "123456"), (1.5e-05, "1.5e-05"), (0.0001, "0.0001"), (2.5, "2.5"),
])
def test_go_v(v: object, text: str) -> None:
    assert go_v(v) == text


def test_go_quote_and_json() -> None:
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
    assert go_json({"b": 1.0, "a": "<&>", "c": [True, None]}) == (
        '{"a":"\\u003c\\u0026\\u003e","b":1,"c":[true,null]}')
    assert go_json(1e21) == "1e+21" and go_json(1e-7) == "1e-7" and go_json(0.5) == "0.5"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips(f: float) -> None:
    assert float(go_float_v(f)) == f
