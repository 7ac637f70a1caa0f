"""A big ``kind: List`` read a batch of items at a time gives what reading it whole gives: the same
objects, lines, problems, and line numbers for every path; text that only looks like a List, or
that cutting could change, is read whole."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import manifest_objects, object_paths
from premortem.load import split
from premortem.load.document import Document, LoadResult, NodeRef, NodeSource
from premortem.load.reader import load_text


def _load(text: str, batched: bool, monkeypatch: pytest.MonkeyPatch) -> LoadResult:
    with monkeypatch.context() as patch:
        patch.setattr(split, "SPLIT_MIN_CHARS", 0 if batched else 1 << 62)
        patch.setattr(split, "ITEMS_PER_BATCH", 2)
        return load_text(text, "dump.yaml")


def _same(text: str, monkeypatch: pytest.MonkeyPatch) -> LoadResult:
    batched, whole = _load(text, True, monkeypatch), _load(text, False, monkeypatch)
    assert [(d.obj, d.line, d.doc_index, d.item_index) for d in batched.documents] == [
        (d.obj, d.line, d.doc_index, d.item_index) for d in whole.documents
    ]
    assert [(p.file, p.line, p.rule, p.message) for p in batched.problems] == [
        (p.file, p.line, p.rule, p.message) for p in whole.problems
    ]
    assert batched.skipped == whole.skipped
    for got, want in zip(batched.documents, whole.documents, strict=True):
        paths = object_paths(got.obj)
        assert [got.line_of(p) for p in paths] == [want.line_of(p) for p in paths]
        # and the lines recorded while reading are those of composing the text again
        assert isinstance(got.node, NodeRef)
        ref = NodeRef(NodeSource("dump.yaml", text), got.node.index, got.node.item, got.node.in_items)
        composed = Document(got.obj, got.file, got.line, ref)
        assert [got.line_of(p) for p in paths] == [composed.line_of(p) for p in paths]
    return batched


KUBECTL = """\
apiVersion: v1
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    annotations:
      note: "a quoted value
        over two lines"
  spec:
    replicas: 2
# a comment at the column of the entries
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg}
  data:
    script: |
      - not an entry
      items: not a key
-
  apiVersion: v1
  kind: Service
  metadata:
    name: svc
- not an object
- apiVersion: v1
  kind: Secret
  metadata:
    name: s
    name: dup
kind: List
metadata:
  resourceVersion: ""
"""


def test_kubectl_dump_is_cut_at_its_entries_and_reads_the_same(monkeypatch):
    layout = split.list_layout(KUBECTL, per_batch=2)
    assert layout is not None
    assert [(b.line, b.first, b.count) for b in layout.batches] == [(2, 0, 2), (19, 2, 2), (25, 4, 1)]
    result = _same(KUBECTL, monkeypatch)
    assert [d.ref.name for d in result.documents] == ["web", "cfg", "svc", "dup"]
    assert [(p.rule, p.line) for p in result.problems] == [("INP004", 30), ("INP002", 25)]
    assert all(isinstance(d.node, NodeRef) and d.node.item_span for d in result.documents)


def test_crlf_and_indented_entries(monkeypatch):
    text = "kind: List\nitems:\n  - kind: ConfigMap\n    metadata:\n      name: a\n  - kind: Pod\n    metadata: {name: b}\nmetadata: {}\n"
    assert split.list_layout(text) is not None
    _same(text, monkeypatch)
    _same(text.replace("\n", "\r\n"), monkeypatch)


@pytest.mark.parametrize(
    "text",
    [
        # a quoted scalar that continues on a line at the entries' column: the cut leaves it open
        'kind: List\nitems:\n- kind: ConfigMap\n  data: {a: "x\n- y"}\n- kind: Pod\n',
        # an alias across entries
        "kind: List\nitems:\n- &a {kind: ConfigMap}\n- *a\n",
        # two documents, directives
        "kind: List\nitems:\n- {kind: Pod}\n---\nkind: List\nitems:\n- {kind: Pod}\n",
        "%YAML 1.1\n---\nkind: List\nitems:\n- {kind: Pod}\n",
        # not a List, or an items key that is not a sequence
        "kind: ConfigMap\nitems:\n- a\n- b\n",
        "kind: List\nitems:\n  a: b\n",
        "kind: List\nitems: []\n",
        # items written twice, a header key written twice, a syntax error in an entry
        "kind: List\nitems:\n- {kind: Pod}\nitems:\n- {kind: Secret}\n",
        "kind: List\nkind: List\nitems:\n- {kind: Pod}\n",
        "kind: List\nitems:\n- kind: Pod\n  metadata: [\n- kind: Secret\n",
    ],
)
def test_text_that_cannot_be_cut_reads_as_a_whole(text, monkeypatch):
    _same(text, monkeypatch)


def test_the_cut_is_refused_where_it_could_change_the_meaning():
    assert split.list_layout("kind: List\nitems:\n- &a {kind: ConfigMap}\n- *a\n") is None
    assert split.list_layout("%YAML 1.1\n---\nkind: List\nitems:\n- {kind: Pod}\n") is None
    assert split.list_layout("---\nkind: List\nitems:\n- {kind: Pod}\n") is not None
    assert split.list_layout("kind: List\nitems: # the objects\n\n  # first\n- {kind: Pod}\n") is not None
    assert split.list_layout("url: http://x/?a=1&b=2\nkind: List\nitems:\n- {kind: Pod}\n") is not None


keys = st.sampled_from(["name", "app", "x-y", "items", "kind"])
scalars = st.one_of(
    st.integers(-5, 10**6),
    st.text("ab -#:'\"\n|>", max_size=12),
    st.booleans(),
    st.none(),
    st.sampled_from(["yes", "0755", "- a", "items:", "---x"]),
)
objects = manifest_objects(keys, scalars)


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(st.one_of(objects, scalars), min_size=1, max_size=6),
    indent=st.integers(2, 4),
    flow=st.sampled_from([False, None]),
    width=st.sampled_from([20, 80]),
)
def test_batched_equals_whole_law(items, indent, flow, width):
    document = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
    text = yaml.safe_dump(document, indent=indent, default_flow_style=flow, width=width, sort_keys=False)
    if flow is False:  # block style everywhere: the cut must be found
        assert split.list_layout(text) is not None
    with pytest.MonkeyPatch.context() as patch:
        _same(text, patch)
