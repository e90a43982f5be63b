import pytest

from podbay.api.manifest import ManifestError, load_documents
from podbay.errors import PodbayError

POD = """apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers: [{name: c, image: busybox:1.35}]
"""


def test_multi_document_yaml_skips_empty_docs() -> None:
    text = (
        "---\n"
        + POD
        + "---\n---\n# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
    )
    docs = load_documents(text)
    assert [d["kind"] for d in docs] == ["Pod", "ConfigMap"]
    assert docs[0]["spec"]["containers"][0]["image"] == "busybox:1.35"


def test_json_document() -> None:
    docs = load_documents('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}')
    assert docs == [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}]


def test_list_is_expanded() -> None:
    text = """apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: x}}
- {apiVersion: v1, kind: Secret, metadata: {name: y}}
"""
    assert [d["metadata"]["name"] for d in load_documents(text)] == ["x", "y"]


def test_empty_text_gives_no_documents() -> None:
    assert load_documents("") == []
    assert load_documents("---\n...\n") == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("kind: Pod\nmetadata: {name: a}\n", "error validating data: [apiVersion not set]"),
        ("apiVersion: v1\n", "error validating data: [kind not set]"),
        ("metadata: {}\n", "[apiVersion not set, kind not set]"),
        ("- a\n- b\n", "error validating data"),
        ("just a string\n", "not an object"),
        ("apiVersion: v1\nkind: Pod\n  bad: indent\n", "error parsing manifest"),
    ],
)
def test_bad_documents(text: str, fragment: str) -> None:
    with pytest.raises(ManifestError) as ei:
        load_documents(text)
    assert fragment in str(ei.value)
    assert isinstance(ei.value, PodbayError)
