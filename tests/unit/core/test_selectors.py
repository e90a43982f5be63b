"""Label selectors (equality and set based) and the pod field selectors the API supports."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api.selectors import field_selector, label_selector, parse_label_selector


def obj(labels: dict[str, str] | None = None, name: str = "web", ns: str = "default", phase: str = "Running",
        node: str | None = "node1") -> dict[str, Any]:
    spec = {} if node is None else {"nodeName": node}
    md: dict[str, Any] = {"name": name, "namespace": ns}
    if labels is not None:
        md["labels"] = labels
    return {"metadata": md, "spec": spec, "status": {"phase": phase}}


PROD = {"app": "web", "env": "prod", "tier": "frontend"}
DEV = {"app": "web", "env": "dev"}
NONE: dict[str, str] = {}


@pytest.mark.parametrize(("sel", "prod", "dev", "none"), [
    ("", True, True, True),
    ("env=prod", True, False, False),
    ("env==prod", True, False, False),
    ("env = prod", True, False, False),
    ("env!=prod", False, True, True),           # != also matches a missing key
    ("env in (prod, staging)", True, False, False),
    ("env notin (prod,staging)", False, True, True),
    ("tier", True, False, False),
    ("!tier", False, True, True),
    ("app=web,env!=dev", True, False, False),
    ("env in (dev,prod),tier", True, False, False),
    ("app=web,env notin (prod),!tier", False, True, False),
    ("env in (dev,prod),app in (web)", True, True, False),
    ("env in(prod)", True, False, False),
    ("app=web,", True, True, False),            # a trailing comma is tolerated
])
def test_label_selector(sel: str, prod: bool, dev: bool, none: bool) -> None:
    pred = label_selector(sel)
    assert (pred(obj(PROD)), pred(obj(DEV)), pred(obj(NONE))) == (prod, dev, none)


def test_parse_label_selector_tests_a_labels_map() -> None:
    labels = {"app": "web", "tier": "front"}
    assert parse_label_selector("app=web,tier!=back")(labels)
    assert parse_label_selector("app in (web, db),!missing")(labels)
    assert not parse_label_selector("app notin (web)")(labels)
    assert not parse_label_selector("missing")(labels)
    with pytest.raises(ValueError, match="unable to parse requirement: 'a=b=c'"):
        parse_label_selector("a=b=c")


def test_label_selector_without_labels_field() -> None:
    assert label_selector("!app")(obj(None))
    assert not label_selector("app")(obj(None))


@pytest.mark.parametrize("bad", ["a b c", "env in prod", "x notin (a", "a=b=c", "!env in (prod)", "a,,b"])
def test_label_selector_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        label_selector(bad)


@pytest.mark.parametrize(("sel", "want"), [
    ("", True),
    ("metadata.name=web", True),
    ("metadata.name==web", True),
    ("metadata.name=other", False),
    ("metadata.name!=other", True),
    ("metadata.namespace=default", True),
    ("metadata.namespace!=default", False),
    ("status.phase=Running", True),
    ("status.phase!=Running", False),
    ("spec.nodeName=node1", True),
    ("metadata.name=web,status.phase=Pending", False),
    ("metadata.name=web,status.phase!=Pending", True),
])
def test_field_selector(sel: str, want: bool) -> None:
    assert field_selector(sel)(obj(PROD)) is want


def test_field_selector_unscheduled_pod_has_empty_node_name() -> None:
    assert field_selector("spec.nodeName=")(obj(node=None))
    assert not field_selector("spec.nodeName!=")(obj(node=None))


@pytest.mark.parametrize("bad", ["metadata.uid=x", "spec.bogus!=Never", "metadata.name"])
def test_field_selector_rejects_unknown_fields_and_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        field_selector(bad)
