"""JSON is read with a JSON parser that keeps positions: the same objects and the same lines as
reading the text as YAML would give, with JSON's own semantics where the two differ."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import manifest_objects, object_paths
from premortem.load.document import JsonRef, LoadResult, NodeSource
from premortem.load.jsonpos import line_of_path, parse_json
from premortem.load.reader import _parse_stream, load_paths, load_text

DUMP = """\
{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "shop"
            },
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx"
                            }
                        ]
                    }
                }
            }
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
"""


def _as_yaml(text: str) -> LoadResult:
    """The same text read by the YAML loader (the reference for objects and lines)."""
    result = LoadResult()
    _parse_stream(text, "dump.json", 0, 0, result, NodeSource("dump.json", text))
    return result


def test_list_items_have_the_lines_of_their_fields():
    docs = load_text(DUMP, "dump.json").documents
    assert [(d.kind, d.line) for d in docs] == [("Deployment", 4), ("Service", 24)]
    assert all(isinstance(d.node, JsonRef) for d in docs)
    assert docs[0].line_of(("metadata", "namespace")) == 9
    assert docs[0].line_of(("spec", "template", "spec", "containers", 0, "image")) == 17
    assert docs[0].line_of(("spec", "template", "spec", "containers", 0, "missing")) == 15
    assert docs[0].line_of(("spec", "template", "spec", "containers", 3)) == 14
    assert docs[1].line_of(("metadata", "name")) == 24


def test_json_and_yaml_agree_on_objects_and_every_line():
    json_docs = load_text(DUMP, "dump.json").documents
    yaml_docs = _as_yaml(DUMP).documents
    assert [(d.obj, d.line, d.item_index) for d in json_docs] == [
        (d.obj, d.line, d.item_index) for d in yaml_docs
    ]
    for got, want in zip(json_docs, yaml_docs, strict=True):
        assert [got.line_of(p) for p in object_paths(got.obj)] == [
            want.line_of(p) for p in object_paths(got.obj)
        ]


def test_top_level_array_and_single_object():
    text = (
        '[\n  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},\n  {"kind": "Secret"}\n]'
    )
    assert [(d.kind, d.line, d.item_index) for d in load_text(text, "a.json").documents] == [
        ("ConfigMap", 2, 0),
        ("Secret", 3, 1),
    ]
    single = load_text('\n\n{"apiVersion": "v1",\n "kind": "ConfigMap",\n "data": {"k": "v"}}', "b.json")
    assert [(d.kind, d.line, d.line_of(("data", "k"))) for d in single.documents] == [("ConfigMap", 3, 5)]


def test_json_semantics_where_yaml_differs():
    # YAML 1.1 reads 1e3 as a string; Kubernetes (a JSON decoder) reads a number.
    doc = load_text('{"kind": "X", "spec": {"n": 1e3, "s": "\\u00e9"}}', "x.json").documents[0]
    assert doc.obj["spec"] == {"n": 1000.0, "s": "\u00e9"}


def test_duplicate_keys_last_wins_and_its_line():
    doc = load_text('{"kind": "ConfigMap",\n "data": {"k": "a",\n  "k": "b"}}', "d.json").documents[0]
    assert doc.obj["data"] == {"k": "b"}
    assert doc.line_of(("data", "k")) == 3


def test_stdin_json_is_sniffed_and_yaml_flow_falls_back():
    assert [d.kind for d in load_text(DUMP, "<stdin>").documents] == ["Deployment", "Service"]
    flow = load_text("{apiVersion: v1, kind: ConfigMap, metadata: {name: f}}\n", "flow.yaml")
    assert [d.ref.name for d in flow.documents] == ["f"] and not flow.problems
    # A YAML file named .json is still read (as YAML).
    named = load_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n", "y.json")
    assert [d.ref.name for d in named.documents] == ["y"]


@pytest.mark.parametrize(
    ("text", "line", "detail"),
    [
        ('{\n  "kind": "ConfigMap",\n  "data": {"a": 1 "b": 2}\n}\n', 3, "Expecting ',' delimiter"),
        ('{\n  "kind": "ConfigMap"\n}\n{"kind": "Secret"}\n', 4, "Extra data"),
        ('{"items": [\n  {"kind": "Pod"},\n', 3, "Expecting value"),
    ],
)
def test_broken_json_is_an_input_finding_with_its_line(text, line, detail):
    result = load_text(text, "broken.json")
    assert not result.documents
    assert [(p.rule, p.line) for p in result.problems] == [("INP001", line)]
    assert detail in result.problems[0].message


def test_json_documents_pickle_and_find_lines_from_the_file(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text(DUMP, encoding="utf-8")
    docs = load_paths([str(path)]).documents
    copies = pickle.loads(pickle.dumps(docs))
    assert [d.line_of(("metadata", "name")) for d in copies] == [8, 24]


def test_changed_file_gives_the_deepest_line_found_never_an_error():
    assert line_of_path('{"a": {"b": [1, 2', 0, 1, ("a", "b", 5)) == 1
    assert line_of_path('{"a":\n {"b": [1, 2]}}', 0, 1, ("a", "b", 5)) == 2
    assert line_of_path('{"a":\n {"b": [1, 2]}}', 0, 1, ("a", "b", "c")) == 2
    assert line_of_path("garbage", 0, 7, ("a",)) == 7
    assert line_of_path("", 0, 3, ("a", 0)) == 3


def test_parse_json_matches_json_loads():
    text = json.dumps({"items": [{"a": [1, {"b": None}]}, 2], "kind": "List", "x": "y"}, indent=2)
    document = parse_json(text)
    assert document.value == json.loads(text)
    assert document.in_items and document.elements is not None
    assert [text[i] for i in document.elements] == ["{", "2"]


def test_the_items_of_a_list_share_one_string_per_key():
    """A dump of 100,000 objects holds "metadata", "name"... once, not once per object (the
    scanner shares keys within one call: the items are read in one)."""
    text = json.dumps({"kind": "List", "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]})
    first, second = parse_json(text).value["items"]
    assert next(iter(first)) is next(iter(second))
    assert next(iter(first["metadata"])) is next(iter(second["metadata"]))


keys = st.text("abcxyz-._/", min_size=1, max_size=6)
scalars = st.one_of(st.integers(-(10**6), 10**6), st.text("ab c:#\"'\\\n\u00e9{}", max_size=8), st.booleans())
objects = manifest_objects(keys, scalars)


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(objects, max_size=4),
    indent=st.sampled_from([None, 0, 1, 2, 4]),
    as_list=st.booleans(),
)
def test_json_lines_match_yaml_lines_law(items, indent, as_list):
    value: Any = {"apiVersion": "v1", "kind": "List", "items": items} if as_list else items
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    json_docs = load_text(text, "law.json").documents
    yaml_docs = _as_yaml(text).documents
    assert [(d.obj, d.line) for d in json_docs] == [(d.obj, d.line) for d in yaml_docs]
    for got, want in zip(json_docs, yaml_docs, strict=True):
        assert [got.line_of(p) for p in object_paths(got.obj)] == [
            want.line_of(p) for p in object_paths(got.obj)
        ]
